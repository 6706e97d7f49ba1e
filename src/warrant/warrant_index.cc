// WarrantIndex: per LIID, the time line cut into disjoint segments, each labelled with the
// warrant that covers it (latest valid_from wins where windows overlap). Built once per snapshot,
// so a lookup is one hash probe and one binary search, whatever the overlaps.
#include "warrant/warrant_index.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace tapvault::warrant {

namespace {
constexpr int64_t kUsPerDay = int64_t{86'400} * 1'000'000;
// Retention is at most this long (WarrantStore refuses more), so valid_to + retention never
// overflows for any valid_to the store accepts.
constexpr int64_t kMaxRetentionDays = 100 * 366;

int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (b > 0 && a > std::numeric_limits<int64_t>::max() - b) {
    return std::numeric_limits<int64_t>::max();
  }
  return a + b;
}
}  // namespace

WarrantIndex::WarrantIndex(std::vector<Warrant> current, uint64_t generation)
    : warrants_(std::move(current)), generation_(generation) {
  std::sort(warrants_.begin(), warrants_.end(),
            [](const Warrant& a, const Warrant& b) { return a.spec.id < b.spec.id; });
  absl::flat_hash_map<std::string, std::vector<uint32_t>> by_liid;
  for (uint32_t i = 0; i < warrants_.size(); ++i) {
    if (warrants_[i].spec.valid_from_us < warrants_[i].spec.valid_to_us) {
      by_liid[warrants_[i].spec.liid].push_back(i);
    }
  }
  // "Better" cover: later valid_from, then greater id (the same order CoveringAt of the store
  // uses).
  auto better = [this](uint32_t a, uint32_t b) {
    const WarrantSpec& x = warrants_[a].spec;
    const WarrantSpec& y = warrants_[b].spec;
    return std::tie(x.valid_from_us, x.id) > std::tie(y.valid_from_us, y.id);
  };
  for (auto& [liid, ids] : by_liid) {
    std::vector<int64_t> cuts;
    for (uint32_t i : ids) {
      cuts.push_back(warrants_[i].spec.valid_from_us);
      cuts.push_back(warrants_[i].spec.valid_to_us);
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::vector<Segment>& segs = segments_[liid];
    // Warrants per LIID are few (successive orders): quadratic is fine and obviously right.
    for (size_t c = 0; c + 1 < cuts.size(); ++c) {
      int64_t t = cuts[c];
      std::optional<uint32_t> best;
      for (uint32_t i : ids) {
        const WarrantSpec& s = warrants_[i].spec;
        if (s.valid_from_us <= t && t < s.valid_to_us && (!best || better(i, *best))) best = i;
      }
      if (!best) continue;
      if (!segs.empty() && segs.back().warrant == *best && segs.back().to_us == t) {
        segs.back().to_us = cuts[c + 1];
      } else {
        segs.push_back({t, cuts[c + 1], *best});
      }
    }
  }
}

const Warrant* WarrantIndex::CoveringAt(std::string_view liid, int64_t t_us) const {
  auto it = segments_.find(absl::string_view(liid.data(), liid.size()));
  if (it == segments_.end()) return nullptr;
  const std::vector<Segment>& segs = it->second;
  auto s = std::upper_bound(segs.begin(), segs.end(), t_us,
                            [](int64_t t, const Segment& seg) { return t < seg.from_us; });
  if (s == segs.begin()) return nullptr;
  --s;
  if (t_us >= s->to_us) return nullptr;
  return &warrants_[s->warrant];
}

AccessVerdict CheckAccess(const WarrantIndex& index, std::string_view liid, int64_t comm_time_us,
                          int64_t now_us, Window window, int default_retention_days) {
  AccessVerdict v;
  const Warrant* w = index.CoveringAt(liid, comm_time_us);
  if (w == nullptr) {
    v.reason = std::string(kNoWarrantAtCommTime);
    return v;
  }
  const WarrantSpec& s = w->spec;
  v.warrant_id = s.id;
  v.team = s.team;
  v.valid_to_us = s.valid_to_us;
  int64_t days = s.retention_days > 0 ? s.retention_days : std::max(default_retention_days, 0);
  days = std::min(days, kMaxRetentionDays);
  v.readable_to_us = SaturatingAdd(s.valid_to_us, days * kUsPerDay);
  switch (window) {
    case Window::kWhileValid:
      if (now_us < s.valid_from_us) {
        v.reason = std::string(kWarrantNotYetValid);
      } else if (now_us >= s.valid_to_us) {
        v.reason = std::string(kWarrantExpired);
      }
      break;
    case Window::kUntilRetentionEnds:
      if (now_us >= v.readable_to_us) v.reason = std::string(kRetentionOver);
      break;
  }
  v.allowed = v.reason.empty();
  return v;
}

}  // namespace tapvault::warrant
