// asn1c baseline: decode throughput and allocations of the asn1c-generated BER decoder (Debian
// asn1c 0.9.28, reduced LI-PS-PDU + IPMultimediaPDU modules in this folder) against ours
// (proto::li_ps::DecodePsPdu), on the same real PDUs as bench/decode_benchmark.cc (RTP CC and
// SIP IRI from the OpenLI captures), in one run so the ratio is not skewed by machine load.
//
//   build/bench/asn1c/asn1c_benchmark --benchmark_counters_tabular=true
//
// Counters: ns_per_pdu, mallocs_per_pdu (malloc/calloc/new blocks per decode, incl. frees'
// counterparts), alloc_bytes_per_pdu, errors (decodes that failed; must be 0).
// Variants:
//   Asn1cFresh       ber_decode into a new structure, ASN_STRUCT_FREE: what a receiver does.
//   Asn1cReuseTop    top-level PS_PDU_t reused (FREE_CONTENTS_ONLY + memset): asn1c cannot
//                    reuse the nested members, they are freed and re-allocated each time.
//   Asn1cConstraints Asn1cFresh + asn_check_constraints (ber_decode does not check SIZE/ranges).
//   OursReuse        DecodePsPdu into one PsPdu reused across PDUs (how ingest/ uses it).
//   OursFresh        DecodePsPdu into a new PsPdu per PDU.
//   SipExtractOnly   only sip::ExtractParties (libosip2) over the SIP messages: part of Ours on
//                    SIP IRI, absent from asn1c, which leaves the SIP message as bytes.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "PS-PDU.h"
#include "corpus.h"
#include "malloc_counter.h"
#include "proto/li_ps/decode.h"
#include "sip/party_extractor.h"

namespace {
using namespace tapvault;
using asn1c_bench::Pdu;

// Measures one variant: `decode(pdu)` returns false on a decode error.
template <typename F>
void Run(benchmark::State& state, const std::vector<Pdu>& pdus, F decode) {
  if (pdus.empty()) {
    state.SkipWithError("no PDUs (capture missing?)");
    return;
  }
  size_t bytes = 0;
  for (auto& p : pdus) bytes += p.size();
  uint64_t errors = 0;
  const asn1c_bench::AllocStats before = asn1c_bench::MallocStats();
  for (auto _ : state) {
    for (auto& p : pdus) {
      if (!decode(p)) ++errors;
    }
  }
  const asn1c_bench::AllocStats after = asn1c_bench::MallocStats();
  const double n = double(state.iterations()) * double(pdus.size());
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.SetBytesProcessed(static_cast<int64_t>(double(state.iterations()) * double(bytes)));
  state.counters["avg_pdu_bytes"] = double(bytes) / double(pdus.size());
  state.counters["ns_per_pdu"] =
      benchmark::Counter(n * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  if (asn1c_bench::MallocCounterEnabled()) {
    state.counters["mallocs_per_pdu"] = double(after.allocs - before.allocs) / n;
    state.counters["alloc_bytes_per_pdu"] = double(after.bytes - before.bytes) / n;
  }
  state.counters["errors"] = double(errors);
}

bool Asn1cFreshOne(const Pdu& p) {
  PS_PDU_t* out = nullptr;
  asn_dec_rval_t rv = ber_decode(nullptr, &asn_DEF_PS_PDU, reinterpret_cast<void**>(&out),
                                 p.data(), p.size());
  benchmark::DoNotOptimize(out);
  const bool ok = rv.code == RC_OK && rv.consumed == p.size();
  ASN_STRUCT_FREE(asn_DEF_PS_PDU, out);
  return ok;
}

void Asn1cFresh(benchmark::State& state, const std::vector<Pdu>& pdus) {
  Run(state, pdus, Asn1cFreshOne);
}

void Asn1cReuseTop(benchmark::State& state, const std::vector<Pdu>& pdus) {
  PS_PDU_t top;
  std::memset(&top, 0, sizeof(top));
  Run(state, pdus, [&top](const Pdu& p) {
    void* out = &top;
    asn_dec_rval_t rv = ber_decode(nullptr, &asn_DEF_PS_PDU, &out, p.data(), p.size());
    benchmark::DoNotOptimize(out);
    ASN_STRUCT_FREE_CONTENTS_ONLY(asn_DEF_PS_PDU, &top);
    std::memset(&top, 0, sizeof(top));
    return rv.code == RC_OK && rv.consumed == p.size();
  });
}

void Asn1cConstraints(benchmark::State& state, const std::vector<Pdu>& pdus) {
  Run(state, pdus, [](const Pdu& p) {
    PS_PDU_t* out = nullptr;
    asn_dec_rval_t rv = ber_decode(nullptr, &asn_DEF_PS_PDU, reinterpret_cast<void**>(&out),
                                   p.data(), p.size());
    bool ok = rv.code == RC_OK && rv.consumed == p.size();
    if (ok) {
      char err[128];
      size_t len = sizeof(err);
      ok = asn_check_constraints(&asn_DEF_PS_PDU, out, err, &len) == 0;
    }
    ASN_STRUCT_FREE(asn_DEF_PS_PDU, out);
    return ok;
  });
}

void OursReuse(benchmark::State& state, const std::vector<Pdu>& pdus) {
  proto::PsPdu pdu;
  Run(state, pdus, [&pdu](const Pdu& p) {
    absl::Status s = proto::li_ps::DecodePsPdu(p, pdu);
    benchmark::DoNotOptimize(pdu.items.data());
    return s.ok();
  });
}

void OursFresh(benchmark::State& state, const std::vector<Pdu>& pdus) {
  Run(state, pdus, [](const Pdu& p) {
    proto::PsPdu pdu;
    absl::Status s = proto::li_ps::DecodePsPdu(p, pdu);
    benchmark::DoNotOptimize(pdu.items.data());
    return s.ok();
  });
}

// The SIP messages of the SIP IRI PDUs (taken with asn1c, so independent of our decoder).
const std::vector<std::string>& SipMessages() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> out;
    for (const Pdu& p : asn1c_bench::SipPdus()) {
      PS_PDU_t* d = nullptr;
      asn1c_bench::DecodeAsn1c(p.data(), p.size(), &d);
      if (d) out.push_back(asn1c_bench::SummarizeAsn1c(*d).content);
      asn1c_bench::FreeAsn1c(d);
    }
    return out;
  }();
  return v;
}

void SipExtractOnly(benchmark::State& state) {
  const auto& msgs = SipMessages();
  std::vector<Pdu> sizes;  // for Run's byte accounting only
  for (const auto& m : msgs) sizes.emplace_back(m.size());
  size_t i = 0;
  std::vector<proto::Party> parties;
  std::vector<std::pair<std::string_view, std::string>> facts;
  Run(state, sizes, [&](const Pdu&) {
    parties.clear();
    facts.clear();
    absl::Status s = sip::ExtractParties(msgs[i], parties, facts);
    i = (i + 1) % msgs.size();
    benchmark::DoNotOptimize(parties.data());
    return s.ok();
  });
}

BENCHMARK_CAPTURE(Asn1cFresh, openli_rtp_cc, asn1c_bench::CcPdus());
BENCHMARK_CAPTURE(Asn1cReuseTop, openli_rtp_cc, asn1c_bench::CcPdus());
BENCHMARK_CAPTURE(Asn1cConstraints, openli_rtp_cc, asn1c_bench::CcPdus());
BENCHMARK_CAPTURE(OursReuse, openli_rtp_cc, asn1c_bench::CcPdus());
BENCHMARK_CAPTURE(OursFresh, openli_rtp_cc, asn1c_bench::CcPdus());
BENCHMARK_CAPTURE(Asn1cFresh, openli_sip_iri, asn1c_bench::SipPdus());
BENCHMARK_CAPTURE(Asn1cReuseTop, openli_sip_iri, asn1c_bench::SipPdus());
BENCHMARK_CAPTURE(Asn1cConstraints, openli_sip_iri, asn1c_bench::SipPdus());
BENCHMARK_CAPTURE(OursReuse, openli_sip_iri, asn1c_bench::SipPdus());
BENCHMARK_CAPTURE(OursFresh, openli_sip_iri, asn1c_bench::SipPdus());
BENCHMARK(SipExtractOnly);

}  // namespace

BENCHMARK_MAIN();
