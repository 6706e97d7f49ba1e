// WarrantIndex: an immutable in-memory snapshot of the warrants in force (the latest version of
// each), for the server's hot path: which warrant covers an LIID at an instant, in O(log n), and
// the access rule built on it (CheckAccess). Built by WarrantStore::Snapshot(); swap a
// shared_ptr<const WarrantIndex> atomically when WarrantStore::Generation() changes.
//
//   std::shared_ptr<const WarrantIndex> index = *store->Snapshot();
//   if (const Warrant* w = index->CoveringAt(liid, record_time_us); w == nullptr) {
//     ... quarantine the record as "unassigned" ...
//   }
//   AccessVerdict v = CheckAccess(*index, liid, comm_time_us, base::Now().unix_us,
//                                 Role::kInvestigator, /*default_retention_days=*/180);
//   if (!v.allowed) return PermissionDenied(v.reason);
//   ... then check that the user is a member of v.team ...
//
// Thread-safety: immutable after construction; any number of threads may read concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "warrant/warrant.h"

namespace tapvault::warrant {

class WarrantIndex {
 public:
  // `current`: the latest version of each warrant. `generation`: the store generation the
  // snapshot was taken at.
  WarrantIndex(std::vector<Warrant> current, uint64_t generation);
  WarrantIndex(const WarrantIndex&) = delete;
  WarrantIndex& operator=(const WarrantIndex&) = delete;

  // The warrant whose [valid_from, valid_to) contains t_us; when several do, the one with the
  // latest valid_from (then the greatest id). nullptr when none. The pointer stays valid as long
  // as the index. O(log n).
  const Warrant* CoveringAt(std::string_view liid, int64_t t_us) const;
  // Every warrant (latest versions), by id.
  const std::vector<Warrant>& warrants() const { return warrants_; }
  uint64_t generation() const { return generation_; }

 private:
  // A piece of the time line of one LIID on which one warrant is the covering one.
  struct Segment {
    int64_t from_us;  // inclusive
    int64_t to_us;    // exclusive
    uint32_t warrant;  // index into warrants_
  };
  std::vector<Warrant> warrants_;
  uint64_t generation_;
  // Per LIID: disjoint segments sorted by from_us.
  absl::flat_hash_map<std::string, std::vector<Segment>> segments_;
};

// How long after the communication a warrant lets someone read it (which window applies to a
// person is access/'s: investigators have kWhileValid, prosecutors kUntilRetentionEnds).
enum class Window {
  kWhileValid,          // while the warrant is in force (now in [valid_from, valid_to))
  kUntilRetentionEnds,  // until its retention after valid_to has run out
};

// Reasons CheckAccess gives for a refusal.
inline constexpr std::string_view kNoWarrantAtCommTime = "no_warrant_at_comm_time";
inline constexpr std::string_view kWarrantNotYetValid = "warrant_not_yet_valid";
inline constexpr std::string_view kWarrantExpired = "warrant_expired";
inline constexpr std::string_view kRetentionOver = "retention_over";

struct AccessVerdict {
  bool allowed = false;
  std::string reason;      // "" when allowed; else one of the k* reasons above
  std::string warrant_id;  // the warrant covering comm_time; "" when none
  std::string team;        // its team: the caller still checks that the user belongs to it
  int64_t valid_to_us = 0;      // of that warrant (its latest version)
  int64_t readable_to_us = 0;   // for a prosecutor: valid_to + retention
};

// The access rule for reading a communication of `liid` made at `comm_time_us`, asked at
// `now_us`. A pure function of its arguments:
//  1. Some warrant must cover comm_time (CoveringAt); else refused, "no_warrant_at_comm_time".
//  2. kWhileValid: that warrant must still be valid now, valid_from <= now < valid_to (its
//     latest version: an early end or an extension counts); else "warrant_not_yet_valid" or
//     "warrant_expired".
//     kUntilRetentionEnds: now < valid_to + retention, where retention is the warrant's retention_days or,
//     when that is 0, `default_retention_days`; else "retention_over".
// Team membership is not checked here: the verdict carries the warrant's team for the caller.
// REQUIRES: default_retention_days >= 0.
AccessVerdict CheckAccess(const WarrantIndex& index, std::string_view liid, int64_t comm_time_us,
                          int64_t now_us, Window window, int default_retention_days);

}  // namespace tapvault::warrant
