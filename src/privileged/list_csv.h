// The privileged-party list as delivered (docs: /work/shared/data/privileged-list.md): an RFC 4180
// CSV file with a header line naming the columns identity,type,source,valid_from,valid_to,ref in
// any order, read into normalised entries. A file is all or nothing: when any row is bad, every
// bad line is reported (with its line number and a reason) and no entry is returned.
//
//   identity::Normalizer norm("NL");
//   std::vector<privileged::LineError> errors;
//   absl::StatusOr<std::vector<privileged::Entry>> entries =
//       privileged::ParseListCsv(file_text, {.default_source = "NOvA", .region = "NL"}, norm,
//       &errors);
//   if (!entries.ok()) for (const auto& e : errors) std::cerr << "line " << e.line << ": " <<
//   e.reason;
//
// Normal forms of Entry::value:
//   kNumber, kPrefix: "+" and 1..15 digits (E.164; a prefix has at least kMinPrefixDigits digits)
//   kRange:           value = first number, value_to = last number, both "+digits" of equal length
//   kUri:             "sip:user@host", lower case, without display name, parameters or port
//   kEmail:           "local@domain", lower case
// A sip: URI whose user part is a telephone number (a global "+..." number, or user=phone) yields
// a kUri entry and a kNumber entry.
//
// Privacy: LineError reasons and status messages never contain an identity from the file (they
// name the line, the column and what is wrong); logs may carry them.
// Thread-safe: free functions without shared state (ParseListCsv may use worker threads of its
// own; `normalizer` must be thread-safe, as identity::Normalizer is).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "identity/identity.h"

namespace tapvault::privileged {

enum class EntryType : uint8_t { kNumber, kPrefix, kRange, kUri, kEmail };
// "number", "prefix", "range", "uri", "email".
std::string_view EntryTypeName(EntryType type);
// The inverse of EntryTypeName; nullopt for anything else.
std::optional<EntryType> EntryTypeFromName(std::string_view name);

// A prefix shorter than this (digits after "+") would block whole areas or countries; such a row
// is taken for a mistake and rejects the file.
inline constexpr size_t kMinPrefixDigits = 6;
// E.164 allows at most 15 digits. A shorter "number" would act as a wide prefix (a number matches
// every number that starts with it), so complete numbers need at least kMinNumberDigits.
inline constexpr size_t kMaxNumberDigits = 15;
inline constexpr size_t kMinNumberDigits = 6;
// Limits on one field (bytes) and on the fields of one row.
inline constexpr size_t kMaxFieldBytes = 2048;
inline constexpr size_t kMaxFields = 32;

struct Entry {
  EntryType type = EntryType::kNumber;
  std::string value;     // see the normal forms above; for kRange the first number
  std::string value_to;  // kRange only: the last number (inclusive); else empty
  std::string source;    // who delivered it ("NOvA"); ParseOptions::default_source when empty
  std::optional<int64_t> valid_from_us;  // unset: always; else in force from (inclusive)
  std::optional<int64_t> valid_to_us;    // unset: open-ended; else in force until (exclusive)
  std::string ref;                       // the deliverer's opaque reference
  friend bool operator==(const Entry&, const Entry&) = default;
  friend auto operator<=>(const Entry&, const Entry&) = default;
};

// A rejected line: 1-based number of the physical line where the row starts.
struct LineError {
  size_t line = 0;
  std::string reason;  // never contains the identity in clear
};

struct ParseOptions {
  std::string default_source;  // for rows with an empty source column
  std::string region = "NL";   // ISO 3166-1 alpha-2: country of numbers in national notation
  size_t threads = 0;          // rows are validated on this many threads; 0: the cores, up to 4
};

// Parses and validates a whole list. Rows that are equal after normalisation collapse into one
// entry (the result is sorted and unique); `duplicates`, when given, receives how many collapsed.
// Errors: InvalidArgument when the file has no header, a bad header, or any bad row; its message
// names every bad line ("line 7: ...; line 9: ...") and `errors` (when given) receives them.
// `normalizer` is used only during the call.
absl::StatusOr<std::vector<Entry>> ParseListCsv(std::string_view text, const ParseOptions& options,
                                                const identity::Normalizer& normalizer,
                                                std::vector<LineError>* errors,
                                                size_t* duplicates = nullptr);

// ISO 8601 date ("2026-01-31", "20260131": midnight UTC) or date-time ("2026-01-31T10:00",
// "2026-01-31T10:00:00.5+01:00", "20260131T100000Z"; UTC when no offset) → µs since the epoch.
// InvalidArgument otherwise.
absl::StatusOr<int64_t> ParseIsoDateTime(std::string_view text);

}  // namespace tapvault::privileged
