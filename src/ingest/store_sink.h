// The RecordSink that keeps every accepted PDU in the cold store (store::Store): the bytes as
// received, with receipt time, connection, LIID, network id ("operator/element"), CIN, sequence
// number and the parties the decoders extracted. It is durable: pDUAcknowledgementRequests are
// answered only after the store's group commit (WhenDurable), and while the store's queue is full
// or its disk refuses writes, Saturated() pauses reading from the sockets.
//
//   ASSIGN_OR_RETURN(auto st, store::Store::Open({.dir = dir}));
//   ingest::StoreSink sink(*st);
//
// Thread-safe (the Store is).
#pragma once

#include "ingest/record_sink.h"
#include "store/store.h"

namespace tapvault::ingest {

class StoreSink : public RecordSink {
 public:
  // `store` must outlive this sink.
  explicit StoreSink(store::Store& store) : store_(store) {}

  absl::Status Accept(const ReceivedPdu& pdu) override;
  void WhenDurable(std::function<void()> done) override { store_.WhenDurable(std::move(done)); }
  bool Durable() const override { return true; }
  bool Saturated() const override { return store_.Saturated(); }
  absl::Status Flush() override { return store_.Flush(); }

 private:
  store::Store& store_;
};

}  // namespace tapvault::ingest
