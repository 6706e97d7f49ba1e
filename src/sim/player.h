// Plays a Scenario to a LEMF as a mediator does: HI2 and HI3 as separate outgoing TCP (or TLS)
// connections with no handshake, PDUs back to back, keep-alives answered or the run fails,
// reconnects that re-send the resend window byte for byte. Instead of sockets it can write the
// two streams to files (tests, benchmarks, `tapvault inspect`). With several connections or
// repetitions it is a load generator; a summary is returned for the JSON line of `feed`.
//
//   sim::PlayerOptions o{.hi2 = "127.0.0.1:9001", .hi3 = "127.0.0.1:9002", .rate = 1000};
//   ASSIGN_OR_RETURN(sim::PlaySummary s, sim::PlayScenario(scenario, o));
//   std::cout << s.ToJson().dump() << "\n";
//
// PDU acknowledgement (TS 102 232-1 optionRequest / pDUAcknowledgementRequest), with ack_every
// > 0 on sockets: every connection (HI2 and HI3 each) first sends an optionRequest for
// pDUAcknowledgement, waits for the optionResponse (at most ack_timeout_ms; none counts as
// declined) and sends optionComplete; then after every ack_every PDUs a
// pDUAcknowledgementRequest (pseudo-LIID and CIN 0 like keep-alives, its own sequence numbers).
// Responses are read between sends; each marks every PDU sent on that connection before the
// matching request as acknowledged and appends them to `acked_log` (flushed per response, so it
// is exact even if the LEMF dies right after). Requests are sent even when the option was
// declined (to check that the LEMF then stays silent). At the end a final request is sent and,
// if the option was accepted, awaited for at most ack_timeout_ms (not answered in time: counted
// in ack_timeouts, not an error). A reconnect renegotiates; PDUs of the old connection that were
// not acknowledged stay unacknowledged unless re-sent. Only IRI/CC PDUs (Action kPdu) are
// logged, and not the one after a malformed record on the same channel (a truncated record
// swallows the start of the next PDU, which the LEMF then cannot keep).
//
// Errors: Unavailable (connect, send, TLS, the LEMF closed the connection), DeadlineExceeded (no
// keep-aliveResponse in time), InvalidArgument (options, an unexpected PDU from the LEMF),
// NotFound (files). PlayScenario blocks; it runs one thread per connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "base/time.h"
#include "nlohmann/json.hpp"
#include "sim/scenario.h"

namespace tapvault::sim {

struct TlsOptions {
  std::string cert_file;    // client certificate (PEM); "" = none
  std::string key_file;     // its private key (PEM)
  std::string ca_file;      // CA to verify the LEMF's certificate; "" = no verification
  std::string server_name;  // checked against the LEMF certificate; "" = no name check (SNI = host)
  bool force = false;       // TLS even without certificate or CA (--tls)
  bool enabled() const { return force || !cert_file.empty() || !ca_file.empty(); }
};

struct PlayerOptions {
  std::string hi2, hi3;          // HOST:PORT ("[::1]:9000" for IPv6)
  std::string out_hi2, out_hi3;  // write to these files instead (both or none); connection i > 0
                                 // writes to FILE.i
  TlsOptions tls;
  double rate = 0;               // PDUs per second over all connections; 0 = as fast as possible
  uint32_t repeat = 1;           // plays of the scenario per connection
  uint32_t connections = 1;      // mediator connection pairs, each with distinct CINs
  std::optional<base::Timestamp> start;  // overrides the scenario's start
  uint32_t connect_timeout_ms = 5000;    // per attempt window (also after a reconnect)
  // PDU acknowledgement: a request after every N PDUs per connection; 0 = none. Unset: the
  // scenario's ack_every.
  std::optional<uint32_t> ack_every;
  // Append one line per acknowledged PDU: "<liid>\t<operator>/<element>\t<cin>\t<seq>\t<kind>".
  std::string acked_log;
  uint32_t ack_timeout_ms = 10000;       // for the optionResponse and the final acknowledgement
};

struct ChannelStats {
  uint64_t pdus = 0;             // PS-PDUs sent (incl. keep-alives and re-sent ones)
  uint64_t bytes = 0;            // all bytes sent (incl. malformed ones)
  uint64_t keepalives = 0;
  uint64_t keepalive_responses = 0;
  uint64_t reconnects = 0;
  uint64_t resent_pdus = 0;
  uint64_t malformed = 0;
  uint64_t ack_requests = 0;     // pDUAcknowledgementRequests sent (incl. the final ones)
  uint64_t ack_responses = 0;    // pDUAcknowledgementResponses received
  uint64_t pdus_acked = 0;       // PDUs marked acknowledged (lines in the acked log)
  uint64_t acks_declined = 0;    // connections whose optionRequest was declined (or unanswered)
  uint64_t ack_timeouts = 0;     // final acknowledgements not received within ack_timeout_ms
};

struct PlaySummary {
  ChannelStats hi2, hi3;
  uint32_t connections = 0;
  double elapsed_s = 0;
  nlohmann::json ToJson() const;
};

absl::StatusOr<PlaySummary> PlayScenario(const Scenario& scenario, const PlayerOptions& options);

// Splits "host:port" / "[v6]:port".
absl::Status SplitHostPort(std::string_view text, std::string& host, uint16_t& port);

}  // namespace tapvault::sim
