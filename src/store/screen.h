// The hook through which the privileged-party filter decides each communication as it is
// stored. The store calls Screen on its writer thread for every communication that is new or got
// new parties since the last commit, and puts the verdict into the same catalog transaction as
// the records and parties: a communication is never readable (state available) before a verdict
// said so. Without a screener every communication stays quarantined (fail-closed).
//
//   class Filter : public store::Screener { ... };
//   store::StoreOptions opt; opt.screener = &filter;   // must outlive the Store
//
// Implementations must be thread-safe (Screen runs on the writer and the control thread) and
// fast: they run inside the group commit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/catalog.h"

namespace tapvault::store {

// The reason of a verdict that keeps a communication quarantined because no warrant covers its
// LIID at its time (filter/assignment.h). Unlike other quarantine reasons it also takes an
// available communication back (a warrant ended or corrected).
inline constexpr char kUnassignedReason[] = "unassigned";

struct ScreenRequest {
  uint64_t comm_id = 0;
  std::string liid;
  std::string country;               // of the intercept, "" = unknown
  int64_t start_us = 0;              // the communication's time (its first record)
  std::vector<PartyRow> parties;     // every party known so far
};

class Screener {
 public:
  virtual ~Screener() = default;
  // The verdict as a decision row (comm_id, at_us and `from` are filled in by the store).
  virtual DecisionRow Screen(const ScreenRequest& request) = 0;
  // Changes whenever verdicts may change for communications already decided (a new list version,
  // the list becoming available or stale). The store then screens every communication that is
  // still quarantined or available again (retroactive decisions).
  virtual uint64_t Generation() const = 0;
};

}  // namespace tapvault::store
