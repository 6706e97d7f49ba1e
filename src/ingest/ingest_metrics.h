// The counters of the receiving path, looked up once in a metrics::Registry so that the per-PDU
// cost is one relaxed atomic add. Names are documented in docs/formats/config.md (Metrics).
// Thread-safe.
#pragma once

#include <array>
#include <string_view>

#include "absl/status/status.h"
#include "ingest/record_sink.h"
#include "metrics/registry.h"
#include "proto/record/record.h"

namespace tapvault::ingest {

class IngestMetrics {
 public:
  // `registry` must outlive this object.
  explicit IngestMetrics(metrics::Registry& registry);

  metrics::Counter& Pdus(Handover h, proto::Kind kind);
  metrics::Counter& Bytes(Handover h) { return *bytes_[static_cast<int>(h)]; }
  metrics::Counter& DecodeErrors(absl::StatusCode code);
  metrics::Counter& StreamErrors(std::string_view reason);  // framing: bad_tag, absurd_length...
  metrics::Counter& Verdict(SequenceVerdict v) { return *verdicts_[static_cast<int>(v)]; }
  metrics::Counter& Integrity(IntegrityOutcome o, uint8_t check_type);

  metrics::Counter& resyncs;
  metrics::Counter& resync_skipped_bytes;
  metrics::Counter& keepalives_answered;
  metrics::Counter& sink_errors;
  metrics::Counter& unknown_skipped;
  metrics::Counter& gap_missing;   // sequence numbers skipped by gaps
  // TS 102 232-1 PDU acknowledgement (see session.h).
  metrics::Counter& ack_requests;      // pDUAcknowledgementRequests received
  metrics::Counter& acks_sent;         // responses handed to the connection's sender
  metrics::Counter& ack_unsupported;   // requests not answered: the sink is not durable
  metrics::Counter& acks_withheld;     // requests not answered: a PDU of the connection was lost
  metrics::Counter& options_answered;  // optionRequests answered with an optionResponse

 private:
  metrics::Registry& registry_;
  std::array<std::array<metrics::Counter*, 64>, 2> pdus_{};
  std::array<metrics::Counter*, 2> bytes_{};
  std::array<metrics::Counter*, 8> verdicts_{};
};

}  // namespace tapvault::ingest
