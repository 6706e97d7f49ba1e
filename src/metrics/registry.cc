#include "metrics/registry.h"

#include "base/strings.h"

namespace tapvault::metrics {

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out.append(k);
    out.append("=\"");
    // Prometheus text format: label values escape backslash, double quote and line feed.
    for (char c : v) {
      if (c == '\\') {
        out.append("\\\\");
      } else if (c == '"') {
        out.append("\\\"");
      } else if (c == '\n') {
        out.append("\\n");
      } else {
        out.push_back(c);
      }
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

Counter& Registry::GetCounter(std::string_view name, std::string_view help,
                              const Labels& labels) {
  std::string key = RenderLabels(labels);
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.help = std::string(help);
    it->second.is_counter = true;
  }
  if (!it->second.is_counter) return dummy_counter_;
  auto& slot = it->second.counters[key];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::GetGauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::string key = RenderLabels(labels);
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.help = std::string(help);
    it->second.is_counter = false;
  }
  if (it->second.is_counter) return dummy_gauge_;
  auto& slot = it->second.gauges[key];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

uint64_t Registry::CounterValue(std::string_view name, const Labels& labels) const {
  std::string key = RenderLabels(labels);
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto c = it->second.counters.find(key);
  return c == it->second.counters.end() ? 0 : c->second->value();
}

int64_t Registry::GaugeValue(std::string_view name, const Labels& labels) const {
  std::string key = RenderLabels(labels);
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto g = it->second.gauges.find(key);
  return g == it->second.gauges.end() ? 0 : g->second->value();
}

uint64_t Registry::CounterSum(std::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  uint64_t sum = 0;
  for (const auto& [k, c] : it->second.counters) sum += c->value();
  return sum;
}

std::string Registry::RenderPrometheus() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, fam] : families_) {
    out.append(base::StrCat("# HELP ", name, " "));
    for (char c : fam.help) {
      if (c == '\\') {
        out.append("\\\\");
      } else if (c == '\n') {
        out.append("\\n");
      } else {
        out.push_back(c);
      }
    }
    out.append(base::StrCat("\n# TYPE ", name, fam.is_counter ? " counter\n" : " gauge\n"));
    if (fam.is_counter) {
      for (const auto& [labels, c] : fam.counters) {
        out.append(base::StrCat(name, labels, " ", c->value(), "\n"));
      }
    } else {
      for (const auto& [labels, g] : fam.gauges) {
        out.append(base::StrCat(name, labels, " ", g->value(), "\n"));
      }
    }
  }
  return out;
}

}  // namespace tapvault::metrics
