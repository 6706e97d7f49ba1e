// Decode throughput of the hand-written PS-PDU decoder on real mediator output (OpenLI captures)
// and on synthetic PDUs of the sizes the issue names (RTP CC ~200 bytes, SIP IRI ~1 KB).
// Baselines measured in the same run: a plain copy of the bytes (memory bandwidth bound) and a
// generic BER walk that visits every TLV without interpreting it (the least any decoder must do).
//
//   build/bench/decode_benchmark --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ber/reader.h"
#include "proto/ipmm/ipmm_encode.h"
#include "proto/li_ps/decode.h"
#include "proto/li_ps/encode.h"
#include "proto/stream/framer.h"

namespace {
using namespace tapvault;

std::string SharedDir() {
  const char* d = std::getenv("TAPVAULT_SHARED_DIR");
  return d ? d : TAPVAULT_DEFAULT_SHARED_DIR;
}

std::vector<std::vector<std::byte>> LoadPdus(const std::string& file) {
  std::ifstream in(SharedDir() + "/data/openli/" + file, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  proto::stream::Framer f;
  f.Append(base::AsBytes(std::string_view(raw.data(), raw.size())));
  std::vector<std::vector<std::byte>> out;
  for (;;) {
    auto r = f.Next(true);
    if (r.event != proto::stream::Framer::Event::kFrame) break;
    out.emplace_back(r.frame.begin(), r.frame.end());
  }
  return out;
}

// The PDUs of one kind from a capture: CC (HI3) or SIP IRI (HI2).
std::vector<std::vector<std::byte>> Select(const std::string& file, proto::Kind want_cc_or_iri) {
  std::vector<std::vector<std::byte>> out;
  proto::PsPdu pdu;
  for (auto& p : LoadPdus(file)) {
    if (!proto::li_ps::DecodePsPdu(p, pdu).ok() || pdu.items.empty()) continue;
    const auto& item = pdu.items[0];
    const bool is_cc = item.kind == proto::Kind::kCc && item.service == proto::Service::kIpmm;
    const bool is_sip = proto::IsIri(item.kind) && item.service == proto::Service::kIpmm;
    if ((want_cc_or_iri == proto::Kind::kCc && is_cc) || (want_cc_or_iri != proto::Kind::kCc && is_sip)) {
      out.push_back(std::move(p));
    }
  }
  return out;
}

const std::vector<std::vector<std::byte>>& CcPdus() {
  static auto v = Select("microts_HI3_20261128T204237_45928.raw", proto::Kind::kCc);
  return v;
}
const std::vector<std::vector<std::byte>>& SipPdus() {
  static auto v = Select("microts_HI2_20261128T204233_34560.raw", proto::Kind::kIri);
  return v;
}

// ~200-byte RTP CC PDUs as the issue sizes them (OpenLI's carry IP/UDP headers and 160-byte
// G.711 frames, ~335 bytes): the same header fields as OpenLI, RTP with 10 ms of G.711 (80 bytes).
const std::vector<std::vector<std::byte>>& SmallCcPdus() {
  static auto v = [] {
    std::vector<std::vector<std::byte>> out;
    std::vector<std::byte> rtp(12 + 80, std::byte{0xd5});
    rtp[0] = std::byte{0x80};
    for (uint32_t seq = 0; seq < 400; ++seq) {
      proto::PsHeader h;
      h.liid = "LEMFVOIP01";
      h.authorization_country_code = "NZ";
      h.operator_id = "LEMFTESTOP";
      h.network_element_id = "lemfcoll";
      h.cin = 0x4b6b828f;
      h.delivery_country_code = "NZ";
      h.sequence_number = seq;
      h.timestamp = base::Timestamp{1'764'362'400'000'000 + seq * 20'000ll};
      h.interception_point_id = "ip01";
      rtp[2] = std::byte(seq >> 8);
      rtp[3] = std::byte(seq);
      out.push_back(proto::li_ps::EncodeCcPdu(
          h,
          {.direction = proto::Direction::kFromTarget,
           .contents = [&](ber::Writer& w) {
             proto::ipmm::WriteCc(w, {.rtp = rtp, .frame_type = 2, .mmcc_protocol = 0});
           }},
          {.length_form = ber::LengthForm::kLong3, .microsecond_timestamp = true}));
    }
    return out;
  }();
  return v;
}

void Report(benchmark::State& state, const std::vector<std::vector<std::byte>>& pdus) {
  size_t bytes = 0;
  for (auto& p : pdus) bytes += p.size();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * pdus.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["avg_pdu_bytes"] = pdus.empty() ? 0 : double(bytes) / double(pdus.size());
}

void Decode(benchmark::State& state, const std::vector<std::vector<std::byte>>& pdus) {
  if (pdus.empty()) {
    state.SkipWithError("no PDUs (decoder not ready or capture missing)");
    return;
  }
  proto::PsPdu pdu;
  for (auto& p : pdus) {
    if (!proto::li_ps::DecodePsPdu(p, pdu).ok()) {
      state.SkipWithError("a PDU does not decode");
      return;
    }
  }
  for (auto _ : state) {
    for (auto& p : pdus) {
      auto s = proto::li_ps::DecodePsPdu(p, pdu);
      benchmark::DoNotOptimize(s);
      benchmark::DoNotOptimize(pdu.items.data());
    }
  }
  Report(state, pdus);
}

void Walk(ber::Reader r, size_t& n) {
  while (!r.AtEnd()) {
    ber::Tlv t;
    if (!r.Next(t).ok()) return;
    ++n;
    if (t.tag.constructed) {
      auto in = r.Enter(t);
      if (in.ok()) Walk(*in, n);
    }
  }
}

void BerWalk(benchmark::State& state, const std::vector<std::vector<std::byte>>& pdus) {
  for (auto _ : state) {
    for (auto& p : pdus) {
      ber::Context ctx;
      size_t n = 0;
      Walk(ber::Reader(p, ctx), n);
      benchmark::DoNotOptimize(n);
    }
  }
  Report(state, pdus);
}

void Copy(benchmark::State& state, const std::vector<std::vector<std::byte>>& pdus) {
  std::vector<std::byte> dst(1 << 16);
  for (auto _ : state) {
    for (auto& p : pdus) {
      std::memcpy(dst.data(), p.data(), p.size());
      benchmark::ClobberMemory();
    }
  }
  Report(state, pdus);
}

BENCHMARK_CAPTURE(Decode, openli_rtp_cc, CcPdus());
BENCHMARK_CAPTURE(BerWalk, openli_rtp_cc, CcPdus());
BENCHMARK_CAPTURE(Copy, openli_rtp_cc, CcPdus());
BENCHMARK_CAPTURE(Decode, rtp_cc_200b, SmallCcPdus());
BENCHMARK_CAPTURE(BerWalk, rtp_cc_200b, SmallCcPdus());
BENCHMARK_CAPTURE(Decode, openli_sip_iri, SipPdus());
BENCHMARK_CAPTURE(BerWalk, openli_sip_iri, SipPdus());
BENCHMARK_CAPTURE(Copy, openli_sip_iri, SipPdus());

}  // namespace

BENCHMARK_MAIN();
