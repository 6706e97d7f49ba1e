// Fuzz target for the TS 103 120 import: any bytes through ParseHi1Message (size limit, DOCTYPE
// refusal, libxml2 parse, XSD validation, mapping). It must never crash, leak or hang; the result
// is checked only for the invariants the store relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "warrant/ts103120.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  tapvault::warrant::ImportOptions options{.team = "fuzz", .max_bytes = 64 * 1024};
  auto specs = tapvault::warrant::ParseHi1Message(xml, options);
  if (specs.ok()) {
    for (const auto& s : *specs) {
      if (s.id.empty() || s.valid_from_us >= s.valid_to_us || s.team != "fuzz") std::abort();
    }
  }
  return 0;
}
