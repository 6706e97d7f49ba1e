// Privileged-party list at the scale (≥ 1 million entries): parsing and importing a daily
// complete list, loading the matcher of the version in force, and one lookup per party.
//
//   build/bench/privileged_benchmark --benchmark_filter=Lookup
//
// Lists are generated: numbers +316 followed by 8 digits (distinct), optionally with every 100th
// row a prefix and every 1000th a range, as a bar-association list mixes them.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/strings.h"
#include "identity/identity.h"
#include "privileged/list_csv.h"
#include "privileged/list_store.h"
#include "privileged/matcher.h"

namespace tapvault::privileged {
namespace {

constexpr int64_t kNow = 1'767'225'600'000'000;

const identity::Normalizer& Norm() {
  static const identity::Normalizer* n = new identity::Normalizer("NL");
  return *n;
}

// Listed mobile numbers are kStride apart, so that numbers that are not listed fall between
// listed ones everywhere in the index (as real misses do), not all past its end.
constexpr int kStride = 89;

// `count` distinct numbers starting at `first`; with `mixed`, prefixes and ranges too.
std::string List(int first, int count, bool mixed) {
  std::string csv = "identity,type,source,valid_from,valid_to,ref\n";
  csv.reserve(static_cast<size_t>(count) * 20);
  for (int i = first; i < first + count; ++i) {
    if (mixed && i % 1000 == 999) {
      csv += base::StrCat("+3170", 1'000'000 + i, "00..+3170", 1'000'000 + i, "99,,,,,\n");
    } else if (mixed && i % 100 == 99) {
      csv += base::StrCat("+3180", 1'000'000 + i, "*,,,,,\n");
    } else {
      csv += base::StrCat("+316", 10'000'000 + i * kStride, ",,,,,\n");
    }
  }
  return csv;
}

std::vector<std::string>& KeptDirs() {  // removed when the benchmarks are done
  static auto* dirs = new std::vector<std::string>;
  return *dirs;
}

std::string TempDir() {
  char tmpl[] = "/tmp/privileged_bench_XXXXXX";
  return ::mkdtemp(tmpl);
}

void BM_ParseListCsv(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::string csv = List(0, n, true);
  for (auto _ : state) {
    auto r = ParseListCsv(
        csv, {.default_source = "NOvA", .threads = static_cast<size_t>(state.range(1))}, Norm(),
        nullptr);
    if (!r.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(csv.size()));
}
BENCHMARK(BM_ParseListCsv)
    ->Args({1'000'000, 1})
    ->Args({1'000'000, 2})
    ->ArgNames({"entries", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

// First import (every entry new) and the next day's import (0.1% changed: cost of the diff).
void BM_Import(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const bool next_day = state.range(1) != 0;
  std::string first = List(0, n, true);
  std::string second = List(n / 1000, n, true);
  for (auto _ : state) {
    state.PauseTiming();
    std::string dir = TempDir();
    auto store = ListStore::Open(dir + "/privileged.db", true);
    if (!store.ok()) state.SkipWithError("open failed");
    if (next_day) {
      (void)(*store)->Import(first, {.imported_by = "bench", .now_us = kNow}, Norm());
    }
    state.ResumeTiming();
    auto r = (*store)->Import(next_day ? second : first,
                              {.imported_by = "bench", .now_us = kNow + 1}, Norm());
    if (!r.ok() || r->version.status != "active") state.SkipWithError("import failed");
    state.PauseTiming();
    store->reset();  // checkpoints the WAL into the database file
    std::error_code ec;
    state.counters["db_MiB"] =
        static_cast<double>(std::filesystem::file_size(dir + "/privileged.db", ec)) / (1 << 20);
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Import)
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1})
    ->ArgNames({"entries", "next_day"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

struct Loaded {
  std::string dir;
  std::unique_ptr<ListStore> store;
  uint64_t version = 0;
};

Loaded& MillionStore() {
  static Loaded* l = [] {
    auto* l = new Loaded;
    l->dir = TempDir();
    KeptDirs().push_back(l->dir);
    l->store = *ListStore::Open(l->dir + "/privileged.db", true);
    l->version = (*l->store->Import(List(0, 1'000'000, true),
                                    {.imported_by = "bench", .now_us = kNow}, Norm()))
                     .version.id;
    return l;
  }();
  return *l;
}

void BM_LoadMatcher(benchmark::State& state) {
  Loaded& l = MillionStore();
  size_t bytes = 0;
  for (auto _ : state) {
    auto m = l.store->LoadMatcher(l.version);
    if (!m.ok()) state.SkipWithError("load failed");
    bytes = (*m)->MemoryBytes();
    benchmark::DoNotOptimize(m);
  }
  state.counters["matcher_MiB"] = static_cast<double>(bytes) / (1 << 20);
  state.SetItemsProcessed(state.iterations() * 1'000'000);
}
BENCHMARK(BM_LoadMatcher)->Unit(benchmark::kMillisecond);

// What the server polls every 200 ms to notice a new version.
void BM_ActiveVersionId(benchmark::State& state) {
  Loaded& l = MillionStore();
  for (auto _ : state) {
    auto id = l.store->ActiveVersionId();
    if (!id.ok() || *id != l.version) state.SkipWithError("wrong version");
  }
}
BENCHMARK(BM_ActiveVersionId);

// One party (its readings already computed) against the million-entry list: hits (listed
// numbers with 0..3 extra digits) and misses, in random order so that caches do not flatter.
void BM_Lookup(benchmark::State& state) {
  static std::unique_ptr<Matcher> m = *MillionStore().store->LoadMatcher(MillionStore().version);
  const bool hit = state.range(0) != 0;
  std::mt19937 rng(42);
  std::vector<std::vector<identity::Reading>> parties;
  for (int i = 0; i < 1 << 16; ++i) {
    int k = static_cast<int>(rng() % 1'000'000);
    if (k % 100 == 99) k -= 1;  // a plain number
    std::string n = base::StrCat(
        "+316", 10'000'000 + k * kStride + (hit ? 0 : 1 + static_cast<int>(rng() % (kStride - 1))));
    for (unsigned extra = rng() % 4; extra > 0; --extra) n.push_back('5');
    parties.push_back({{identity::Reading::Kind::kNumber, n}});
  }
  size_t i = 0, found = 0;
  for (auto _ : state) {
    found += m->MatchReadings(parties[i++ & 0xFFFF], kNow).has_value();
  }
  if (static_cast<int64_t>(found) != (hit ? state.iterations() : 0))
    state.SkipWithError("wrong answers");
  state.counters["matcher_MiB"] = static_cast<double>(m->MemoryBytes()) / (1 << 20);
}
BENCHMARK(BM_Lookup)->Arg(1)->Arg(0)->ArgName("hit");

// The whole per-party cost: normalising a raw identity, then the lookup.
void BM_ReadingsAndLookup(benchmark::State& state) {
  static std::unique_ptr<Matcher> m = *MillionStore().store->LoadMatcher(MillionStore().version);
  std::vector<std::string> raw = {"+31610000890", "0610000890", "tel:+31-6-1000-0890",
                                  "\"Mr X\" <sip:+31610000890@ims.example;user=phone>;tag=1"};
  const std::string& party = raw[static_cast<size_t>(state.range(0))];
  for (auto _ : state) {
    auto readings = Norm().Readings(party, {.country = "NL"});
    if (!m->MatchReadings(readings, kNow)) state.SkipWithError("no match");
  }
  state.SetLabel(party);
}
BENCHMARK(BM_ReadingsAndLookup)->DenseRange(0, 3);

}  // namespace
}  // namespace tapvault::privileged

int main(int argc, char** argv) {
  tapvault::base::SetMinLogLevel(tapvault::base::LogLevel::kWarn);  // one line per import
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (const std::string& dir : tapvault::privileged::KeptDirs()) std::filesystem::remove_all(dir);
  return 0;
}
