// An immutable index over one version of the privileged-party list: does any reading of a
// communication party match a listed entry that is valid at the communication's time?
//
//   std::unique_ptr<privileged::Matcher> m = privileged::Matcher::Build(std::move(entries));
//   std::vector<identity::Reading> r = normalizer.Readings(party, {.country = "NL"});
//   if (std::optional<privileged::Match> hit = m->MatchReadings(r, comm_start_us)) block(...);
//
// Semantics (privileged-list.md):
//   kNumber, kPrefix  a number reading matches when it equals the entry or starts with it
//                     (digits dialled after a complete number do not defeat the filter)
//   kRange            a number reading of at least N digits (N = the ends' length) whose first N
//                     digits lie within [from, to]
//   kUri, kEmail      exact on the canonical form (identity::CanonicalSipUri / CanonicalEmail;
//                     readings are canonical already)
// An entry counts only when at_us is within [valid_from_us, valid_to_us).
//
// Memory: numbers and prefixes are packed into uint64 keys (digit count and value) in an
// open-addressing table: about 11 bytes per entry (8 a slot at load ≤ 0.75), plus the windows of
// the few entries that have validity dates; URIs and e-mail addresses in one sorted arena. A
// lookup costs about one cache miss per distinct entry length in the list.
// Match::entry is a listed identity in clear: never log it.
// Thread-safe: immutable after Build; share it (e.g. as shared_ptr<const Matcher>).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "identity/identity.h"
#include "privileged/list_csv.h"

namespace tapvault::privileged {

struct Match {
  EntryType type = EntryType::kNumber;
  std::string entry;  // the listed value, normalised ("from..to" for a range)
  friend bool operator==(const Match &, const Match &) = default;
};

class Matcher {
 public:
  // Accumulates entries without copying them into Entry objects (ListStore feeds it straight
  // from SQLite rows). Not thread-safe; use once.
  class Builder {
   public:
    Builder();
    ~Builder();
    // false (and nothing added) when the entry is not in a normal form of list_csv.h.
    bool Add(EntryType type, std::string_view value, std::string_view value_to,
             std::optional<int64_t> valid_from_us, std::optional<int64_t> valid_to_us);
    void Reserve(size_t entries);
    std::unique_ptr<Matcher> Finish() &&;

   private:
    struct Pending;
    std::unique_ptr<Pending> p_;
  };

  // Entries not in a normal form (never produced by ParseListCsv or ListStore) are left out and
  // counted by skipped().
  static std::unique_ptr<Matcher> Build(std::vector<Entry> entries);
  ~Matcher();

  // The first reading that matches an entry valid at `at_us`, and that entry; nullopt if none.
  std::optional<Match> MatchReadings(std::span<const identity::Reading> readings,
                                     int64_t at_us) const;

  size_t size() const { return size_; }        // distinct entries indexed
  size_t skipped() const { return skipped_; }  // malformed entries left out by Build
  size_t MemoryBytes() const;                  // heap held by the index (approximate)

 private:
  struct Impl;
  explicit Matcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  size_t size_ = 0;
  size_t skipped_ = 0;
};

}  // namespace tapvault::privileged
