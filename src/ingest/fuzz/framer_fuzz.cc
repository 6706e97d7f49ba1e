// Fuzzes the ingest Session (framing, resync, decode, keep-alive answers, sequence tracking,
// integrity verification) with arbitrary bytes delivered in arbitrary chunks. The first bytes
// of the input choose the chunk sizes; the rest is the stream. No I/O; work is bounded by the
// input size (max_pdu_bytes is small so incomplete PDUs cannot grow large).
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/log.h"
#include "ingest/collecting_sink.h"
#include "ingest/ingest_metrics.h"
#include "ingest/integrity_verifier.h"
#include "ingest/sequence_tracker.h"
#include "ingest/session.h"

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
  size_t chunk_seed = data[1];
  base::Bytes stream(reinterpret_cast<const std::byte*>(data + 2), size - 2);
  ingest::ConnectionInfo info;
  info.id = 1;
  ingest::Session session(info, ctx);
  std::string reply;
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t n = 1 + (chunk_seed * 31 + pos) % 257;
    if (n > stream.size() - pos) n = stream.size() - pos;
    absl::Status s = session.OnBytes(stream.subspan(pos, n), reply);
    pos += n;
    if (!s.ok()) break;
  }
  session.OnClose("fuzz");
  (*verifier)->ExpireAll();
  return 0;
}
