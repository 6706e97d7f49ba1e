// Decision latency of the privileged-party filter per new communication, with a list of one
// million entries (numbers, prefixes, ranges, URIs, e-mail addresses): Filter::Screen as the
// store's writer calls it, for a communication with the parties a SIP call or a PSTN call
// carries (numbers in several notations, SIP name-addrs). Reports p50 and p99 besides the mean.
//
//   build/bench/filter_benchmark --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "base/time.h"
#include "filter/filter.h"

namespace {

namespace fs = std::filesystem;
using tapvault::filter::Filter;
using tapvault::store::PartyRow;
using tapvault::store::ScreenRequest;

constexpr size_t kEntries = 1'000'000;

// A list of kEntries: mostly Dutch numbers (fixed and mobile), some prefixes, ranges, URIs and
// e-mail addresses, as a bar association delivers them.
std::string MakeList() {
  std::string csv = "identity,type,source,valid_from,valid_to,ref\n";
  csv.reserve(kEntries * 32);
  std::mt19937_64 rng(42);
  for (size_t i = 0; i < kEntries; ++i) {
    const uint64_t n = rng() % 100000000;
    char buf[64];
    switch (i % 20) {
      case 0: std::snprintf(buf, sizeof buf, "+3120%07llu*,prefix,,,,\n", static_cast<unsigned long long>(n % 10000000)); break;
      case 1: std::snprintf(buf, sizeof buf, "+3130%07llu..+3130%07llu,range,,,,\n",
                            static_cast<unsigned long long>(n % 9999000), static_cast<unsigned long long>(n % 9999000 + 99)); break;
      case 2: std::snprintf(buf, sizeof buf, "sip:adv%llu@law.example,uri,,,,\n", static_cast<unsigned long long>(n)); break;
      case 3: std::snprintf(buf, sizeof buf, "adv%llu@law.example,email,,,,\n", static_cast<unsigned long long>(n)); break;
      case 4: case 5: case 6: case 7: std::snprintf(buf, sizeof buf, "+316%08llu,number,,,,\n", static_cast<unsigned long long>(n)); break;
      default: std::snprintf(buf, sizeof buf, "+31%02llu%07llu,number,,,,\n",
                             static_cast<unsigned long long>(10 + n % 89), static_cast<unsigned long long>(n % 10000000)); break;
    }
    csv += buf;
  }
  return csv;
}

struct Fixture {
  std::string dir;
  std::unique_ptr<Filter> filter;
  double import_s = 0, load_s = 0;
};

Fixture& Shared() {
  static Fixture* fx = [] {
    auto* f = new Fixture;
    f->dir = (fs::temp_directory_path() / ("tapvault_filter_bench_" + std::to_string(::getpid()))).string();
    fs::remove_all(f->dir);
    fs::create_directories(f->dir);
    auto opened = Filter::Open({.dir = f->dir});
    if (!opened.ok()) std::abort();
    f->filter = std::move(*opened);
    const std::string csv = MakeList();
    auto t0 = std::chrono::steady_clock::now();
    auto r = f->filter->lists().Import(csv, {.source = "bench", .imported_by = "bench",
                                             .now_us = tapvault::base::Now().unix_us},
                                       f->filter->normalizer());
    if (!r.ok()) std::abort();
    auto t1 = std::chrono::steady_clock::now();
    if (!f->filter->Refresh().ok()) std::abort();
    auto t2 = std::chrono::steady_clock::now();
    f->import_s = std::chrono::duration<double>(t1 - t0).count();
    f->load_s = std::chrono::duration<double>(t2 - t1).count();
    return f;
  }();
  return *fx;
}

// The parties of one call: a SIP call (7 identities from the headers) or a PSTN call (3 numbers).
std::vector<ScreenRequest> Requests(size_t n) {
  std::mt19937_64 rng(7);
  std::vector<ScreenRequest> out;
  for (size_t i = 0; i < n; ++i) {
    ScreenRequest r;
    r.comm_id = i + 1;
    r.liid = "L";
    r.country = "NL";
    r.start_us = tapvault::base::Now().unix_us;
    const std::string a = std::to_string(600000000 + rng() % 100000000);
    const std::string b = std::to_string(200000000 + rng() % 100000000);
    if (i % 2 == 0) {
      r.parties = {{"sip-request-uri", "sip:+31" + b + "@ims.telco.nl;user=phone", ""},
                   {"sip-from", "\"Target\" <sip:+31" + a + "@ims.telco.nl>;tag=a1", ""},
                   {"sip-to", "<sip:+31" + b + "@ims.telco.nl>", ""},
                   {"sip-p-asserted-identity", "<tel:+31" + a + ">", ""},
                   {"sip-contact", "<sip:+31" + a + "@10.0.0.1:5060>", ""},
                   {"sip-history-info", "<sip:0" + b + "@ims.telco.nl;user=phone>;index=1", ""},
                   {"sip-diversion", "<tel:0" + b + ">;reason=unconditional", ""}};
    } else {
      r.parties = {{"originating", "31" + a, "international"},
                   {"terminating", b, "national"},
                   {"forwarded-to", "0" + b, ""}};
    }
    out.push_back(std::move(r));
  }
  return out;
}

void BM_DecisionPerCommunication(benchmark::State& state) {
  Fixture& fx = Shared();
  const std::vector<ScreenRequest> requests = Requests(4096);
  std::vector<double> ns;
  ns.reserve(1 << 20);
  size_t i = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto d = fx.filter->Screen(requests[i++ % requests.size()]);
    const auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(d);
    if (ns.size() < ns.capacity()) ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
  }
  std::sort(ns.begin(), ns.end());
  state.counters["p50_us"] = ns[ns.size() / 2] / 1000;
  state.counters["p99_us"] = ns[ns.size() * 99 / 100] / 1000;
  state.counters["list_entries"] = static_cast<double>(fx.filter->state().entries);
  state.counters["import_1M_s"] = fx.import_s;
  state.counters["load_1M_s"] = fx.load_s;
}
BENCHMARK(BM_DecisionPerCommunication);

}  // namespace

BENCHMARK_MAIN();
