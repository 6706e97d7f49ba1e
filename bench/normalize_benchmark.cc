// Cost of identity::Normalizer::Readings per party identity, with the fast path (Readings) and
// without it (ReadingsWithoutFastPath: libphonenumber for every number), on the notation corpus
// of src/identity/testdata/notations.tsv:
//   canonical   the corpus' inputs that are already canonical: "+" and digits, or digits with
//               nature international, whose expected reading is exactly that number (what SIP
//               P-Asserted-Identity and ISUP IRI mostly carry);
//   fast_answered  the canonical inputs the fast path answers (the cost of the fast path
//               itself);
//   corpus      every row (name-addrs, tel:, national notations, e-mail, garbage: the full path
//               for most of them, so both variants cost about the same there).
// Each iteration reads the next input of the set, round robin; the counter fast_share is the
// share of the set the fast path answers.
//
//   build/bench/normalize_benchmark --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "identity/identity.h"

namespace {
using namespace tapvault::identity;

struct Input {
  std::string text;
  std::string country;
  Nature nature = Nature::kNotGiven;
  std::string expected;  // the corpus' expected readings
};

Nature ParseNature(const std::string& s) {
  if (s == "unknown") return Nature::kUnknown;
  if (s == "subscriber") return Nature::kSubscriber;
  if (s == "national") return Nature::kNational;
  if (s == "international") return Nature::kInternational;
  if (s == "network-specific") return Nature::kNetworkSpecific;
  if (s == "abbreviated") return Nature::kAbbreviated;
  return Nature::kNotGiven;
}

bool IsDigits(const std::string& s, size_t from) {
  return s.size() > from && s.find_first_not_of("0123456789", from) == std::string::npos;
}

const std::vector<Input>& Corpus() {
  static const std::vector<Input>* corpus = [] {
    auto* out = new std::vector<Input>;
    const char* dir = std::getenv("TAPVAULT_SOURCE_DIR");
    std::string path = dir ? std::string(dir) + "/src/identity/testdata/notations.tsv"
                           : std::string(TAPVAULT_IDENTITY_CORPUS);
    std::ifstream in(path);
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
      if (!line.empty() && line[0] == '#') continue;
      if (header) {
        header = false;
        continue;
      }
      size_t t1 = line.find('\t');
      size_t t2 = line.find('\t', t1 + 1);
      size_t t3 = line.find('\t', t2 + 1);
      if (t1 == std::string::npos || t2 == std::string::npos || t3 == std::string::npos) continue;
      out->push_back(Input{line.substr(0, t1), line.substr(t2 + 1, t3 - t2 - 1),
                           ParseNature(line.substr(t1 + 1, t2 - t1 - 1)), line.substr(t3 + 1)});
    }
    if (out->empty()) std::abort();  // corpus not found: run from the build dir or set the env
    return out;
  }();
  return *corpus;
}

const std::vector<Input>& Canonical() {
  static const std::vector<Input>* canonical = [] {
    auto* out = new std::vector<Input>;
    for (const Input& in : Corpus()) {
      bool plus = !in.text.empty() && in.text[0] == '+' && IsDigits(in.text, 1);
      bool international = in.nature == Nature::kInternational && IsDigits(in.text, 0);
      std::string e164 = plus ? in.text : "+" + in.text;
      if ((plus || international) && in.expected == e164) out->push_back(in);
    }
    return out;
  }();
  return *canonical;
}

const Normalizer& Norm() {
  static const Normalizer* norm = new Normalizer("NL");
  return *norm;
}

template <bool kFast>
void Run(benchmark::State& state, const std::vector<Input>& inputs) {
  const Normalizer& norm = Norm();
  size_t i = 0;
  size_t readings = 0;
  for (auto _ : state) {
    const Input& in = inputs[i];
    Context ctx{.country = in.country, .nature = in.nature};
    std::vector<Reading> r =
        kFast ? norm.Readings(in.text, ctx) : norm.ReadingsWithoutFastPath(in.text, ctx);
    readings += r.size();
    benchmark::DoNotOptimize(r);
    if (++i == inputs.size()) i = 0;
  }
  size_t fast = 0;
  for (const Input& in : inputs) {
    fast += norm.TakesFastPathForTest(in.text, {.country = in.country, .nature = in.nature});
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["inputs"] = static_cast<double>(inputs.size());
  state.counters["fast_share"] = static_cast<double>(fast) / static_cast<double>(inputs.size());
  state.counters["readings_per_input"] =
      static_cast<double>(readings) / static_cast<double>(state.iterations());
}

// The canonical inputs the fast path answers (the others: calling codes whose national prefix
// libphonenumber may strip at that first digit).
const std::vector<Input>& FastAnswered() {
  static const std::vector<Input>* answered = [] {
    auto* out = new std::vector<Input>;
    for (const Input& in : Canonical()) {
      if (Norm().TakesFastPathForTest(in.text, {.country = in.country, .nature = in.nature})) {
        out->push_back(in);
      }
    }
    return out;
  }();
  return *answered;
}

void BM_Canonical_FastPath(benchmark::State& state) { Run<true>(state, Canonical()); }
void BM_Canonical_Libphonenumber(benchmark::State& state) { Run<false>(state, Canonical()); }
void BM_FastAnswered_FastPath(benchmark::State& state) { Run<true>(state, FastAnswered()); }
void BM_FastAnswered_Libphonenumber(benchmark::State& state) { Run<false>(state, FastAnswered()); }
void BM_Corpus_FastPath(benchmark::State& state) { Run<true>(state, Corpus()); }
void BM_Corpus_Libphonenumber(benchmark::State& state) { Run<false>(state, Corpus()); }

BENCHMARK(BM_Canonical_FastPath);
BENCHMARK(BM_Canonical_Libphonenumber);
BENCHMARK(BM_FastAnswered_FastPath);
BENCHMARK(BM_FastAnswered_Libphonenumber);
BENCHMARK(BM_Corpus_FastPath);
BENCHMARK(BM_Corpus_Libphonenumber);

}  // namespace

BENCHMARK_MAIN();
