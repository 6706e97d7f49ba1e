// The privileged-party filter: decides, for every stored communication, whether it is with a
// person who has a right of non-disclosure (a lawyer above all: Sv art. 126aa). It is the
// store's Screener: each communication's parties are normalised (identity::Normalizer, in the
// country of the intercept and with the number's nature of address) and looked up in the
// privileged list version in force (privileged::ListStore, DIR/privileged.db), with every entry's
// validity checked at the communication's time. Any match makes the whole communication
// privileged.
//
//   ASSIGN_OR_RETURN(auto filter, filter::Filter::Open({.dir = data}));
//   store_options.screener = filter.get();
//   ... every 200 ms: filter->Refresh();    // picks up a new list version, checks staleness
//
// Fail-closed: without a usable list (none imported, unreadable, older than max_age_us) every
// verdict is "quarantined" and the filter raises an alarm; a communication without any party it
// can read stays quarantined (and goes to review after review_after_us). Decisions carry the list
// version, the matched party's role and entry type, and a salted hash of the identity — never the
// identity itself.
// Thread-safe: Screen and Generation from any thread; Refresh from one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "identity/identity.h"
#include "metrics/registry.h"
#include "privileged/list_store.h"
#include "privileged/matcher.h"
#include "store/screen.h"

namespace tapvault::filter {

struct Options {
  std::string dir;                                 // the store: DIR/privileged.db, DIR/catalog.db
  std::string default_region = "NL";               // when the PS-PDU header gives no country
  int64_t max_age_us = 36LL * 3600 * 1000000;      // an older list is stale: alarm, quarantine
  int64_t review_after_us = 60LL * 1000000;        // no readable party this long after the start
  metrics::Registry* metrics = nullptr;            // optional
  bool read_only = false;                          // CLI readers: never create or change the list
};

// What the filter can tell about the list it works with.
struct ListState {
  bool usable = false;          // loaded and not stale
  uint64_t version = 0;         // 0 = none loaded
  int64_t imported_us = 0;
  size_t entries = 0;
  bool stale = false;
  std::string problem;          // why not usable ("" when usable)
};

// The answer for one identity (`tapvault privileged check`).
struct CheckResult {
  bool match = false;
  std::vector<identity::Reading> readings;
  std::optional<privileged::Match> entry;
  uint64_t list_version = 0;
};

class Filter : public store::Screener {
 public:
  // Opens the list database (created empty if missing) and loads the active version.
  static absl::StatusOr<std::unique_ptr<Filter>> Open(const Options& options);
  ~Filter() override;

  store::DecisionRow Screen(const store::ScreenRequest& request) override;
  uint64_t Generation() const override { return generation_.load(); }

  // Loads the active list version when it changed, and re-evaluates staleness. Errors are also
  // reflected in state() (the filter then quarantines everything new).
  absl::Status Refresh();
  ListState state() const;

  // One identity in any notation, against the version in force at `at_us` (the active one when
  // that is the current time). FailedPrecondition when there is no such version.
  absl::StatusOr<CheckResult> Check(std::string_view identity, std::string_view country,
                                    int64_t at_us);

  // The salted hash recorded in decisions for a normalised identity (hex, 32 characters).
  std::string IdentityHash(std::string_view normalized) const;

  const identity::Normalizer& normalizer() const { return normalizer_; }
  privileged::ListStore& lists() { return *lists_; }

 private:
  struct Loaded {
    uint64_t version = 0;
    int64_t imported_us = 0;
    std::unique_ptr<privileged::Matcher> matcher;
  };
  explicit Filter(const Options& options);
  void SetProblem(std::string problem);
  void Alarm(std::string_view kind, std::string_view detail);

  Options options_;
  identity::Normalizer normalizer_;
  std::unique_ptr<privileged::ListStore> lists_;
  std::string salt_;
  std::atomic<uint64_t> generation_{1};

  mutable absl::Mutex mu_;
  std::shared_ptr<const Loaded> loaded_ ABSL_GUARDED_BY(mu_);
  std::string problem_ ABSL_GUARDED_BY(mu_);
  bool stale_ ABSL_GUARDED_BY(mu_) = false;
  int64_t last_alarm_us_ ABSL_GUARDED_BY(mu_) = 0;

  metrics::Gauge* m_version_ = nullptr;
  metrics::Gauge* m_usable_ = nullptr;
  metrics::Gauge* m_age_ = nullptr;
  metrics::Counter* m_privileged_ = nullptr;
  metrics::Counter* m_available_ = nullptr;
  metrics::Counter* m_quarantined_ = nullptr;
};

}  // namespace tapvault::filter
