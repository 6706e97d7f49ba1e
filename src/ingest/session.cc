#include "ingest/session.h"

#include "base/log.h"
#include "base/strings.h"
#include "proto/li_ps/decode.h"
#include "proto/li_ps/encode.h"

namespace tapvault::ingest {

using proto::stream::Framer;
using proto::stream::SkipReason;

Session::Session(ConnectionInfo info, const IngestContext& context, SendLater send_later)
    : info_(std::move(info)),
      ctx_(context),
      framer_(context.options.max_pdu_bytes),
      send_later_(std::move(send_later)) {
  ctx_.sink->OnConnectionOpen(info_);
}

Session::~Session() { OnClose("destroyed"); }

absl::Status Session::OnBytes(base::Bytes data, std::string& reply) {
  if (closed_) return absl::FailedPreconditionError("session closed");
  // After an error the framer may still refer to the caller's earlier bytes: take no more.
  if (broken_) return absl::FailedPreconditionError("session broken");
  ctx_.sink->OnConnectionBytes(info_, data);
  ctx_.metrics->Bytes(info_.handover).Inc(data.size());
  stream_offset_end_ += data.size();
  // Frames straight from `data` where nothing is buffered; the loop runs until kNeedMore, after
  // which the framer keeps its own copy of an incomplete tail.
  framer_.Append(data);
  for (;;) {
    const bool was_resyncing = framer_.resyncing();
    Framer::Result r = framer_.Next();
    if (r.event == Framer::Event::kNeedMore) {
      if (was_resyncing && !framer_.resyncing()) LogResynced(framer_.offset());
      return absl::OkStatus();
    }
    if (r.event == Framer::Event::kFrame) {
      if (was_resyncing) LogResynced(r.offset);
      HandleFrame(r.frame, r.offset, reply);
      continue;
    }
    absl::Status s;
    if (r.reason == SkipReason::kResync) {
      s = Skipped(r.skipped);
    } else {
      if (was_resyncing) LogResynced(r.offset);  // found a start, which then failed
      s = Broken(proto::stream::SkipReasonName(r.reason), r.offset);
      // The failed byte is the error; only the bytes after it count as skipped by the resync.
      if (s.ok()) s = Skipped(r.skipped - 1);
    }
    if (!s.ok()) {
      broken_ = true;
      return s;
    }
    if (!framer_.resyncing()) LogResynced(r.offset + r.skipped);
  }
}

absl::Status Session::Broken(std::string_view reason, uint64_t offset) {
  ctx_.metrics->StreamErrors(reason).Inc();
  lost_pdu_ = true;  // whatever the broken bytes were, they are not stored
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
  ++resyncs_;
  ctx_.metrics->resyncs.Inc();
  return absl::OkStatus();
}

absl::Status Session::Skipped(uint64_t n) {
  skipped_bytes_ += n;
  ctx_.metrics->resync_skipped_bytes.Inc(n);
  if (skipped_bytes_ > ctx_.options.max_skip_bytes) {
    ctx_.metrics->StreamErrors("resync_limit").Inc();
    return absl::ResourceExhaustedError(
        base::StrCat("broken stream: skipped ", skipped_bytes_, " bytes without a PS-PDU"));
  }
  return absl::OkStatus();
}

void Session::LogResynced(uint64_t offset) {
  base::Log(base::LogLevel::kInfo, "ingest.stream_resynced",
            {{"conn", info_.id}, {"offset", offset}, {"skipped", skipped_bytes_}});
}

void Session::HandleFrame(base::Bytes frame, uint64_t offset, std::string& reply) {
  IngestMetrics& m = *ctx_.metrics;
  absl::Status s = proto::li_ps::DecodePsPdu(frame, pdu_);
  if (!s.ok()) {
    ++decode_errors_;
    lost_pdu_ = true;
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
    std::vector<std::byte> resp = proto::li_ps::EncodeKeepaliveResponse(pdu_.header);
    reply.append(reinterpret_cast<const char*>(resp.data()), resp.size());
    m.keepalives_answered.Inc();
  } else if (kind == proto::Kind::kOptionRequest) {
    AnswerOptionRequest(reply);
  }

  base::Timestamp now = base::Now();
  // Acknowledgement requests are untracked (no communication), so never dropped as a duplicate
  // below: each reaches the sink and then HandleAckRequest.
  const std::string key = SequenceTracker::KeyOf(pdu_);
  SequenceVerdict verdict =
      ctx_.tracker->Observe(key, pdu_.header.sequence_number, frame, now);
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
    lost_pdu_ = true;
    // Not kept: forget having seen it, so that the mediator's re-send is taken, not dropped as
    // a duplicate.
    ctx_.tracker->Forget(key, pdu_.header.sequence_number, frame);
    m.sink_errors.Inc();
    base::Log(base::LogLevel::kError, "ingest.sink_error",
              {{"conn", info_.id}, {"offset", offset}, {"reason", base::View(st.message())}});
  } else {
    ++pdus_accepted_;
  }
  // After Accept: the request itself is among the PDUs the acknowledgement covers.
  if (kind == proto::Kind::kAckRequest) HandleAckRequest();
}

void Session::AnswerOptionRequest(std::string& reply) {
  const bool can_ack = send_later_ != nullptr && ctx_.sink->Durable();
  std::vector<proto::li_ps::Option> accepted, declined;
  bool asked_ack = false;
  for (const auto& [key, value] : pdu_.items.front().attributes) {
    if (key != "option.requested" || value != "pDUAcknowledgement" || asked_ack) continue;
    asked_ack = true;
    (can_ack ? accepted : declined).push_back(proto::li_ps::Option::kPduAcknowledgement);
  }
  std::vector<std::byte> resp =
      proto::li_ps::EncodeOptionResponseTo(pdu_.header, accepted, declined);
  reply.append(reinterpret_cast<const char*>(resp.data()), resp.size());
  ctx_.metrics->options_answered.Inc();
  base::Log(base::LogLevel::kInfo, "ingest.option_request",
            {{"conn", info_.id},
             {"seq", pdu_.header.sequence_number},
             {"pdu_acknowledgement",
              !asked_ack ? "not_requested" : can_ack ? "accepted" : "declined"}});
}

void Session::HandleAckRequest() {
  IngestMetrics& m = *ctx_.metrics;
  m.ack_requests.Inc();
  if (send_later_ == nullptr || !ctx_.sink->Durable()) {
    m.ack_unsupported.Inc();
    if (!ack_unsupported_logged_) {
      ack_unsupported_logged_ = true;
      base::Log(base::LogLevel::kWarn, "ingest.ack_unsupported",
                {{"conn", info_.id},
                 {"seq", pdu_.header.sequence_number},
                 {"reason", send_later_ == nullptr ? "no_sender" : "sink_not_durable"}});
    }
    return;
  }
  if (lost_pdu_) {
    m.acks_withheld.Inc();
    if (!ack_withheld_logged_) {
      ack_withheld_logged_ = true;
      base::Log(base::LogLevel::kWarn, "ingest.ack_withheld",
                {{"conn", info_.id}, {"seq", pdu_.header.sequence_number}, {"reason", "pdu_lost"}});
    }
    return;
  }
  // Encoded now: the header's views point into the frame, which is gone when `done` runs.
  std::vector<std::byte> resp = proto::li_ps::EncodeAckResponse(pdu_.header);
  ctx_.sink->WhenDurable(
      [send = send_later_, metrics = &m,
       bytes = std::string(reinterpret_cast<const char*>(resp.data()), resp.size())]() mutable {
        metrics->acks_sent.Inc();
        send(std::move(bytes));
      });
}

void Session::OnClose(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  // An incomplete PDU (not garbage being skipped, nor after a fatal framing error) is counted.
  if (framer_.buffered() > 0 && !framer_.resyncing() && !broken_) {
    ctx_.metrics->StreamErrors("truncated_at_close").Inc();
    base::Log(base::LogLevel::kWarn, "ingest.truncated_at_close",
              {{"conn", info_.id}, {"offset", framer_.offset()}, {"bytes", framer_.buffered()}});
  }
  ctx_.sink->OnConnectionClose(info_, reason);
}

}  // namespace tapvault::ingest
