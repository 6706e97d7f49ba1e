// Fuzzes ParseListCsv (the delivered privileged-party list: RFC 4180 CSV, identities in every
// notation, dates) and checks what holds for every input:
// - a rejected file names at least one line, lines ascend and lie within the file, and the status
//   message names each of them;
// - an accepted file yields sorted, unique entries in normal form (the Matcher accepts every one)
//   and the Matcher built from them matches each entry's own value (differential check against
//   the entry list itself).
// No I/O, no threads (threads = 1); input capped at 64 KiB.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "base/strings.h"
#include "identity/identity.h"
#include "privileged/list_csv.h"
#include "privileged/matcher.h"

using namespace tapvault;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  static const identity::Normalizer* norm = new identity::Normalizer("NL");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<privileged::LineError> errors;
  size_t duplicates = 0;
  auto r = privileged::ParseListCsv(text, {.default_source = "F", .region = "NL", .threads = 1},
                                    *norm, &errors, &duplicates);
  const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  if (!r.ok()) {
    Check(r.status().code() == absl::StatusCode::kInvalidArgument);
    Check(!errors.empty());
    std::string_view msg = base::View(r.status().message());
    size_t prev = 0;
    for (const privileged::LineError& e : errors) {
      Check(e.line >= 1 && e.line <= lines && e.line >= prev && !e.reason.empty());
      Check(msg.find(base::StrCat("line ", e.line, ": ")) != std::string_view::npos);
      prev = e.line;
    }
    return 0;
  }
  Check(errors.empty());
  const std::vector<privileged::Entry>& entries = *r;
  Check(std::is_sorted(entries.begin(), entries.end()));
  Check(std::adjacent_find(entries.begin(), entries.end()) == entries.end());
  privileged::Matcher::Builder b;
  for (const privileged::Entry& e : entries) {
    Check(b.Add(e.type, e.value, e.value_to, e.valid_from_us, e.valid_to_us));
  }
  auto m = std::move(b).Finish();
  for (const privileged::Entry& e : entries) {
    int64_t at = e.valid_from_us.value_or(0);
    using Kind = identity::Reading::Kind;
    std::vector<identity::Reading> readings;
    switch (e.type) {
      case privileged::EntryType::kNumber:
      case privileged::EntryType::kPrefix:
        readings = {{Kind::kNumber, e.value + "1"}};
        break;
      case privileged::EntryType::kRange:
        readings = {{Kind::kNumber, e.value_to}};
        break;
      case privileged::EntryType::kUri:
        readings = {{Kind::kUri, e.value}};
        break;
      case privileged::EntryType::kEmail:
        readings = {{Kind::kEmail, e.value}};
        break;
    }
    Check(m->MatchReadings(readings, at).has_value());
  }
  return 0;
}
