// libFuzzer target: SIP party extraction (libosip2 + our line scanner) on arbitrary bytes.
// Checks the contract: no crash, bounded output, no empty identity.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sip/party_extractor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  std::string_view message(reinterpret_cast<const char*>(data), size);
  std::vector<tapvault::proto::Party> parties;
  std::vector<std::pair<std::string_view, std::string>> facts;
  (void)tapvault::sip::ExtractParties(message, parties, facts);
  if (parties.size() > tapvault::sip::kMaxParties) std::abort();
  for (const auto& p : parties) {
    if (p.id.empty()) std::abort();
  }
  std::vector<tapvault::proto::Party> line_parties;
  (void)tapvault::sip::ExtractPartiesFromHeaderLine(message.substr(0, 4096), line_parties);
  return 0;
}
