// Audit log append rate (audit::AuditLog::Append is on the path of every read: each returns only
// once its entry is fdatasync'ed), alone and with concurrent appenders sharing one fdatasync
// (group commit); the raw pwrite+fdatasync rate of the same disk as the baseline; and the scan
// rate of a query over the whole log.
//
//   build/bench/audit_benchmark [--benchmark_filter=Append]
//   TAPVAULT_BENCH_DIR=/mnt/x build/bench/audit_benchmark   (default: $TMPDIR or /tmp)
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "benchmark/benchmark.h"

namespace tapvault::audit {
namespace {

std::string BenchDir() {
  const char* base = std::getenv("TAPVAULT_BENCH_DIR");
  std::string tmpl = std::string(base ? base : std::filesystem::temp_directory_path().c_str()) +
                     "/audit_bench_XXXXXX";
  return ::mkdtemp(tmpl.data());
}

// About the size of a real entry: ~180 bytes encoded.
Event ReadEvent(int64_t i) {
  return Event{0,
               "investigator" + std::to_string(i % 7),
               "investigator",
               "read_content",
               "comm:" + std::to_string(1000 + i % 500),
               "ok",
               {{"liid", "NL-OM-2027-0042"}, {"records", 12}, {"via", "web"}}};
}

struct Shared {
  std::string dir;
  crypto::Ed25519Signer key = crypto::Ed25519Signer::Generate();
  std::unique_ptr<AuditLog> log;
};
Shared* shared = nullptr;

void BM_AuditAppend(benchmark::State& state) {
  if (state.thread_index() == 0) {
    shared = new Shared;
    shared->dir = BenchDir();
    // Arg: the background checkpoint interval (the product's default is 1000 ms; 0 = none).
    shared->log = std::move(AuditLog::Open({.dir = shared->dir,
                                            .signer = &shared->key,
                                            .origin = "bench.example/audit",
                                            .checkpoint_interval_ms = state.range(0)},
                                           true)
                                .value());
  }
  int64_t i = state.thread_index() * 1'000'000;
  for (auto _ : state) {
    auto r = shared->log->Append(ReadEvent(i++));
    if (!r.ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    shared->log.reset();  // its last checkpoint is written before the directory goes
    std::filesystem::remove_all(shared->dir);
    delete shared;
    shared = nullptr;
  }
}
BENCHMARK(BM_AuditAppend)
    ->ArgName("checkpoint_ms")
    ->Arg(1000)
    ->Arg(0)
    ->UseRealTime()
    ->Threads(1)
    ->Threads(4)
    ->Threads(16);

// The disk's own rate for one durable small write at a time.
void BM_RawPwriteFdatasync(benchmark::State& state) {
  const std::string dir = BenchDir();
  const std::string path = dir + "/raw";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  std::string rec(200, 'x');
  off_t off = 0;
  for (auto _ : state) {
    if (::pwrite(fd, rec.data(), rec.size(), off) != static_cast<ssize_t>(rec.size()) ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("write failed");
    }
    off += static_cast<off_t>(rec.size());
  }
  state.SetItemsProcessed(state.iterations());
  ::close(fd);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_RawPwriteFdatasync)->UseRealTime();

// Query cost per entry scanned: a whole-log scan for one communication (1 in 500 matches).
void BM_AuditQueryScan(benchmark::State& state) {
  const std::string dir = BenchDir();
  auto key = crypto::Ed25519Signer::Generate();
  {
    auto log = AuditLog::Open({.dir = dir, .signer = &key, .checkpoint_interval_ms = 0}, true);
    // Filled from 32 threads, so that group commit fills it in a few seconds.
    std::vector<std::thread> pool;
    for (int t = 0; t < 32; ++t) {
      pool.emplace_back([&, t] {
        for (int64_t i = t; i < state.range(0); i += 32) (void)(*log)->Append(ReadEvent(i));
      });
    }
    for (auto& th : pool) th.join();
  }
  auto log = AuditLog::Open({.dir = dir}, false).value();
  for (auto _ : state) {
    auto r = log->Query({.object = "comm:1042", .limit = 0});
    if (!r.ok() || r->empty()) state.SkipWithError("query failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AuditQueryScan)->Arg(100'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tapvault::audit

BENCHMARK_MAIN();
