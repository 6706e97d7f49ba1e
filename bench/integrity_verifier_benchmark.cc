// Cost of ingest::IntegrityVerifier::ObservePdu per CC PDU, on the stream shape that dominates a
// replay: RTP CC PDUs (~310 bytes, OpenLI header fields) of one LIID + CIN, in order.
//   no_integrity          the stream carries no hash records (most streams): every PDU is
//                         buffered and, past the per-key bound, the oldest is evicted;
//   hash_every_64         a hash PDU (SHA-256) after every 64 CC PDUs covers them and verifies,
//                         freeing them; the hash check's cost is spread over the 64 PDUs;
//   no_integrity_64_cins  as no_integrity, 64 CINs interleaved round robin;
//   *_nodd                the same with absl::Mutex deadlock detection off (see ObserveCc).
// The PDUs are encoded and decoded once; each observation gets the next sequence number (the
// verifier keys on the decoded header, and the hash covers the raw bytes, which repeat per block).
// The verifier is warmed past its per-key bound before timing, so the figures are steady state.
// To compare with another version of the verifier, build this file against it (same API) and
// run both binaries back to back.
//
//   build/bench/integrity_verifier_benchmark --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "ingest/integrity_verifier.h"
#include "proto/ipmm/ipmm_encode.h"
#include "proto/li_ps/decode.h"
#include "proto/li_ps/encode.h"

namespace {
using namespace tapvault;

constexpr size_t kBlock = 64;        // CC PDUs per hash PDU
// Distinct encodings per stream: 16 x 64 PDUs (~320 KB in all, cache-warm like a just-received
// frame); with many streams, fewer per stream to keep the total alike.
constexpr size_t kPoolPdus = 16 * kBlock;
constexpr size_t kRtpBytes = 12 + 160;  // RTP header + 20 ms G.711

std::vector<std::byte> EncodeCc(uint32_t cin, uint32_t seq) {
  std::vector<std::byte> rtp(kRtpBytes, std::byte{0xd5});
  rtp[0] = std::byte{0x80};
  rtp[2] = std::byte(seq >> 8);
  rtp[3] = std::byte(seq);
  proto::PsHeader h;
  h.liid = "LEMFVOIP01";
  h.authorization_country_code = "NZ";
  h.operator_id = "LEMFTESTOP";
  h.network_element_id = "lemfcoll";
  h.cin = cin;
  h.delivery_country_code = "NZ";
  h.sequence_number = seq;
  h.timestamp = base::Timestamp{1'764'362'400'000'000 + seq * 20'000ll};
  h.interception_point_id = "ip01";
  return proto::li_ps::EncodeCcPdu(
      h,
      {.direction = proto::Direction::kFromTarget,
       .contents = [&](ber::Writer& w) {
         proto::ipmm::WriteCc(w, {.rtp = rtp, .frame_type = 2, .mmcc_protocol = 0});
       }},
      {.length_form = ber::LengthForm::kLong3, .microsecond_timestamp = true});
}

// Encoded PDUs and their decoded forms (which view into the encodings).
struct Stream {
  std::vector<std::vector<std::byte>> raw;
  std::vector<proto::PsPdu> pdus;
  std::vector<std::vector<std::byte>> hash_raw;  // one hash PDU per block of the pool
  std::vector<proto::PsPdu> hash_pdus;
  size_t bytes = 0;
  bool ok = true;
};

std::unique_ptr<Stream> MakeStream(uint32_t cin, size_t pool_blocks, bool with_hashes) {
  auto s = std::make_unique<Stream>();
  s->raw.reserve(kBlock * pool_blocks);
  for (uint32_t i = 0; i < kBlock * pool_blocks; ++i) s->raw.push_back(EncodeCc(cin, i));
  s->pdus.resize(s->raw.size());
  for (size_t i = 0; i < s->raw.size(); ++i) {
    s->ok &= proto::li_ps::DecodePsPdu(s->raw[i], s->pdus[i]).ok();
    s->bytes += s->raw[i].size();
  }
  if (!with_hashes) return s;
  for (size_t b = 0; b < pool_blocks; ++b) {
    std::vector<base::Bytes> parts;
    proto::IntegrityCheck ic;
    for (size_t i = b * kBlock; i < (b + 1) * kBlock; ++i) {
      parts.push_back(s->raw[i]);
      ic.sequence_numbers.push_back(static_cast<uint32_t>(i));
    }
    absl::StatusOr<std::string> digest = ingest::IntegrityHash(2, parts);
    s->ok &= digest.ok();
    if (!digest.ok()) return s;
    ic.check_type = 1;  // hash
    ic.data_type = 2;   // CC
    ic.hash_algorithm = 2;
    ic.check_value = base::AsBytes(*digest);
    proto::PsHeader h;
    h.liid = "LEMFVOIP01";
    h.operator_id = "LEMFTESTOP";
    h.network_element_id = "med-6001";
    h.cin = cin;
    h.sequence_number = static_cast<uint32_t>(b);
    s->hash_raw.push_back(proto::li_ps::EncodeIntegrityPdu(
        h, ic, {.length_form = ber::LengthForm::kLong3}));
  }
  s->hash_pdus.resize(pool_blocks);
  for (size_t b = 0; b < pool_blocks; ++b) {
    s->ok &= proto::li_ps::DecodePsPdu(s->hash_raw[b], s->hash_pdus[b]).ok() &&
             !s->hash_pdus[b].items.empty() && s->hash_pdus[b].items[0].integrity.has_value();
  }
  return s;
}

// Feeds blocks of kBlock CC PDUs (and a hash PDU after each if `with_hashes`), numbering the PDUs
// of each stream on from where the previous call stopped.
class Feeder {
 public:
  Feeder(std::vector<std::unique_ptr<Stream>> streams, size_t pool_blocks, bool with_hashes)
      : streams_(std::move(streams)), pool_blocks_(pool_blocks), with_hashes_(with_hashes),
        next_seq_(streams_.size()), next_hash_seq_(streams_.size()) {}

  bool ok() const {
    for (auto& s : streams_) if (!s->ok) return false;
    return true;
  }

  // One block: kBlock CC PDUs of each stream, interleaved round robin.
  void Block(ingest::IntegrityVerifier& v, base::Timestamp now) {
    const size_t first = (block_ % pool_blocks_) * kBlock;
    for (size_t i = first; i < first + kBlock; ++i) {
      for (size_t k = 0; k < streams_.size(); ++k) {
        proto::PsPdu& pdu = streams_[k]->pdus[i];
        pdu.header.sequence_number = next_seq_[k]++;
        v.ObservePdu(pdu, streams_[k]->raw[i], 1, now);
      }
    }
    if (with_hashes_) {
      for (size_t k = 0; k < streams_.size(); ++k) {
        proto::PsPdu& h = streams_[k]->hash_pdus[block_ % pool_blocks_];
        h.header.sequence_number = next_hash_seq_[k]++;
        std::vector<uint32_t>& covered = h.items[0].integrity->sequence_numbers;
        for (size_t j = 0; j < kBlock; ++j) {
          covered[j] = next_seq_[k] - static_cast<uint32_t>(kBlock - j);
        }
        v.ObservePdu(h, streams_[k]->hash_raw[block_ % pool_blocks_], 1, now);
      }
    }
    ++block_;
  }

  size_t PdusPerBlock() const { return kBlock * streams_.size(); }
  double AvgPduBytes() const {
    return double(streams_[0]->bytes) / double(streams_[0]->raw.size());
  }

 private:
  std::vector<std::unique_ptr<Stream>> streams_;
  size_t pool_blocks_;
  bool with_hashes_;
  std::vector<uint32_t> next_seq_;
  std::vector<uint32_t> next_hash_seq_;
  size_t block_ = 0;
};

void ObserveCc(benchmark::State& state, size_t cins, bool with_hashes,
               bool deadlock_detection = true) {
  // Debian's Abseil is built without NDEBUG, so absl::Mutex checks lock order on every Lock
  // (a global graph under a spinlock) unless the process turns that off; the *_nodd variants
  // show the cost without it.
  if (!deadlock_detection) absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  struct Restore {
    ~Restore() { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kAbort); }
  } restore;
  const size_t pool_blocks = std::max<size_t>(1, kPoolPdus / kBlock / cins);
  std::vector<std::unique_ptr<Stream>> streams;
  for (size_t k = 0; k < cins; ++k) {
    streams.push_back(
        MakeStream(0x4b6b0000u + static_cast<uint32_t>(k), pool_blocks, with_hashes));
  }
  Feeder feeder(std::move(streams), pool_blocks, with_hashes);
  if (!feeder.ok()) {
    state.SkipWithError("PDUs do not encode/decode");
    return;
  }
  auto v = ingest::IntegrityVerifier::Create({}, nullptr);
  if (!v.ok()) {
    state.SkipWithError("IntegrityVerifier::Create failed");
    return;
  }
  ingest::IntegrityVerifier& verifier = **v;
  const base::Timestamp now = base::Now();
  // Warm up past the per-key bound (default 8192 PDUs) so eviction is part of the steady state.
  const size_t warm_blocks = 2 * (8192 / kBlock) + 1;
  for (size_t b = 0; b < warm_blocks; ++b) feeder.Block(verifier, now);
  const ingest::IntegrityCounts before = verifier.Counts();

  for (auto _ : state) feeder.Block(verifier, now);

  const ingest::IntegrityCounts after = verifier.Counts();
  if (with_hashes) {
    const uint64_t checks = state.iterations() * cins;
    if (after.verified - before.verified != checks || after.mismatch != 0 ||
        after.incomplete != 0) {
      state.SkipWithError("hash checks did not all verify");
      return;
    }
  }
  const double pdus = double(state.iterations()) * double(feeder.PdusPerBlock());
  state.SetItemsProcessed(static_cast<int64_t>(pdus));
  // CPU time per CC PDU (printed with its unit, e.g. "77.3ns").
  state.counters["time_per_cc_pdu"] =
      benchmark::Counter(pdus, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["avg_pdu_bytes"] = feeder.AvgPduBytes();
  state.counters["evicted_per_pdu"] = double(after.evicted_pdus - before.evicted_pdus) / pdus;
}

BENCHMARK_CAPTURE(ObserveCc, no_integrity, 1, false);
BENCHMARK_CAPTURE(ObserveCc, hash_every_64, 1, true);
BENCHMARK_CAPTURE(ObserveCc, no_integrity_64_cins, 64, false);
BENCHMARK_CAPTURE(ObserveCc, no_integrity_nodd, 1, false, false);
BENCHMARK_CAPTURE(ObserveCc, hash_every_64_nodd, 1, true, false);
BENCHMARK_CAPTURE(ObserveCc, no_integrity_64_cins_nodd, 64, false, false);

}  // namespace

BENCHMARK_MAIN();
