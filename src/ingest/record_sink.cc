#include "ingest/record_sink.h"

#include <atomic>
#include <memory>

namespace tapvault::ingest {

std::string_view HandoverName(Handover h) { return h == Handover::kHi2 ? "hi2" : "hi3"; }

std::string_view SequenceVerdictName(SequenceVerdict v) {
  switch (v) {
    case SequenceVerdict::kUntracked: return "untracked";
    case SequenceVerdict::kFirst: return "first";
    case SequenceVerdict::kInOrder: return "in-order";
    case SequenceVerdict::kGap: return "gap";
    case SequenceVerdict::kReordered: return "reordered";
    case SequenceVerdict::kDuplicate: return "duplicate";
    case SequenceVerdict::kConflict: return "conflict";
    case SequenceVerdict::kStale: return "stale";
  }
  return "unknown";
}

std::string_view IntegrityOutcomeName(IntegrityOutcome o) {
  switch (o) {
    case IntegrityOutcome::kVerified: return "verified";
    case IntegrityOutcome::kMismatch: return "mismatch";
    case IntegrityOutcome::kIncomplete: return "incomplete";
    case IntegrityOutcome::kUnverified: return "unverified";
  }
  return "unknown";
}

absl::Status FanoutSink::Accept(const ReceivedPdu& pdu) {
  absl::Status first;
  for (RecordSink* s : sinks_) {
    absl::Status st = s->Accept(pdu);
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}
void FanoutSink::OnIntegrityResult(const IntegrityResult& result) {
  for (RecordSink* s : sinks_) s->OnIntegrityResult(result);
}
void FanoutSink::OnConnectionOpen(const ConnectionInfo& conn) {
  for (RecordSink* s : sinks_) s->OnConnectionOpen(conn);
}
void FanoutSink::OnConnectionBytes(const ConnectionInfo& conn, base::Bytes data) {
  for (RecordSink* s : sinks_) s->OnConnectionBytes(conn, data);
}
void FanoutSink::OnConnectionClose(const ConnectionInfo& conn, std::string_view reason) {
  for (RecordSink* s : sinks_) s->OnConnectionClose(conn, reason);
}
absl::Status FanoutSink::Flush() {
  absl::Status first;
  for (RecordSink* s : sinks_) {
    absl::Status st = s->Flush();
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}
bool FanoutSink::Saturated() const {
  for (RecordSink* s : sinks_) {
    if (s->Saturated()) return true;
  }
  return false;
}

bool FanoutSink::Durable() const {
  for (RecordSink* s : sinks_) {
    if (s->Durable()) return true;
  }
  return false;
}

void FanoutSink::WhenDurable(std::function<void()> done) {
  if (sinks_.empty()) {
    done();
    return;
  }
  // The last sink to report runs `done`; the counter is shared because the sinks may report
  // on different threads, after this call has returned.
  struct Pending {
    std::atomic<size_t> left;
    std::function<void()> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->left.store(sinks_.size());
  pending->done = std::move(done);
  for (RecordSink* s : sinks_) {
    s->WhenDurable([pending] {
      if (pending->left.fetch_sub(1, std::memory_order_acq_rel) == 1) pending->done();
    });
  }
}

}  // namespace tapvault::ingest
