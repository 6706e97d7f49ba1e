#include "filter/assignment.h"

#include <unistd.h>

#include <utility>

#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"

namespace tapvault::filter {

AssignedScreener::AssignedScreener(AssignmentOptions options, store::Screener& privileged)
    : options_(std::move(options)),
      privileged_(privileged),
      index_(std::make_shared<warrant::WarrantIndex>(std::vector<warrant::Warrant>{}, 0)) {}

absl::StatusOr<std::unique_ptr<AssignedScreener>> AssignedScreener::Open(
    const AssignmentOptions& options, store::Screener& privileged) {
  std::unique_ptr<AssignedScreener> s(new AssignedScreener(options, privileged));
  RETURN_IF_ERROR(s->Refresh());
  return s;
}

absl::Status AssignedScreener::Refresh() {
  if (store_ == nullptr) {
    if (::access(warrant::WarrantPath(options_.dir).c_str(), F_OK) != 0) return absl::OkStatus();
    ASSIGN_OR_RETURN(store_, warrant::WarrantStore::Open(options_.dir, /*create=*/false,
                                                         /*read_only=*/true));
  }
  ASSIGN_OR_RETURN(uint64_t generation, store_->Generation());
  if (loaded_ && *loaded_ == generation) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::shared_ptr<const warrant::WarrantIndex> index, store_->Snapshot());
  {
    absl::MutexLock l(&mu_);
    index_ = std::move(index);
  }
  // After the index: a store that sees the new generation screens with the new warrants.
  // +1 so that opening warrants.db at generation 0 still counts as a change.
  warrant_generation_.store(generation + 1);
  const bool changed = loaded_.has_value();
  loaded_ = generation;
  // A change while running is news; the first load (every CLI command makes one) is not.
  if (changed) {
    base::Log(base::LogLevel::kInfo, "warrants.changed",
              {{"generation", generation}, {"warrants", warrants()->warrants().size()}});
  }
  return absl::OkStatus();
}

std::shared_ptr<const warrant::WarrantIndex> AssignedScreener::warrants() const {
  absl::MutexLock l(&mu_);
  return index_;
}

uint64_t AssignedScreener::Generation() const {
  return privileged_.Generation() + warrant_generation_.load();
}

void AssignedScreener::Alarm(const std::string& liid) {
  const int64_t now = base::Now().unix_us;
  if (options_.metrics != nullptr) {
    options_.metrics->GetCounter("tapvault_alarms_total", "Alarms raised, by kind", {{"kind", kUnassigned}})
        .Inc();
  }
  // The log line once a minute at most: a tap without a warrant sends many records.
  int64_t last = last_alarm_us_.load();
  if (now - last < 60LL * 1000000 || !last_alarm_us_.compare_exchange_strong(last, now)) return;
  base::Log(base::LogLevel::kError, "alarm",
            {{"kind", kUnassigned},
             {"detail", "records for an LIID without a warrant valid at their time are stored "
                        "quarantined (unassigned); enter the warrant or have the tap removed"},
             {"liid", liid}});
}

store::DecisionRow AssignedScreener::Screen(const store::ScreenRequest& request) {
  store::DecisionRow verdict = privileged_.Screen(request);
  if (verdict.state != store::CommState::kAvailable) return verdict;
  if (warrants()->CoveringAt(request.liid, request.start_us) != nullptr) return verdict;
  Alarm(request.liid);
  store::DecisionRow unassigned = verdict;
  unassigned.state = store::CommState::kQuarantined;
  unassigned.reason = kUnassigned;
  return unassigned;
}

}  // namespace tapvault::filter
