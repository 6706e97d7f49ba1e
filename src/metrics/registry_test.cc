#include "metrics/registry.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace tapvault::metrics {
namespace {

TEST(RegistryTest, RendersCountersAndGaugesInExpositionFormat) {
  Registry r;
  r.GetCounter("tv_pdus_total", "PDUs received", {{"kind", "cc"}}).Inc(3);
  r.GetCounter("tv_pdus_total", "PDUs received", {{"kind", "iri"}}).Inc();
  r.GetGauge("tv_open", "Open connections").Set(7);
  EXPECT_EQ(r.RenderPrometheus(),
            "# HELP tv_open Open connections\n"
            "# TYPE tv_open gauge\n"
            "tv_open 7\n"
            "# HELP tv_pdus_total PDUs received\n"
            "# TYPE tv_pdus_total counter\n"
            "tv_pdus_total{kind=\"cc\"} 3\n"
            "tv_pdus_total{kind=\"iri\"} 1\n");
}

TEST(RegistryTest, EscapesLabelValues) {
  EXPECT_EQ(RenderLabels({{"a", "x\"y\\z\nw"}, {"b", ""}}), "{a=\"x\\\"y\\\\z\\nw\",b=\"\"}");
}

TEST(RegistryTest, SameLabelsSameCounter) {
  Registry r;
  Counter& a = r.GetCounter("c", "h", {{"k", "v"}});
  Counter& b = r.GetCounter("c", "h", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  a.Inc(2);
  EXPECT_EQ(r.CounterValue("c", {{"k", "v"}}), 2u);
  EXPECT_EQ(r.CounterValue("c", {{"k", "w"}}), 0u);
  EXPECT_EQ(r.CounterSum("c"), 2u);
}

TEST(RegistryTest, TypeMismatchDoesNotCrashOrRender) {
  Registry r;
  r.GetCounter("x", "h").Inc();
  r.GetGauge("x", "h").Set(5);  // detached dummy
  EXPECT_EQ(r.CounterValue("x"), 1u);
  EXPECT_EQ(r.RenderPrometheus(), "# HELP x h\n# TYPE x counter\nx 1\n");
}

TEST(RegistryTest, ConcurrentIncrementsAreNotLost) {
  Registry r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r] {
      Counter& c = r.GetCounter("n", "h");
      for (int i = 0; i < 100000; ++i) c.Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(r.CounterValue("n"), 400000u);
}

}  // namespace
}  // namespace tapvault::metrics
