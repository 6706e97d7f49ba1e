// Crash safety of the cold store, end to end: `tapvault serve` is killed with SIGKILL at random
// moments while `tapvault feed` streams PDUs into it with acknowledgement requests, then
// restarted on the same store. After every kill: recovery succeeds (cutting torn tails and
// recording that it did), every PDU that serve had acknowledged as durable (feed's acked log) is
// in the store, `tapvault verify` finds the store intact, and the restarted serve takes new data.
//
// The RNG seed is printed; TAPVAULT_CRASH_SEED=<n> replays a run's kill points (timing-dependent
// races aside), TAPVAULT_CRASH_ITERATIONS=<n> changes the number of kills (default 50).
#include <cinttypes>
#include <cstdio>
#include <map>
#include <random>

#include "gtest/gtest.h"
#include "harness.h"
#include "store_keys.h"
#include "proto/record/record.h"
#include "store/catalog.h"
#include "store/store.h"

namespace {

using namespace tapvault::itest;
namespace store = tapvault::store;

// A one-warrant scenario: one SIP call of `packets` RTP packets each way, under `liid`.
void WriteScenario(const fs::path& file, const std::string& liid, int packets, int caller) {
  std::ofstream out(file);
  out << "[scenario]\nname = \"" << liid << "\"\nstart = \"2026-03-01T10:00:00Z\"\n"
      << "operator_id = \"CRASHOP\"\nnetwork_element = \"med-crash\"\n\n"
      << "[[warrant]]\nliid = \"" << liid << "\"\n\n"
      << "[[event]]\ntype = \"sip-call\"\nliid = \"" << liid << "\"\n"
      << "caller = \"+3161" << 1000000 + caller << "\"\ncallee = \"+31201111111\"\n"
      << "packets = " << packets << "\ngap_s = 0.0\n";
}

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

class StoreCrash : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = TempPath("tv_crash_");
    data_ = work_ / "data";
    fs::create_directories(work_);
  }
  void TearDown() override {
    serve_.reset();
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(work_, ec);
    else std::printf("store kept for inspection: %s\n", data_.c_str());
  }

  // Starts serve on the store; recovery runs before the ready line.
  void StartServe() {
    serve_ = std::make_unique<Child>(std::vector<std::string>{
        "serve", "--data", data_.string(), "--hi2", "127.0.0.1:0", "--hi3", "127.0.0.1:0",
        "--metrics", "127.0.0.1:0"});
    ready_ = serve_->WaitReady(30000);
    ASSERT_TRUE(ready_.is_object()) << "serve did not come up: " << serve_->Stderr();
  }

  std::vector<std::string> FeedArgs(const fs::path& scenario, const fs::path& acked_log) {
    return {"feed",          "--scenario",       scenario.string(), "--hi2",
            ready_["hi2"],   "--hi3",            ready_["hi3"],     "--acked-log",
            acked_log.string(), "--ack-timeout-ms", "5000",         "--connect-timeout-ms",
            "2000"};
  }

  fs::path work_, data_;
  std::unique_ptr<Child> serve_;
  nlohmann::json ready_;
};

TEST_F(StoreCrash, KillNineDuringIngestLosesNothingAcknowledged) {
  const int iterations = EnvInt("TAPVAULT_CRASH_ITERATIONS", 50);
  const uint64_t seed = std::getenv("TAPVAULT_CRASH_SEED") != nullptr
                            ? std::strtoull(std::getenv("TAPVAULT_CRASH_SEED"), nullptr, 10)
                            : std::random_device{}();
  std::printf("store_crash_test: seed %" PRIu64 " (TAPVAULT_CRASH_SEED=%" PRIu64
              " replays), %d iterations\n",
              seed, seed, iterations);
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  RunResult init = RunTapvault({"init", "--data", data_.string()});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ASSERT_NO_FATAL_FAILURE(StartServe());

  const auto started = Clock::now();
  int torn_tails = 0, orphans = 0, cut_feeds = 0, unacked_in_store = 0, with_acks = 0,
      verified = 0, double_kills = 0;
  double restart_s = 0;
  uint64_t acked_total = 0, stored_total = 0;
  for (int i = 0; i < iterations; ++i) {
    SCOPED_TRACE("iteration " + std::to_string(i) + " (seed " + std::to_string(seed) + ")");
    const std::string liid = "CRASH-" + std::to_string(i);
    const fs::path scenario = work_ / ("s" + std::to_string(i) + ".toml");
    const fs::path acked_log = work_ / ("acked" + std::to_string(i) + ".log");
    const int packets = uniform(100, 400);
    const int connections = uniform(1, 2);
    // Paced (the kill lands mid-stream) or unpaced (the writer's batches are large).
    const bool unpaced = uniform(0, 3) == 0;
    WriteScenario(scenario, liid, packets, i);
    std::vector<std::string> args = FeedArgs(scenario, acked_log);
    args.insert(args.end(), {"--ack-every", std::to_string(uniform(3, 7)), "--connections",
                             std::to_string(connections), "--rate",
                             unpaced ? "0" : std::to_string(uniform(1500, 5000)), "--repeat",
                             std::to_string(unpaced ? 3 : 1)});
    Child feed(args);
    // Mostly mid-stream, a random time after the first acknowledgement; some right at the start
    // (before or during the option negotiation).
    const bool early = uniform(0, 5) == 0;
    const int delay_ms = early ? uniform(0, 30) : uniform(0, 150);
    if (!early) {
      WaitUntil([&] { return fs::exists(acked_log) && fs::file_size(acked_log) > 0; }, 10000);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    serve_->Kill(SIGKILL);
    ASSERT_EQ(serve_->Wait(10000), 128 + SIGKILL);
    const int feed_rc = feed.Wait(30000);
    ASSERT_NE(feed_rc, -1) << "feed hangs after serve died";
    if (feed_rc != 0) ++cut_feeds;

    // Restart: recovery runs before the ready line.
    const auto restart = Clock::now();
    ASSERT_NO_FATAL_FAILURE(StartServe());
    restart_s += std::chrono::duration<double>(Clock::now() - restart).count();
    // Sometimes a second crash right after the recovery, before or while its record commits:
    // recovery must be idempotent and what it did must still be on record.
    if (uniform(0, 4) == 0) {
      serve_->Kill(SIGKILL);
      ASSERT_EQ(serve_->Wait(10000), 128 + SIGKILL);
      const std::string first = serve_->Stderr();
      torn_tails += static_cast<int>(CountOf(first, "torn_tail_cut"));
      orphans += static_cast<int>(CountOf(first, "orphan_segment_removed"));
      ++double_kills;
      ASSERT_NO_FATAL_FAILURE(StartServe());
    }
    const std::string log = serve_->Stderr();
    torn_tails += static_cast<int>(CountOf(log, "torn_tail_cut"));
    orphans += static_cast<int>(CountOf(log, "orphan_segment_removed"));

    // Nothing acknowledged is lost.
    std::string error;
    std::map<std::string, int> stored = StoredKeys(data_, liid, &error);
    ASSERT_TRUE(error.empty()) << error;
    std::vector<std::string> acked = Lines(acked_log);
    int missing = 0;
    for (const std::string& line : acked) {
      if (stored.count(line) == 0) {
        if (++missing <= 5) ADD_FAILURE() << "acknowledged but not stored: " << line;
      }
    }
    ASSERT_EQ(missing, 0) << missing << " of " << acked.size()
                          << " acknowledged PDUs lost (feed exit " << feed_rc << ", killed after "
                          << delay_ms << " ms)";
    size_t stored_count = 0;
    for (const auto& [k, n] : stored) stored_count += n;
    acked_total += acked.size();
    stored_total += stored_count;
    if (!acked.empty()) ++with_acks;
    if (feed_rc != 0 && stored_count > acked.size()) ++unacked_in_store;

    // And the restarted server takes data again, acknowledging all of it.
    const fs::path probe = work_ / ("probe" + std::to_string(i) + ".toml");
    const fs::path probe_log = work_ / ("probe" + std::to_string(i) + ".log");
    WriteScenario(probe, "PROBE-" + std::to_string(i), 2, i);
    std::vector<std::string> pargs = FeedArgs(probe, probe_log);
    pargs.insert(pargs.end(), {"--ack-every", "1"});
    RunResult p = RunTapvault(pargs);
    ASSERT_EQ(p.exit_code, 0) << p.err << serve_->Stderr();
    auto summary = nlohmann::json::parse(LastLine(p.out), nullptr, false);
    ASSERT_TRUE(summary.is_object()) << p.out;
    EXPECT_EQ(summary["pdus_acked"], 11) << p.out;  // 7 IRI + 2 x 2 CC, all acknowledged
    EXPECT_EQ(Lines(probe_log).size(), 11u);
    // The store is intact after the recovery (every 5th and the last). After the probe (which
    // also made the recovery's own record durable) serve is idle; verify waits for the checkpoint
    // of that size, up to a second.
    if (i % 5 == 4 || i == iterations - 1) {
      ASSERT_TRUE(WaitCheckpointed(data_, 5000));
      RunResult v = RunTapvault({"verify", "--data", data_.string()});
      EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
      if (v.exit_code == 0) ++verified;
    }

    if (HasFatalFailure()) return;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf(
      "store_crash_test: %d kills in %.1f s: torn tails cut %d, orphan segments removed %d, "
      "feeds cut %d, iterations with unacknowledged records in the store %d, with acks %d, "
      "acked %" PRIu64 " / stored %" PRIu64 " PDUs, verify intact %d, restarts took %.1f s, second kills right after a recovery %d\n",
      iterations, seconds, torn_tails, orphans, cut_feeds, unacked_in_store, with_acks,
      acked_total, stored_total, verified, restart_s, double_kills);

  // Not vacuous: most kills hit a stream in flight, with records received but not yet
  // acknowledged, and many iterations had acknowledgements to check.
  EXPECT_GE(cut_feeds, iterations / 2);
  EXPECT_GE(unacked_in_store, iterations / 4);
  EXPECT_GE(with_acks, iterations / 2);

  // The recoveries are on record in the catalog, as many torn-tail events as logged.
  auto reader = store::ContentReader::Open(data_.string());
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto events = (*reader)->catalog().Events();
  ASSERT_TRUE(events.ok()) << events.status();
  int torn_events = 0;
  for (const store::EventRow& e : *events) torn_events += e.kind == "torn_tail_cut";
  EXPECT_EQ(torn_events, torn_tails);

  // A clean stop after all that, and the store is still intact.
  serve_->Kill(SIGTERM);
  EXPECT_EQ(serve_->Wait(20000), 0) << serve_->Stderr();
  RunResult v = RunTapvault({"verify", "--data", data_.string()});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

}  // namespace
