// Arbitrary bytes as a party identity: Readings (with and without the fast path, which must
// agree), ListNumber and the canonical URI / address functions never crash and stay bounded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "identity/identity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tapvault::identity::Normalizer* norm = new tapvault::identity::Normalizer("NL");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using tapvault::identity::Nature;
  // The first byte picks nature and country; the whole input is also read as is.
  Nature nature = size > 0 ? static_cast<Nature>(data[0] % 7) : Nature::kNotGiven;
  const char* countries[] = {"", "NL", "de", "US", "IT", "GB"};
  std::string_view country = countries[size > 1 ? data[1] % 6 : 0];
  for (Nature n : {Nature::kNotGiven, nature}) {
    tapvault::identity::Context ctx{.country = country, .nature = n};
    auto fast = norm->Readings(text, ctx);
    auto slow = norm->ReadingsWithoutFastPath(text, ctx);
    if (fast != slow) std::abort();  // the fast path must answer as libphonenumber does
    for (const auto& r : fast) {
      if (r.value.empty() || r.value.size() > 4096) std::abort();
    }
  }
  (void)norm->ListNumber(text, country);
  (void)tapvault::identity::CanonicalSipUri(text);
  (void)tapvault::identity::CanonicalEmail(text);
  return 0;
}
