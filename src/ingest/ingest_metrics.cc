#include "ingest/ingest_metrics.h"

#include <string>

#include "absl/strings/ascii.h"

namespace tapvault::ingest {
namespace {

std::string CodeName(absl::StatusCode code) {
  std::string name(absl::StatusCodeToString(code));
  absl::AsciiStrToLower(&name);
  return name;
}

}  // namespace

IngestMetrics::IngestMetrics(metrics::Registry& r)
    : resyncs(r.GetCounter("tapvault_stream_resyncs_total",
                           "Broken streams resynchronised at the next PS-PDU start")),
      resync_skipped_bytes(r.GetCounter("tapvault_stream_resync_skipped_bytes_total",
                                        "Bytes skipped while resynchronising")),
      keepalives_answered(r.GetCounter("tapvault_keepalives_answered_total",
                                       "Keep-alives answered with a keep-aliveResponse")),
      sink_errors(r.GetCounter("tapvault_sink_errors_total", "Records the sink refused")),
      unknown_skipped(r.GetCounter("tapvault_unknown_extensions_skipped_total",
                                   "Unknown ASN.1 extensions / CHOICE alternatives skipped")),
      gap_missing(r.GetCounter("tapvault_sequence_missing_total",
                               "Sequence numbers skipped by gaps")),
      ack_requests(r.GetCounter("tapvault_ack_requests_total",
                                "pDUAcknowledgementRequests received")),
      acks_sent(r.GetCounter("tapvault_acks_sent_total",
                             "pDUAcknowledgementResponses sent (all earlier PDUs durable)")),
      ack_unsupported(r.GetCounter("tapvault_acks_unsupported_total",
                                   "pDUAcknowledgementRequests not answered: no durable sink")),
      acks_withheld(r.GetCounter("tapvault_acks_withheld_total",
                                 "pDUAcknowledgementRequests not answered: the connection lost "
                                 "a PDU (undecodable, refused by the sink, or skipped bytes)")),
      options_answered(r.GetCounter("tapvault_option_requests_answered_total",
                                    "optionRequests answered with an optionResponse")),
      registry_(r) {
  for (int h = 0; h < 2; ++h) {
    std::string hn(HandoverName(static_cast<Handover>(h)));
    bytes_[h] = &r.GetCounter("tapvault_received_bytes_total", "Bytes received", {{"handover", hn}});
    for (int k = 0; k <= static_cast<int>(proto::Kind::kHi4) && k < 64; ++k) {
      pdus_[h][k] = &r.GetCounter("tapvault_pdus_total", "PS-PDUs received and decoded",
                                  {{"handover", hn},
                                   {"kind", std::string(proto::KindName(static_cast<proto::Kind>(k)))}});
    }
  }
  const char* names[] = {"untracked", "first", "in_order", "gap",
                         "reordered", "duplicate", "conflict", "stale"};
  for (int v = 0; v < 8; ++v) {
    verdicts_[v] = &r.GetCounter("tapvault_sequence_verdicts_total",
                                 "PDUs by sequence-number verdict", {{"verdict", names[v]}});
  }
}

metrics::Counter& IngestMetrics::Pdus(Handover h, proto::Kind kind) {
  int k = static_cast<int>(kind);
  if (k < 0 || k >= 64 || pdus_[static_cast<int>(h)][k] == nullptr) k = 0;
  return *pdus_[static_cast<int>(h)][k];
}

metrics::Counter& IngestMetrics::DecodeErrors(absl::StatusCode code) {
  return registry_.GetCounter("tapvault_decode_errors_total",
                              "Well-framed PDUs dropped because they failed to decode",
                              {{"reason", CodeName(code)}});
}

metrics::Counter& IngestMetrics::StreamErrors(std::string_view reason) {
  return registry_.GetCounter("tapvault_stream_errors_total",
                              "Broken streams (framing errors) by reason",
                              {{"reason", std::string(reason)}});
}

metrics::Counter& IngestMetrics::Integrity(IntegrityOutcome o, uint8_t check_type) {
  return registry_.GetCounter(
      "tapvault_integrity_checks_total", "TS 102 232-1 integrity checks by outcome",
      {{"check", check_type == 2 ? "signature" : "hash"},
       {"outcome", std::string(IntegrityOutcomeName(o))}});
}

}  // namespace tapvault::ingest
