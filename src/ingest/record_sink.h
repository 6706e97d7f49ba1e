// The hand-off point between receiving and everything after it (store, filter). A Session calls
// the sink for every PDU it accepted from a mediator; later issues implement it with the cold
// store. Until then `serve` uses RawCaptureSink (verbatim bytes per connection) and tests use
// CollectingSink.
//
//   class MySink : public ingest::RecordSink {
//     absl::Status Accept(const ingest::ReceivedPdu& r) override {
//       if (r.verdict == ingest::SequenceVerdict::kConflict) ...;
//       return store_.Append(r.raw);
//     }
//   };
//
// Implementations must be thread-safe: every network thread calls the same sink, for different
// connections at once (the calls for one connection come from one thread, in stream order).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "base/byte_reader.h"
#include "base/time.h"
#include "proto/record/record.h"

namespace tapvault::ingest {

enum class Handover : uint8_t { kHi2, kHi3 };
std::string_view HandoverName(Handover h);  // "hi2", "hi3"

// Who sent a stream. Immutable for the life of a connection.
struct ConnectionInfo {
  uint64_t id = 0;               // unique per process run
  Handover handover = Handover::kHi2;
  std::string peer;              // "192.0.2.1:40000"
  std::string tls_identity;      // "" for TCP; else "CN=...;sha256=<hex>" of the client cert
  base::Timestamp opened;
};

// What the SequenceTracker made of a PDU's (key, sequence number).
enum class SequenceVerdict : uint8_t {
  kUntracked,   // keep-alives and other PDUs without a communication (pseudo-LIID, no CIN)
  kFirst,       // first PDU seen for its key
  kInOrder,     // previous + 1
  kGap,         // later than previous + 1: PDUs are missing (perhaps only late)
  kReordered,   // earlier than the highest seen, not seen before: a late arrival
  kDuplicate,   // same sequence number and same bytes as one seen: NOT passed to the sink
  kConflict,    // same sequence number, different bytes: passed on, marked
  kStale,       // older than the tracking window: cannot tell a duplicate from a late PDU
};
std::string_view SequenceVerdictName(SequenceVerdict v);

// One accepted PDU. All views are valid only during the Accept() call.
struct ReceivedPdu {
  const ConnectionInfo* connection = nullptr;
  base::Timestamp received;
  base::Bytes raw;               // the complete PDU as received (what integrity hashes cover)
  uint64_t stream_offset = 0;    // of raw's first byte in the connection's byte stream
  const proto::PsPdu* pdu = nullptr;
  SequenceVerdict verdict = SequenceVerdict::kUntracked;
};

// TS 102 232-1 7.2 integrity check outcome for one hash (or signature) PDU.
enum class IntegrityOutcome : uint8_t {
  kVerified,     // the recomputed hash (or the signature) matches
  kMismatch,     // it does not: the covered PDUs were altered, or the check was
  kIncomplete,   // not every covered PDU arrived before the check expired
  kUnverified,   // a signature we cannot verify (no public key configured for the mediator)
};
std::string_view IntegrityOutcomeName(IntegrityOutcome o);

struct IntegrityResult {
  std::string liid;
  uint32_t cin = 0;
  uint8_t data_type = 0;                   // 1 IRI, 2 CC (TS 102 232-1 DataType)
  uint8_t check_type = 0;                  // 1 hash, 2 signature
  uint32_t check_sequence_number = 0;      // of the integrity PDU itself
  std::vector<uint32_t> covered;           // sequence numbers of the covered PDUs
  IntegrityOutcome outcome = IntegrityOutcome::kIncomplete;
  uint64_t connection_id = 0;              // the connection that carried the check
};

class RecordSink {
 public:
  virtual ~RecordSink() = default;

  // One accepted PDU. An error is counted (sink_errors) and logged; the connection continues
  // (the raw capture still holds the bytes).
  virtual absl::Status Accept(const ReceivedPdu& pdu) = 0;
  // The outcome of an integrity check (hash or signature).
  virtual void OnIntegrityResult(const IntegrityResult& result) {}

  // Connection life cycle and the verbatim byte stream (before framing; for raw capture).
  virtual void OnConnectionOpen(const ConnectionInfo& conn) {}
  virtual void OnConnectionBytes(const ConnectionInfo& conn, base::Bytes data) {}
  // The connection is gone; flush whatever belongs to it. `reason` is the close reason.
  virtual void OnConnectionClose(const ConnectionInfo& conn, std::string_view reason) {}
  // Flush everything (graceful shutdown).
  virtual absl::Status Flush() { return absl::OkStatus(); }

  // Backpressure: while true, network threads stop reading from their sockets.
  virtual bool Saturated() const { return false; }

  // Durability, for TS 102 232-1 PDU acknowledgement. Durable(): whether this sink really
  // persists what it accepts (a store that fsyncs), i.e. whether WhenDurable means anything;
  // tapvault acknowledges PDUs only to a durable sink. Constant for the sink's life.
  virtual bool Durable() const { return false; }
  // Calls `done` exactly once, from any thread (possibly inside this call, possibly the store's
  // writer thread later), once everything this sink accepted (Accept returned OK) before this
  // call is durable. A Session calls it after the Accept() calls the acknowledgement covers.
  // `done` must be cheap and must not call back into the sink. If the sink cannot make those
  // records durable (shutdown, I/O error), it may drop `done` without calling it: no answer is
  // the safe answer. The default (a sink that keeps nothing of its own) calls done() at once.
  virtual void WhenDurable(std::function<void()> done) { done(); }
};

// Forwards every call to each of `sinks` in order (e.g. raw capture + store). Accept returns the
// first error. Durable() if any sink is; WhenDurable calls `done` once every sink has called
// its own (on the thread of the last one). The sinks must outlive the FanoutSink. Thread-safe if
// they are.
class FanoutSink : public RecordSink {
 public:
  explicit FanoutSink(std::vector<RecordSink*> sinks) : sinks_(std::move(sinks)) {}
  absl::Status Accept(const ReceivedPdu& pdu) override;
  void OnIntegrityResult(const IntegrityResult& result) override;
  void OnConnectionOpen(const ConnectionInfo& conn) override;
  void OnConnectionBytes(const ConnectionInfo& conn, base::Bytes data) override;
  void OnConnectionClose(const ConnectionInfo& conn, std::string_view reason) override;
  absl::Status Flush() override;
  bool Saturated() const override;
  bool Durable() const override;
  void WhenDurable(std::function<void()> done) override;

 private:
  std::vector<RecordSink*> sinks_;
};

}  // namespace tapvault::ingest
