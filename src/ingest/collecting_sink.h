// A RecordSink for tests: keeps a copy of everything it is given. Thread-safe.
//
//   ingest::CollectingSink sink;
//   ... run sessions ...
//   auto records = sink.Records();   // in arrival order
//
// Durability for acknowledgement tests: after SetDurableForTest(true) the sink claims Durable()
// and WhenDurable only keeps its callback; MakeDurableForTest() then "commits" and runs them
// (on the calling thread), as the store's writer would after an fsync.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "ingest/record_sink.h"

namespace tapvault::ingest {

class CollectingSink : public RecordSink {
 public:
  struct Record {
    uint64_t connection_id = 0;
    std::string raw;
    uint64_t stream_offset = 0;
    proto::Kind kind = proto::Kind::kUnknown;
    std::string liid;
    uint32_t cin = 0;
    uint32_t seq = 0;
    SequenceVerdict verdict = SequenceVerdict::kUntracked;
  };

  absl::Status Accept(const ReceivedPdu& pdu) override {
    Record r;
    r.connection_id = pdu.connection->id;
    r.raw.assign(reinterpret_cast<const char*>(pdu.raw.data()), pdu.raw.size());
    r.stream_offset = pdu.stream_offset;
    r.kind = pdu.pdu->items.empty() ? proto::Kind::kUnknown : pdu.pdu->items.front().kind;
    r.liid = std::string(pdu.pdu->header.liid);
    r.cin = pdu.pdu->header.cin.value_or(0);
    r.seq = pdu.pdu->header.sequence_number;
    r.verdict = pdu.verdict;
    absl::MutexLock lock(&mu_);
    records_.push_back(std::move(r));
    return fail_ ? absl::UnavailableError("collecting sink: failing on purpose")
                 : absl::OkStatus();
  }
  void OnIntegrityResult(const IntegrityResult& result) override {
    absl::MutexLock lock(&mu_);
    integrity_.push_back(result);
  }
  void OnConnectionClose(const ConnectionInfo& conn, std::string_view reason) override {
    absl::MutexLock lock(&mu_);
    closed_.push_back(std::string(reason));
  }

  std::vector<Record> Records() const {
    absl::MutexLock lock(&mu_);
    return records_;
  }
  std::vector<IntegrityResult> IntegrityResults() const {
    absl::MutexLock lock(&mu_);
    return integrity_;
  }
  std::vector<std::string> CloseReasons() const {
    absl::MutexLock lock(&mu_);
    return closed_;
  }
  void SetFailForTest(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_ = fail;
  }

  bool Durable() const override {
    absl::MutexLock lock(&mu_);
    return durable_;
  }
  void WhenDurable(std::function<void()> done) override {
    {
      absl::MutexLock lock(&mu_);
      if (durable_) {
        waiting_.emplace_back(records_.size(), std::move(done));
        return;
      }
    }
    done();
  }
  void SetDurableForTest(bool durable) {
    absl::MutexLock lock(&mu_);
    durable_ = durable;
  }
  // Runs the waiting WhenDurable callbacks; returns how many.
  size_t MakeDurableForTest() {
    std::vector<std::pair<size_t, std::function<void()>>> run;
    {
      absl::MutexLock lock(&mu_);
      run.swap(waiting_);
    }
    for (auto& [records, done] : run) done();
    return run.size();
  }
  // For each waiting callback: how many records had been accepted when WhenDurable was called.
  std::vector<size_t> WaitingForTest() const {
    absl::MutexLock lock(&mu_);
    std::vector<size_t> out;
    for (const auto& w : waiting_) out.push_back(w.first);
    return out;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Record> records_ ABSL_GUARDED_BY(mu_);
  std::vector<IntegrityResult> integrity_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> closed_ ABSL_GUARDED_BY(mu_);
  bool fail_ ABSL_GUARDED_BY(mu_) = false;
  bool durable_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::pair<size_t, std::function<void()>>> waiting_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tapvault::ingest
