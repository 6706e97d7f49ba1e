// Warrant assignment: a communication may become readable only when a warrant covers its LIID at
// its time. AssignedScreener wraps the privileged-party filter (the store's Screener) and adds
// that rule: the filter decides first (privileged stays privileged, whatever the warrant); a
// verdict that would make a communication readable is kept quarantined as "unassigned" when no
// warrant in DIR/warrants.db covers (liid, start time), and an alarm is raised. A warrant that
// arrives later (an emergency order entered afterwards) changes Generation(), so the store
// re-decides every quarantined and available communication and the unassigned ones become
// available; an ended warrant does the opposite for communications after its end.
//
//   ASSIGN_OR_RETURN(auto filter, filter::Filter::Open({.dir = dir}));
//   ASSIGN_OR_RETURN(auto screener, filter::AssignedScreener::Open({.dir = dir}, *filter));
//   store_options.screener = screener.get();
//   ... every 200 ms: filter->Refresh(); screener->Refresh();
//
// Without warrants.db every communication is unassigned (fail-closed).
// Thread-safe: Screen and Generation from any thread; Refresh from one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "metrics/registry.h"
#include "store/screen.h"
#include "warrant/warrant_index.h"
#include "warrant/warrant_store.h"

namespace tapvault::filter {

inline constexpr const char* kUnassigned = store::kUnassignedReason;

struct AssignmentOptions {
  std::string dir;                       // the store: DIR/warrants.db
  metrics::Registry* metrics = nullptr;  // optional: tapvault_alarms_total{kind="unassigned"}
};

class AssignedScreener : public store::Screener {
 public:
  // Loads the warrants (none when warrants.db does not exist yet). `privileged` must outlive it.
  static absl::StatusOr<std::unique_ptr<AssignedScreener>> Open(const AssignmentOptions& options,
                                                                store::Screener& privileged);

  store::DecisionRow Screen(const store::ScreenRequest& request) override;
  // Changes with the filter's generation and with every warrant change.
  uint64_t Generation() const override;

  // Picks up a new warrant generation (opens warrants.db once it exists).
  absl::Status Refresh();
  std::shared_ptr<const warrant::WarrantIndex> warrants() const;

 private:
  AssignedScreener(AssignmentOptions options, store::Screener& privileged);
  void Alarm(const std::string& liid);

  AssignmentOptions options_;
  store::Screener& privileged_;
  std::unique_ptr<warrant::WarrantStore> store_;   // Refresh only
  std::optional<uint64_t> loaded_;                  // Refresh only: the generation in index_
  mutable absl::Mutex mu_;
  std::shared_ptr<const warrant::WarrantIndex> index_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> warrant_generation_{0};
  std::atomic<int64_t> last_alarm_us_{0};
};

}  // namespace tapvault::filter
