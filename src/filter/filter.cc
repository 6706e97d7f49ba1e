#include "filter/filter.h"

#include <chrono>
#include <utility>

#include "base/hex.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "crypto/digest.h"
#include "store/catalog.h"
#include "store/store.h"

namespace tapvault::filter {
namespace {

identity::Nature NatureOf(std::string_view name) {
  if (name == "unknown") return identity::Nature::kUnknown;
  if (name == "subscriber") return identity::Nature::kSubscriber;
  if (name == "national") return identity::Nature::kNational;
  if (name == "international") return identity::Nature::kInternational;
  if (name == "network-specific") return identity::Nature::kNetworkSpecific;
  if (name == "abbreviated") return identity::Nature::kAbbreviated;
  return identity::Nature::kNotGiven;
}

int64_t NowUs() { return base::Now().unix_us; }

}  // namespace

Filter::Filter(const Options& options)
    : options_(options), normalizer_(options.default_region.empty() ? "NL" : options.default_region) {}
Filter::~Filter() = default;

absl::StatusOr<std::unique_ptr<Filter>> Filter::Open(const Options& options) {
  std::unique_ptr<Filter> f(new Filter(options));
  ASSIGN_OR_RETURN(f->lists_, privileged::ListStore::Open(options.dir + "/privileged.db",
                                                          /*create=*/!options.read_only,
                                                          /*read_only=*/options.read_only));
  // The salt of identity hashes lives in the store's catalog (made by Store::Open). A list
  // checked outside a store has no salt; hashes are then only for this process's output.
  if (auto catalog = store::SqliteCatalog::Open(store::CatalogPath(options.dir), false, true);
      catalog.ok()) {
    auto salt = (*catalog)->GetMeta("identity_salt");
    if (salt.ok() && salt->has_value()) f->salt_ = **salt;
  }
  if (options.metrics != nullptr) {
    auto& r = *options.metrics;
    f->m_version_ = &r.GetGauge("tapvault_privileged_list_version",
                                "Privileged-party list version in force (0 = none)");
    f->m_usable_ = &r.GetGauge("tapvault_privileged_list_usable",
                               "1 when a privileged list is loaded and not stale; 0 = every new "
                               "communication stays quarantined");
    f->m_age_ = &r.GetGauge("tapvault_privileged_list_age_seconds",
                            "Seconds since the privileged list in force was delivered");
    const char* help = "Verdicts of the privileged-party filter";
    f->m_privileged_ = &r.GetCounter("tapvault_privileged_verdicts_total", help, {{"state", "privileged"}});
    f->m_available_ = &r.GetCounter("tapvault_privileged_verdicts_total", help, {{"state", "available"}});
    f->m_quarantined_ = &r.GetCounter("tapvault_privileged_verdicts_total", help, {{"state", "quarantined"}});
  }
  (void)f->Refresh();   // a problem is in state() and quarantines; Open itself succeeds
  return f;
}

std::string Filter::IdentityHash(std::string_view normalized) const {
  const crypto::Sha256Digest d = crypto::Sha256(
      {{reinterpret_cast<const uint8_t*>(salt_.data()), salt_.size()},
       {reinterpret_cast<const uint8_t*>(normalized.data()), normalized.size()}});
  return base::ToHex(std::as_bytes(std::span(d.data(), 16)));
}

void Filter::Alarm(std::string_view kind, std::string_view detail) {
  {
    absl::MutexLock l(&mu_);
    const int64_t now = NowUs();
    if (now - last_alarm_us_ < 60LL * 1000000) return;   // once a minute is enough to be seen
    last_alarm_us_ = now;
  }
  base::Log(base::LogLevel::kError, "alarm", {{"kind", kind}, {"detail", detail}});
  if (options_.metrics != nullptr) {
    options_.metrics->GetCounter("tapvault_alarms_total", "Alarms raised, by kind", {{"kind", std::string(kind)}})
        .Inc();
  }
}

void Filter::SetProblem(std::string problem) {
  bool changed;
  {
    absl::MutexLock l(&mu_);
    changed = problem_ != problem;
    problem_ = problem;
    if (changed) last_alarm_us_ = 0;
  }
  if (changed) ++generation_;
  if (!problem.empty()) Alarm("privileged_list_unusable", problem);
}

absl::Status Filter::Refresh() {
  const int64_t now = NowUs();
  absl::StatusOr<uint64_t> active = lists_->ActiveVersionId();
  if (!active.ok()) {
    SetProblem(base::StrCat("the privileged list cannot be read: ", base::View(active.status().message())));
    return active.status();
  }
  if (*active == 0) {
    SetProblem("no privileged list has been imported: every communication stays quarantined");
    return absl::OkStatus();
  }
  uint64_t current = 0;
  {
    absl::MutexLock l(&mu_);
    if (loaded_) current = loaded_->version;
  }
  if (*active != current) {
    const auto started = std::chrono::steady_clock::now();
    absl::StatusOr<privileged::VersionInfo> info = lists_->Version(*active);
    absl::StatusOr<std::unique_ptr<privileged::Matcher>> matcher =
        info.ok() ? lists_->LoadMatcher(*active) : info.status();
    if (!matcher.ok()) {
      SetProblem(base::StrCat("privileged list version ", *active, " cannot be loaded: ",
                              base::View(matcher.status().message())));
      return matcher.status();
    }
    auto loaded = std::make_shared<Loaded>();
    loaded->version = *active;
    loaded->imported_us = info->imported_us;
    loaded->matcher = std::move(*matcher);
    const size_t entries = loaded->matcher->size();
    {
      absl::MutexLock l(&mu_);
      loaded_ = std::move(loaded);
    }
    ++generation_;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started).count();
    if (!options_.read_only) base::Log(base::LogLevel::kInfo, "privileged.list_loaded",
              {{"version", *active}, {"entries", entries}, {"load_ms", ms}});
    if (m_version_ != nullptr) m_version_->Set(static_cast<int64_t>(*active));
  }
  SetProblem("");
  int64_t imported_us = 0;
  bool stale_changed = false, stale = false;
  {
    absl::MutexLock l(&mu_);
    imported_us = loaded_->imported_us;
    stale = now - imported_us > options_.max_age_us;
    stale_changed = stale != stale_;
    stale_ = stale;
  }
  if (stale_changed) ++generation_;
  if (stale) {
    Alarm("privileged_list_stale",
          base::StrCat("the privileged list in force was delivered ", (now - imported_us) / 3600000000LL,
                       " h ago (limit ", options_.max_age_us / 3600000000LL,
                       " h): new communications stay quarantined"));
  }
  if (m_age_ != nullptr) m_age_->Set((now - imported_us) / 1000000);
  if (m_usable_ != nullptr) m_usable_->Set(stale ? 0 : 1);
  return absl::OkStatus();
}

ListState Filter::state() const {
  absl::MutexLock l(&mu_);
  ListState s;
  if (loaded_) {
    s.version = loaded_->version;
    s.imported_us = loaded_->imported_us;
    s.entries = loaded_->matcher->size();
    s.stale = NowUs() - loaded_->imported_us > options_.max_age_us;
  }
  s.problem = problem_;
  if (s.problem.empty() && s.stale) s.problem = "the privileged list is stale";
  if (s.problem.empty() && !loaded_) s.problem = "no privileged list loaded";
  s.usable = s.problem.empty();
  return s;
}

store::DecisionRow Filter::Screen(const store::ScreenRequest& request) {
  store::DecisionRow d;
  d.by = "filter";
  std::shared_ptr<const Loaded> loaded;
  std::string problem;
  {
    absl::MutexLock l(&mu_);
    loaded = loaded_;
    problem = problem_;
  }
  const int64_t now = NowUs();
  auto verdict = [&](store::CommState state, std::string reason) {
    d.state = state;
    d.reason = std::move(reason);
    metrics::Counter* c = state == store::CommState::kPrivileged  ? m_privileged_
                          : state == store::CommState::kAvailable ? m_available_
                                                                  : m_quarantined_;
    if (c != nullptr) c->Inc();
    return d;
  };
  if (loaded) d.list_version = loaded->version;
  if (!loaded || !problem.empty()) return verdict(store::CommState::kQuarantined, "list_unavailable");
  if (now - loaded->imported_us > options_.max_age_us) {
    return verdict(store::CommState::kQuarantined, "list_stale");
  }
  const identity::Context base_context{.country = request.country};
  size_t readable = 0;
  for (const store::PartyRow& p : request.parties) {
    identity::Context ctx = base_context;
    ctx.nature = NatureOf(p.nature);
    const std::vector<identity::Reading> readings = normalizer_.Readings(p.id, ctx);
    if (readings.empty()) continue;
    ++readable;
    // The list in force now, with each entry's validity at the communication's time.
    std::optional<privileged::Match> m = loaded->matcher->MatchReadings(readings, request.start_us);
    if (m) {
      d.role = p.role;
      d.entry_type = std::string(privileged::EntryTypeName(m->type));
      d.identity_hash = IdentityHash(m->entry);
      return verdict(store::CommState::kPrivileged, "list_match");
    }
  }
  if (readable == 0) {
    if (!request.parties.empty()) return verdict(store::CommState::kQuarantined, "parties_unreadable");
    return verdict(store::CommState::kQuarantined, now - request.start_us > options_.review_after_us
                                                       ? "parties_unknown"
                                                       : "awaiting_parties");
  }
  return verdict(store::CommState::kAvailable, "no_match");
}

absl::StatusOr<CheckResult> Filter::Check(std::string_view text, std::string_view country,
                                          int64_t at_us) {
  CheckResult r;
  r.readings = normalizer_.Readings(text, {.country = country});
  ASSIGN_OR_RETURN(std::optional<privileged::VersionInfo> version, lists_->InForceAt(at_us));
  if (!version) {
    return absl::FailedPreconditionError(
        "no privileged list was in force at that time: nothing can be known to be not privileged");
  }
  r.list_version = version->id;
  std::shared_ptr<const Loaded> loaded;
  {
    absl::MutexLock l(&mu_);
    loaded = loaded_;
  }
  std::unique_ptr<privileged::Matcher> other;
  const privileged::Matcher* matcher = nullptr;
  if (loaded && loaded->version == version->id) {
    matcher = loaded->matcher.get();
  } else {
    ASSIGN_OR_RETURN(other, lists_->LoadMatcher(version->id));
    matcher = other.get();
  }
  r.entry = matcher->MatchReadings(r.readings, at_us);
  r.match = r.entry.has_value();
  return r;
}

}  // namespace tapvault::filter
