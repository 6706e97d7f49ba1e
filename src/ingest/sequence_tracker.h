// Tracks TS 102 232-1 sequence numbers per delivery stream, across connections: a stream is
// (LIID, operator id, network element id, CIN, IRI|CC). It classifies every PDU (in order, gap,
// reordered, duplicate, conflict, stale) so that re-sent PDUs after a mediator reconnect are
// counted and not stored twice.
//
//   ingest::SequenceTracker tracker({});
//   SequenceVerdict v = tracker.Observe(key, pdu.header.sequence_number, raw_bytes, now);
//
// A duplicate is the same sequence number with the same bytes (compared by a 64-bit hash);
// the same number with different bytes is a conflict. Memory is bounded: each key remembers the
// last `window` sequence numbers, there are at most `max_keys` keys (the least recently used are
// evicted first) and keys idle for `idle_timeout_us` are dropped by EvictIdle().
// Thread-safe (sharded mutexes).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "base/byte_reader.h"
#include "base/time.h"
#include "ingest/record_sink.h"
#include "proto/record/record.h"

namespace tapvault::ingest {

struct SequenceTrackerOptions {
  uint32_t window = 1024;                       // remembered sequence numbers per key
  size_t max_keys = 200000;                     // over all shards
  int64_t idle_timeout_us = 3600LL * 1000000;   // keys unseen this long are evicted
};

struct SequenceCounts {
  uint64_t gaps = 0;          // gap events
  uint64_t missing = 0;       // sequence numbers skipped by gaps
  uint64_t duplicates = 0;
  uint64_t conflicts = 0;
  uint64_t reordered = 0;
  uint64_t stale = 0;
};

class SequenceTracker {
 public:
  explicit SequenceTracker(SequenceTrackerOptions options);

  // The tracking key of a PDU, or "" when it is not tracked (keep-alives and other TRI PDUs,
  // HI1 notifications, PDUs without a CIN).
  static std::string KeyOf(const proto::PsPdu& pdu);

  SequenceVerdict Observe(std::string_view key, uint32_t seq, base::Bytes raw,
                          base::Timestamp now);

  // Drops keys not seen since `now - idle_timeout_us`; returns how many.
  // Undoes Observe() of exactly this PDU (same key, number and bytes), e.g. when the sink did not
  // keep it: a later re-send is then not a duplicate. Counters are not rewound.
  void Forget(std::string_view key, uint32_t seq, base::Bytes raw);
  size_t EvictIdle(base::Timestamp now);
  size_t KeyCount() const;
  SequenceCounts Counts() const;

 private:
  struct Slot {
    uint32_t seq = 0;
    bool used = false;
    uint64_t hash = 0;
  };
  struct Stream {
    uint32_t highest = 0;
    int64_t last_seen_us = 0;
    std::vector<Slot> slots;  // indexed by seq % window
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, Stream> streams ABSL_GUARDED_BY(mu);
    SequenceCounts counts ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 32;

  Shard& ShardFor(std::string_view key);
  void EvictOldestLocked(Shard& shard) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  SequenceTrackerOptions options_;
  size_t max_keys_per_shard_;
  std::array<Shard, kShards> shards_;
};

// 64-bit content hash used to tell duplicates from conflicts (not cryptographic).
uint64_t ContentHash(base::Bytes raw);

}  // namespace tapvault::ingest
