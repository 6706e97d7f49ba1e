#include "ingest/sequence_tracker.h"

#include "absl/hash/hash.h"
#include "base/strings.h"

namespace tapvault::ingest {

uint64_t ContentHash(base::Bytes raw) {
  // FNV-1a would be slower for ~1 KB PDUs; absl::Hash is seeded per process, which is fine:
  // hashes never leave the process.
  std::string_view s = base::AsString(raw);
  return absl::Hash<absl::string_view>{}(absl::string_view(s.data(), s.size())) ^
         (static_cast<uint64_t>(s.size()) << 48);
}

SequenceTracker::SequenceTracker(SequenceTrackerOptions options) : options_(options) {
  if (options_.window == 0) options_.window = 1;
  max_keys_per_shard_ = options_.max_keys / kShards;
  if (max_keys_per_shard_ == 0) max_keys_per_shard_ = 1;
}

std::string SequenceTracker::KeyOf(const proto::PsPdu& pdu) {
  if (pdu.items.empty() || !pdu.header.cin.has_value()) return "";
  proto::Kind k = pdu.items.front().kind;
  const char* type;
  if (proto::IsIri(k)) {
    type = "I";
  } else if (k == proto::Kind::kCc) {
    type = "C";
  } else if (k == proto::Kind::kIntegrityCheck) {
    // Integrity PDUs count their own sequence numbers, hash and signature PDUs separately
    // (OpenLI: self_seqno_hash / self_seqno_sign per LIID+CIN+type, each from 1).
    const auto& ic = pdu.items.front().integrity;
    if (!ic.has_value()) return "";
    type = ic->check_type == 2 ? (ic->data_type == 1 ? "SI" : "SC") : (ic->data_type == 1 ? "HI" : "HC");
  } else {
    return "";
  }
  // '\0' cannot appear in the printable / short octet fields in a way that makes two different
  // tuples collide, because each field is length-prefixed.
  const proto::PsHeader& h = pdu.header;
  return base::StrCat(h.liid.size(), ":", h.liid, h.operator_id.size(), ":", h.operator_id,
                      h.network_element_id.size(), ":", h.network_element_id, *h.cin, ":", type);
}

SequenceTracker::Shard& SequenceTracker::ShardFor(std::string_view key) {
  size_t h = absl::Hash<absl::string_view>{}(absl::string_view(key.data(), key.size()));
  return shards_[h % kShards];
}

void SequenceTracker::EvictOldestLocked(Shard& shard) {
  auto oldest = shard.streams.end();
  for (auto it = shard.streams.begin(); it != shard.streams.end(); ++it) {
    if (oldest == shard.streams.end() || it->second.last_seen_us < oldest->second.last_seen_us) {
      oldest = it;
    }
  }
  if (oldest != shard.streams.end()) shard.streams.erase(oldest);
}

SequenceVerdict SequenceTracker::Observe(std::string_view key, uint32_t seq, base::Bytes raw,
                                         base::Timestamp now) {
  if (key.empty()) return SequenceVerdict::kUntracked;
  uint64_t hash = ContentHash(raw);
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.streams.find(absl::string_view(key.data(), key.size()));
  if (it == shard.streams.end()) {
    if (shard.streams.size() >= max_keys_per_shard_) EvictOldestLocked(shard);
    Stream s;
    s.highest = seq;
    s.last_seen_us = now.unix_us;
    s.slots.resize(options_.window);
    s.slots[seq % options_.window] = {seq, true, hash};
    shard.streams.emplace(std::string(key), std::move(s));
    return SequenceVerdict::kFirst;
  }
  Stream& s = it->second;
  s.last_seen_us = now.unix_us;
  Slot& slot = s.slots[seq % options_.window];
  if (seq > s.highest) {
    uint64_t skipped = static_cast<uint64_t>(seq) - s.highest - 1;
    s.highest = seq;
    slot = {seq, true, hash};
    if (skipped == 0) return SequenceVerdict::kInOrder;
    shard.counts.gaps++;
    shard.counts.missing += skipped;
    return SequenceVerdict::kGap;
  }
  // seq <= highest: seen before, late, or too old to know.
  if (static_cast<uint64_t>(s.highest) - seq >= options_.window) {
    shard.counts.stale++;
    return SequenceVerdict::kStale;
  }
  if (slot.used && slot.seq == seq) {
    if (slot.hash == hash) {
      shard.counts.duplicates++;
      return SequenceVerdict::kDuplicate;
    }
    shard.counts.conflicts++;
    return SequenceVerdict::kConflict;
  }
  slot = {seq, true, hash};
  shard.counts.reordered++;
  return SequenceVerdict::kReordered;
}

void SequenceTracker::Forget(std::string_view key, uint32_t seq, base::Bytes raw) {
  if (key.empty()) return;
  const uint64_t hash = ContentHash(raw);
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.streams.find(absl::string_view(key.data(), key.size()));
  if (it == shard.streams.end()) return;
  Slot& slot = it->second.slots[seq % options_.window];
  if (slot.used && slot.seq == seq && slot.hash == hash) slot.used = false;
}

size_t SequenceTracker::EvictIdle(base::Timestamp now) {
  size_t evicted = 0;
  int64_t cutoff = now.unix_us - options_.idle_timeout_us;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    for (auto it = shard.streams.begin(); it != shard.streams.end();) {
      if (it->second.last_seen_us < cutoff) {
        shard.streams.erase(it++);
        ++evicted;
      } else {
        ++it;
      }
    }
  }
  return evicted;
}

size_t SequenceTracker::KeyCount() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    n += shard.streams.size();
  }
  return n;
}

SequenceCounts SequenceTracker::Counts() const {
  SequenceCounts total;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    total.gaps += shard.counts.gaps;
    total.missing += shard.counts.missing;
    total.duplicates += shard.counts.duplicates;
    total.conflicts += shard.counts.conflicts;
    total.reordered += shard.counts.reordered;
    total.stale += shard.counts.stale;
  }
  return total;
}

}  // namespace tapvault::ingest
