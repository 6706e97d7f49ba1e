#include "warrant/warrant_index.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

namespace tapvault::warrant {
namespace {

constexpr int64_t kDay = int64_t{86'400} * 1'000'000;

Warrant W(std::string id, std::string liid, int64_t from, int64_t to, int retention_days = 0,
          std::string team = "team-a") {
  Warrant w;
  w.spec.id = std::move(id);
  w.spec.liid = std::move(liid);
  w.spec.valid_from_us = from;
  w.spec.valid_to_us = to;
  w.spec.retention_days = retention_days;
  w.spec.team = std::move(team);
  w.version = 1;
  return w;
}

TEST(WarrantIndexTest, CoveringAtMatchesANaiveScanOnRandomWindows) {
  std::mt19937 rng(20261129);
  SCOPED_TRACE("seed 20261129");
  std::vector<Warrant> ws;
  for (int i = 0; i < 60; ++i) {
    int64_t from = static_cast<int64_t>(rng() % 100);
    int64_t to = from + 1 + static_cast<int64_t>(rng() % 30);
    ws.push_back(W("W-" + std::to_string(100 + i), "L" + std::to_string(rng() % 3), from, to));
  }
  WarrantIndex index(ws, 7);
  EXPECT_EQ(index.generation(), 7u);
  for (const char* liid : {"L0", "L1", "L2", "L3"}) {
    for (int64_t t = -2; t < 140; ++t) {
      const Warrant* best = nullptr;
      for (const Warrant& w : ws) {
        if (w.spec.liid != liid || t < w.spec.valid_from_us || t >= w.spec.valid_to_us) continue;
        if (best == nullptr || w.spec.valid_from_us > best->spec.valid_from_us ||
            (w.spec.valid_from_us == best->spec.valid_from_us && w.spec.id > best->spec.id)) {
          best = &w;
        }
      }
      const Warrant* got = index.CoveringAt(liid, t);
      ASSERT_EQ(best == nullptr, got == nullptr) << liid << " t=" << t;
      if (best != nullptr) {
        EXPECT_EQ(best->spec.id, got->spec.id) << liid << " t=" << t;
      }
    }
  }
}

TEST(WarrantIndexTest, ConcurrentReadersSeeTheSameAnswers) {
  WarrantIndex index({W("W-1", "L", 0, 10), W("W-2", "L", 10, 20)}, 1);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 10'000; ++k) {
        const Warrant* w = index.CoveringAt("L", k % 25);
        bool ok = (k % 25) < 10 ? w != nullptr && w->spec.id == "W-1"
                  : (k % 25) < 20 ? w != nullptr && w->spec.id == "W-2"
                                  : w == nullptr;
        if (!ok) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(CheckAccessTest, TableForInvestigatorAndProsecutor) {
  const int64_t from = 100 * kDay, to = 128 * kDay;
  // retention 10 days on W-1; W-2 (other LIID) uses the default of 30.
  WarrantIndex index({W("W-1", "L", from, to, 10, "team-a"), W("W-2", "M", from, to, 0, "team-b")},
                     1);
  struct Case {
    const char* name;
    std::string liid;
    int64_t comm, now;
    Window window;
    bool allowed;
    std::string_view reason;
  };
  const Case cases[] = {
      {"comm before validity", "L", from - 1, from + kDay, Window::kWhileValid, false,
       kNoWarrantAtCommTime},
      {"comm before validity, prosecutor", "L", from - 1, from + kDay, Window::kUntilRetentionEnds, false,
       kNoWarrantAtCommTime},
      {"comm at from, now during", "L", from, from + kDay, Window::kWhileValid, true, ""},
      {"comm during, now during", "L", from + kDay, to - 1, Window::kWhileValid, true, ""},
      {"comm during, now before from", "L", from + kDay, from - 1, Window::kWhileValid, false,
       kWarrantNotYetValid},
      {"comm at to", "L", to, to - 1, Window::kWhileValid, false, kNoWarrantAtCommTime},
      {"investigator after validity", "L", from + kDay, to, Window::kWhileValid, false,
       kWarrantExpired},
      {"prosecutor after validity, in retention", "L", from + kDay, to, Window::kUntilRetentionEnds, true,
       ""},
      {"prosecutor during", "L", from + kDay, from + 2 * kDay, Window::kUntilRetentionEnds, true, ""},
      {"prosecutor last instant of retention", "L", from + kDay, to + 10 * kDay - 1,
       Window::kUntilRetentionEnds, true, ""},
      {"prosecutor after retention", "L", from + kDay, to + 10 * kDay, Window::kUntilRetentionEnds, false,
       kRetentionOver},
      {"default retention applies", "M", from + kDay, to + 20 * kDay, Window::kUntilRetentionEnds, true, ""},
      {"default retention over", "M", from + kDay, to + 30 * kDay, Window::kUntilRetentionEnds, false,
       kRetentionOver},
      {"unknown liid", "X", from + kDay, from + kDay, Window::kUntilRetentionEnds, false,
       kNoWarrantAtCommTime},
  };
  for (const Case& c : cases) {
    AccessVerdict v = CheckAccess(index, c.liid, c.comm, c.now, c.window, 30);
    EXPECT_EQ(v.allowed, c.allowed) << c.name;
    EXPECT_EQ(v.reason, c.reason) << c.name;
    if (c.reason != kNoWarrantAtCommTime) {
      EXPECT_EQ(v.team, c.liid == "L" ? "team-a" : "team-b") << c.name;
      EXPECT_EQ(v.warrant_id, c.liid == "L" ? "W-1" : "W-2") << c.name;
    } else {
      EXPECT_EQ(v.warrant_id, "") << c.name;
    }
  }
}

}  // namespace
}  // namespace tapvault::warrant
