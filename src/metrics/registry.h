// Metrics registry: counters and gauges with labels, rendered in the Prometheus text exposition
// format (version 0.0.4). Increments are one relaxed atomic add; look a metric up once and keep
// the reference (references stay valid for the registry's lifetime).
//
//   metrics::Registry registry;
//   metrics::Counter& dropped = registry.GetCounter(
//       "tapvault_decode_errors_total", "PDUs dropped because they failed to decode",
//       {{"reason", "invalid_argument"}});
//   dropped.Inc();
//   std::string page = registry.RenderPrometheus();
//
// Thread-safe: lookups take a mutex, increments and reads are lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace tapvault::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Returns the counter `name{labels}`, creating it (and its family, with `help`) on first use.
  // REQUIRES: `name` and label names match [a-zA-Z_][a-zA-Z0-9_]*; a name is used either for
  // counters or for gauges, not both (a mismatch returns a detached dummy, never crashes).
  Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});

  // Value of a counter if it exists, else 0 (for tests and the ready checks).
  uint64_t CounterValue(std::string_view name, const Labels& labels = {}) const;
  int64_t GaugeValue(std::string_view name, const Labels& labels = {}) const;
  // Sum over every label set of the counter family `name`.
  uint64_t CounterSum(std::string_view name) const;

  // The whole registry in Prometheus text format, families sorted by name.
  std::string RenderPrometheus() const;

 private:
  struct Family {
    std::string help;
    bool is_counter = true;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // key: rendered label set
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
  };
  mutable absl::Mutex mu_;
  std::map<std::string, Family, std::less<>> families_ ABSL_GUARDED_BY(mu_);
  Counter dummy_counter_;
  Gauge dummy_gauge_;
};

// `{a="x",b="y"}` (empty for no labels), values escaped as the exposition format requires.
std::string RenderLabels(const Labels& labels);

}  // namespace tapvault::metrics
