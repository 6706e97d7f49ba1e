// One mediator connection's ingest: frames the byte stream into PS-PDUs, decodes them, answers
// keep-alives, option negotiation and PDU acknowledgement requests, tracks sequence numbers,
// feeds the integrity verifier and hands every accepted PDU to the RecordSink.
//
//   ingest::Session session(conn_info, context,
//                           [sender](std::string bytes) { sender->Send(std::move(bytes)); });
//   std::string reply;
//   absl::Status s = session.OnBytes(chunk, reply);   // any chunking of the stream
//   if (!reply.empty()) Write(reply);                 // keep-alive / option responses
//   if (!s.ok()) Close(s.message());                  // broken beyond repair
//   ...
//   session.OnClose("peer closed");
//
// Framing (TS 102 232-1 has no framing of its own: PDUs are back to back) is proto::stream::Framer:
// a PDU must start with a SEQUENCE (0x30), a plausible length (<= max_pdu_bytes) and the
// pSHeader [1] (0xa1). Anything else is a broken stream, counted in
// tapvault_stream_errors_total{reason=<stream::SkipReasonName>}: the session scans forward for
// the next PS-PDU start (30 len a1 len 80 07 04 00 02 02 05 01, the li-psDomainId) and resumes
// there (counted as a resync), or, past max_resyncs / max_skip_bytes or with resync off, fails so
// the caller closes the connection. A well-framed PDU that fails to decode is dropped, counted
// and logged with its byte offset in the connection stream; the next PDU is unaffected.
//
// What we send (nothing else, ever: OpenLI drops the connection on any other PDU, and it sends
// neither optionRequests nor acknowledgement requests):
//  - keep-aliveResponse to a keep-alive (TS 102 232-1 6.3.4), at once through `reply`;
//  - optionResponse to an optionRequest, at once through `reply`: pDUAcknowledgement is accepted
//    only when the sink is Durable() and the session has a SendLater, else declined. Options we
//    do not know cannot be named back (the decoder only reports "unknown"): they are left out of
//    both lists, i.e. not accepted;
//  - pDUAcknowledgementResponse to a pDUAcknowledgementRequest, later, through SendLater, from
//    the thread on which the sink's WhenDurable fires, once every PDU accepted before the
//    request (the request included) is durable. All three echo the request's header (LIID,
//    CIN, sequence number). We never claim durability we do not have: with a non-durable sink
//    (or no SendLater) requests are counted in tapvault_acks_unsupported_total (logged once per
//    connection) and not answered; once a PDU of this connection was lost (undecodable, refused
//    by the sink, or inside bytes skipped after a framing error) no later request on the
//    connection is answered either (tapvault_acks_withheld_total), since an answer would cover
//    the lost PDU. A mediator then times out and re-sends on a new connection.
// Not thread-safe: one Session belongs to one connection on one network thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "ingest/ingest_metrics.h"
#include "ingest/integrity_verifier.h"
#include "ingest/record_sink.h"
#include "ingest/sequence_tracker.h"
#include "proto/record/record.h"
#include "proto/stream/framer.h"

namespace tapvault::ingest {

struct SessionOptions {
  size_t max_pdu_bytes = 16u << 20;     // larger declared lengths are a broken stream
  bool resync = true;                   // false: close on the first framing error
  uint32_t max_resyncs = 64;            // per connection
  uint64_t max_skip_bytes = 64u << 20;  // skipped while resynchronising, per connection
};

// Shared by all sessions. Everything but `verifier` is required; all must outlive the sessions.
struct IngestContext {
  RecordSink* sink = nullptr;
  SequenceTracker* tracker = nullptr;
  IntegrityVerifier* verifier = nullptr;  // optional
  IngestMetrics* metrics = nullptr;
  SessionOptions options;
};

// Sends bytes on the session's connection later, from any thread (net::AsyncSender::Send); a
// no-op once the connection is closed. It is copied into WhenDurable callbacks, which may run
// after the Session is gone.
using SendLater = std::function<void(std::string bytes)>;

class Session {
 public:
  // `send_later` may be empty: acknowledgement requests are then not answered (unsupported).
  // ctx.metrics must outlive the sink's pending WhenDurable callbacks, not only the session.
  Session(ConnectionInfo info, const IngestContext& context, SendLater send_later = nullptr);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

  // Feeds the next bytes of the stream; appends bytes to send back to `reply`. An error
  // (FailedPrecondition / ResourceExhausted with the reason) means: close the connection; later
  // calls fail. `data` need only live for the call.
  absl::Status OnBytes(base::Bytes data, std::string& reply);
  // The connection is gone (idempotent). Incomplete trailing bytes are counted and logged.
  void OnClose(std::string_view reason);

  const ConnectionInfo& info() const { return info_; }
  uint64_t bytes_received() const { return stream_offset_end_; }
  uint64_t pdus_accepted() const { return pdus_accepted_; }
  uint64_t decode_errors() const { return decode_errors_; }
  uint32_t resyncs() const { return resyncs_; }

 private:
  // A framing error at `offset`: enter resync mode or fail.
  absl::Status Broken(std::string_view reason, uint64_t offset);
  // `n` more bytes skipped while resynchronising: fails past max_skip_bytes.
  absl::Status Skipped(uint64_t n);
  void LogResynced(uint64_t offset);
  void HandleFrame(base::Bytes frame, uint64_t offset, std::string& reply);
  // TS 102 232-1 option negotiation and PDU acknowledgement (see the file comment).
  void AnswerOptionRequest(std::string& reply);
  void HandleAckRequest();

  ConnectionInfo info_;
  const IngestContext& ctx_;
  proto::stream::Framer framer_;   // holds an incomplete PDU, bounded by max_pdu_bytes
  uint64_t stream_offset_end_ = 0; // total bytes received
  bool broken_ = false;            // OnBytes failed: the connection is to be closed
  bool closed_ = false;
  uint32_t resyncs_ = 0;
  uint64_t skipped_bytes_ = 0;
  uint64_t pdus_accepted_ = 0;
  uint64_t decode_errors_ = 0;
  proto::PsPdu pdu_;               // reused across frames
  SendLater send_later_;           // empty: acknowledgements unsupported
  bool lost_pdu_ = false;          // a PDU of this connection was not kept: no more acks
  bool ack_unsupported_logged_ = false;  // both logged once per connection
  bool ack_withheld_logged_ = false;
};

}  // namespace tapvault::ingest
