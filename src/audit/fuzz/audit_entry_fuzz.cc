// Fuzzes the audit entry decoder (DecodeEntry), the parser of the bytes an outside verifier
// reads from entries.log and the entry bundles. The encoding is canonical: whatever decodes must
// re-encode to exactly the input. No I/O; inputs are capped at one entry's maximum size.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "audit/audit_log.h"
#include "base/byte_reader.h"

using namespace tapvault;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > audit::kMaxEntryBytes) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto entry = audit::DecodeEntry(base::AsBytes(input));
  if (!entry.ok()) return 0;
  auto again = audit::EncodeEntry(*entry);
  if (!again.ok() || *again != input) std::abort();
  return 0;
}
