// Fuzzes the ingest Session on top of the framer (which proto/stream's framer_fuzz covers on its
// own): resync limits, decode, keep-alive answers, sequence tracking, integrity verification,
// close handling, with arbitrary bytes delivered in arbitrary chunks. The first two bytes of the
// input choose the options and the chunk sizes; the rest is the stream. No I/O; work is bounded
// by the input size (max_pdu_bytes is small so incomplete PDUs cannot grow large).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/log.h"
#include "ber/reader.h"
#include "ingest/collecting_sink.h"
#include "ingest/ingest_metrics.h"
#include "ingest/integrity_verifier.h"
#include "ingest/sequence_tracker.h"
#include "ingest/session.h"
#include "proto/li_ps/decode.h"

using namespace tapvault;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static bool quiet = (base::SetMinLogLevel(base::LogLevel::kError), true);
  (void)quiet;
  static metrics::Registry* registry = new metrics::Registry();
  static ingest::IngestMetrics* metrics = new ingest::IngestMetrics(*registry);
  ingest::SequenceTracker tracker({.window = 64, .max_keys = 256});
  ingest::CollectingSink sink;
  auto verifier = ingest::IntegrityVerifier::Create({.max_buffered_bytes = 1 << 20}, nullptr);
  ingest::IngestContext ctx;
  ctx.sink = &sink;
  ctx.tracker = &tracker;
  ctx.verifier = verifier->get();
  ctx.metrics = metrics;
  ctx.options.max_pdu_bytes = 1 << 16;
  ctx.options.resync = (data[0] & 1) != 0;
  if (data[0] & 2) ctx.options.max_resyncs = data[0] >> 4;
  if (data[0] & 4) ctx.options.max_skip_bytes = 16u * (data[0] >> 3);
  size_t chunk_seed = data[1];
  base::Bytes stream(reinterpret_cast<const std::byte*>(data + 2), size - 2);
  ingest::ConnectionInfo info;
  info.id = 1;
  ingest::Session session(info, ctx);
  std::string reply;
  size_t pos = 0;
  bool failed = false;
  while (pos < stream.size()) {
    size_t n = 1 + (chunk_seed * 31 + pos) % 257;
    if (n > stream.size() - pos) n = stream.size() - pos;
    absl::Status s = session.OnBytes(stream.subspan(pos, n), reply);
    pos += n;
    if (!s.ok()) {
      failed = true;
      break;
    }
  }
  // Nothing but keep-aliveResponses is ever written back.
  for (size_t at = 0; at < reply.size();) {
    proto::PsPdu pdu;
    ber::Context bctx;
    auto len = ber::CompleteTlvLength(base::AsBytes(std::string_view(reply).substr(at)), bctx);
    if (!len.ok() || *len == 0) abort();
    const auto frame = base::AsBytes(std::string_view(reply).substr(at, *len));
    if (!proto::li_ps::DecodePsPdu(frame, pdu).ok() || pdu.items.size() != 1 ||
        pdu.items[0].kind != proto::Kind::kKeepaliveResponse) {
      abort();
    }
    at += *len;
  }
  if (session.bytes_received() != (failed ? pos : stream.size())) abort();
  if (!ctx.options.resync && session.resyncs() != 0) abort();
  if (session.resyncs() > ctx.options.max_resyncs) abort();
  session.OnClose("fuzz");
  (*verifier)->ExpireAll();
  return 0;
}
