#include "ingest/session.h"

#include <cstring>

#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "ber/reader.h"
#include "proto/li_ps/decode.h"
#include "proto/li_ps/encode.h"

namespace tapvault::ingest {
namespace {

constexpr uint8_t kSequenceTag = 0x30;  // X.690 8.9: SEQUENCE, constructed
constexpr uint8_t kPsHeaderTag = 0xa1;  // PS-PDU pSHeader [1], constructed
// li-psDomainId [0] OBJECT IDENTIFIER {0 4 0 2 2 5 1 version}: tag, length 7, then 6 fixed
// octets (0.4 packs into 0x04; X.690 8.19.4) before the module version.
constexpr uint8_t kDomainIdPrefix[] = {0x80, 0x07, 0x04, 0x00, 0x02, 0x02, 0x05, 0x01};
// Longest start pattern: 30 + 5 length octets + a1 + 5 length octets + 8 prefix octets.
constexpr size_t kMaxStartPattern = 1 + 5 + 1 + 5 + sizeof(kDomainIdPrefix);

uint8_t At(base::Bytes d, size_t i) { return static_cast<uint8_t>(d[i]); }

enum class LenResult { kOk, kNeedMore, kBad };

// X.690 8.1.3: reads the length octets at d[i]; sets `len_octets` and (definite) `value_len`.
LenResult ParseLength(base::Bytes d, size_t i, size_t& len_octets, uint64_t& value_len,
                      bool& indefinite) {
  if (i >= d.size()) return LenResult::kNeedMore;
  uint8_t b = At(d, i);
  indefinite = false;
  if (b < 0x80) {
    len_octets = 1;
    value_len = b;
    return LenResult::kOk;
  }
  if (b == 0x80) {
    len_octets = 1;
    value_len = 0;
    indefinite = true;
    return LenResult::kOk;
  }
  size_t n = b & 0x7f;
  if (n > 4) return LenResult::kBad;  // > 4 GiB: absurd for a PS-PDU (and 0xff is reserved)
  if (i + 1 + n > d.size()) return LenResult::kNeedMore;
  uint64_t v = 0;
  for (size_t k = 0; k < n; ++k) v = (v << 8) | At(d, i + 1 + k);
  len_octets = 1 + n;
  value_len = v;
  return LenResult::kOk;
}

// 1: pattern matches at i; 0: it does not; -1: data ends before it can be decided.
int MatchStart(base::Bytes d, size_t i) {
  if (At(d, i) != kSequenceTag) return 0;
  size_t lo;
  uint64_t len;
  bool indef;
  LenResult r = ParseLength(d, i + 1, lo, len, indef);
  if (r == LenResult::kBad) return 0;
  if (r == LenResult::kNeedMore) return -1;
  size_t j = i + 1 + lo;
  if (j >= d.size()) return -1;
  if (At(d, j) != kPsHeaderTag) return 0;
  size_t lo2;
  r = ParseLength(d, j + 1, lo2, len, indef);
  if (r == LenResult::kBad) return 0;
  if (r == LenResult::kNeedMore) return -1;
  size_t k = j + 1 + lo2;
  for (size_t p = 0; p < sizeof(kDomainIdPrefix); ++p) {
    if (k + p >= d.size()) return -1;
    if (At(d, k + p) != kDomainIdPrefix[p]) return 0;
  }
  return 1;
}

}  // namespace

Codec Codec::Default() {
  return Codec{
      .decode = [](base::Bytes frame, proto::PsPdu& out) {
        return proto::li_ps::DecodePsPdu(frame, out);
      },
      .keepalive_response = [](const proto::PsHeader& h) {
        return proto::li_ps::EncodeKeepaliveResponse(h);
      },
  };
}

std::optional<PduStart> FindPduStart(base::Bytes data, size_t from) {
  for (size_t i = from; i < data.size(); ++i) {
    if (At(data, i) != kSequenceTag) continue;
    int m = MatchStart(data, i);
    if (m == 1) return PduStart{i, true};
    if (m == -1) return PduStart{i, false};
  }
  return std::nullopt;
}

Session::Session(ConnectionInfo info, const IngestContext& context)
    : info_(std::move(info)), ctx_(context) {
  ctx_.sink->OnConnectionOpen(info_);
}

Session::~Session() { OnClose("destroyed"); }

absl::Status Session::OnBytes(base::Bytes data, std::string& reply) {
  if (closed_) return absl::FailedPreconditionError("session closed");
  ctx_.sink->OnConnectionBytes(info_, data);
  ctx_.metrics->Bytes(info_.handover).Inc(data.size());
  stream_offset_end_ += data.size();
  if (buf_.empty()) {
    // Fast path: frame straight from the socket buffer, keep only an incomplete tail.
    buf_offset_ = stream_offset_end_ - data.size();
    absl::StatusOr<size_t> used = Process(data, buf_offset_, reply);
    if (!used.ok()) return used.status();
    buf_.assign(data.begin() + *used, data.end());
    buf_offset_ += *used;
    return absl::OkStatus();
  }
  buf_.insert(buf_.end(), data.begin(), data.end());
  absl::StatusOr<size_t> used = Process(base::Bytes(buf_), buf_offset_, reply);
  if (!used.ok()) return used.status();
  buf_.erase(buf_.begin(), buf_.begin() + *used);
  buf_offset_ += *used;
  return absl::OkStatus();
}

absl::Status Session::Broken(std::string_view reason, uint64_t offset) {
  ctx_.metrics->StreamErrors(reason).Inc();
  bool give_up = !ctx_.options.resync || resyncs_ >= ctx_.options.max_resyncs;
  base::Log(base::LogLevel::kWarn, "ingest.stream_broken",
            {{"conn", info_.id},
             {"handover", HandoverName(info_.handover)},
             {"offset", offset},
             {"reason", reason},
             {"action", give_up ? "close" : "resync"}});
  if (give_up) {
    return absl::FailedPreconditionError(base::StrCat("broken stream: ", reason, " at offset ", offset));
  }
  resyncing_ = true;
  ++resyncs_;
  ctx_.metrics->resyncs.Inc();
  return absl::OkStatus();
}

absl::StatusOr<size_t> Session::Process(base::Bytes avail, uint64_t base_offset,
                                        std::string& reply) {
  size_t pos = 0;
  ber::Context ber_ctx;
  while (pos < avail.size()) {
    base::Bytes rest = avail.subspan(pos);
    if (resyncing_) {
      // Skip to the next plausible PS-PDU start (never the byte we failed on).
      std::optional<PduStart> start = FindPduStart(rest, 0);
      size_t skip;
      if (!start.has_value()) {
        // Keep a tail that may be the beginning of a split start pattern.
        skip = rest.size() > kMaxStartPattern ? rest.size() - kMaxStartPattern : 0;
        // A tail with no 0x30 at all cannot start a PDU.
        while (skip < rest.size() && At(rest, skip) != kSequenceTag) ++skip;
      } else {
        skip = start->index;
      }
      skipped_bytes_ += skip;
      ctx_.metrics->resync_skipped_bytes.Inc(skip);
      pos += skip;
      if (skipped_bytes_ > ctx_.options.max_skip_bytes) {
        ctx_.metrics->StreamErrors("resync_limit").Inc();
        return absl::ResourceExhaustedError(
            base::StrCat("broken stream: skipped ", skipped_bytes_, " bytes without a PS-PDU"));
      }
      if (!start.has_value() || !start->complete) return pos;  // wait for more bytes
      resyncing_ = false;
      base::Log(base::LogLevel::kInfo, "ingest.stream_resynced",
                {{"conn", info_.id}, {"offset", base_offset + pos}, {"skipped", skipped_bytes_}});
      continue;
    }
    uint64_t offset = base_offset + pos;
    // Cheap checks before the full TLV walk, so garbage is caught at its first bytes.
    if (At(rest, 0) != kSequenceTag) {
      RETURN_IF_ERROR(Broken("bad_tag", offset));
      ++pos;  // the failed byte is never a start
      continue;
    }
    size_t lo;
    uint64_t len;
    bool indef;
    LenResult lr = ParseLength(rest, 1, lo, len, indef);
    if (lr == LenResult::kNeedMore) return pos;
    if (lr == LenResult::kBad || (!indef && len + 1 + lo > ctx_.options.max_pdu_bytes)) {
      RETURN_IF_ERROR(Broken("absurd_length", offset));
      ++pos;
      continue;
    }
    if (rest.size() <= 1 + lo) return pos;
    if (At(rest, 1 + lo) != kPsHeaderTag) {
      RETURN_IF_ERROR(Broken("not_ps_pdu", offset));
      ++pos;
      continue;
    }
    // Do not re-walk an incomplete PDU on every chunk: a definite length says how much is
    // needed; an indefinite one is re-tried only when the buffered bytes have doubled (bounds
    // the work to O(n log n) against a peer that trickles bytes).
    if (!indef && rest.size() < 1 + lo + len) return pos;
    if (indef && rest.size() < 2 * indefinite_tried_bytes_) return pos;
    absl::StatusOr<size_t> n = ber::CompleteTlvLength(rest, ber_ctx);
    ber_ctx.elements = 0;
    if (!n.ok()) {
      RETURN_IF_ERROR(Broken("malformed_tlv", offset));
      ++pos;
      continue;
    }
    if (*n == 0) {
      if (rest.size() > ctx_.options.max_pdu_bytes) {
        RETURN_IF_ERROR(Broken("pdu_too_large", offset));
        ++pos;
        continue;
      }
      indefinite_tried_bytes_ = rest.size();
      return pos;  // incomplete: wait for more
    }
    indefinite_tried_bytes_ = 0;
    HandleFrame(rest.first(*n), offset, reply);
    pos += *n;
  }
  return pos;
}

void Session::HandleFrame(base::Bytes frame, uint64_t offset, std::string& reply) {
  IngestMetrics& m = *ctx_.metrics;
  absl::Status s = ctx_.codec.decode(frame, pdu_);
  if (!s.ok()) {
    ++decode_errors_;
    m.DecodeErrors(s.code()).Inc();
    base::Log(base::LogLevel::kWarn, "ingest.pdu_dropped",
              {{"conn", info_.id},
               {"handover", HandoverName(info_.handover)},
               {"offset", offset},
               {"length", frame.size()},
               {"reason", base::View(s.message())}});
    return;
  }
  if (pdu_.encoding.empty()) pdu_.encoding = frame;
  if (pdu_.skipped_unknown > 0) m.unknown_skipped.Inc(pdu_.skipped_unknown);
  proto::Kind kind = pdu_.items.empty() ? proto::Kind::kUnknown : pdu_.items.front().kind;
  m.Pdus(info_.handover, kind).Inc();

  if (kind == proto::Kind::kKeepalive) {
    // TS 102 232-1 6.3.4 / A.5: answer with a keep-aliveResponse carrying the same sequence
    // number. This is the only thing we ever send to a mediator.
    std::vector<std::byte> resp = ctx_.codec.keepalive_response(pdu_.header);
    if (resp.empty()) {
      if (!warned_no_keepalive_encoder_) {
        warned_no_keepalive_encoder_ = true;
        base::Log(base::LogLevel::kError, "ingest.keepalive_unanswered",
                  {{"conn", info_.id}, {"reason", "encoder returned nothing"}});
      }
    } else {
      reply.append(reinterpret_cast<const char*>(resp.data()), resp.size());
      m.keepalives_answered.Inc();
    }
  }

  base::Timestamp now = base::Now();
  SequenceVerdict verdict = ctx_.tracker->Observe(SequenceTracker::KeyOf(pdu_),
                                                  pdu_.header.sequence_number, frame, now);
  m.Verdict(verdict).Inc();
  if (verdict == SequenceVerdict::kDuplicate) return;  // counted; stored once already
  if (verdict == SequenceVerdict::kConflict || verdict == SequenceVerdict::kGap) {
    base::Log(verdict == SequenceVerdict::kConflict ? base::LogLevel::kWarn : base::LogLevel::kInfo,
              verdict == SequenceVerdict::kConflict ? "ingest.sequence_conflict" : "ingest.sequence_gap",
              {{"conn", info_.id},
               {"offset", offset},
               {"cin", pdu_.header.cin.value_or(0)},
               {"seq", pdu_.header.sequence_number}});
  }
  if (ctx_.verifier != nullptr) ctx_.verifier->ObservePdu(pdu_, frame, info_.id, now);

  ReceivedPdu rec;
  rec.connection = &info_;
  rec.received = now;
  rec.raw = frame;
  rec.stream_offset = offset;
  rec.pdu = &pdu_;
  rec.verdict = verdict;
  absl::Status st = ctx_.sink->Accept(rec);
  if (!st.ok()) {
    m.sink_errors.Inc();
    base::Log(base::LogLevel::kError, "ingest.sink_error",
              {{"conn", info_.id}, {"offset", offset}, {"reason", base::View(st.message())}});
  } else {
    ++pdus_accepted_;
  }
}

void Session::OnClose(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  if (!buf_.empty() && !resyncing_) {
    ctx_.metrics->StreamErrors("truncated_at_close").Inc();
    base::Log(base::LogLevel::kWarn, "ingest.truncated_at_close",
              {{"conn", info_.id}, {"offset", buf_offset_}, {"bytes", buf_.size()}});
  }
  ctx_.sink->OnConnectionClose(info_, reason);
}

}  // namespace tapvault::ingest
