#include "ingest/integrity_verifier.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "ber/reader.h"

namespace tapvault::ingest {
namespace {

constexpr uint8_t kCheckTypeHash = 1;       // TS 102 232-1 CheckType hash(1)
constexpr uint8_t kCheckTypeSignature = 2;  // signature(2)
constexpr uint8_t kDataTypeIri = 1;         // DataType iRI(1)
constexpr uint8_t kDataTypeCc = 2;          // cC(2)
constexpr uint8_t kSha256 = 2;              // HashAlgorithm sha-256(2)

const EVP_MD* DigestFor(uint8_t alg) {
  switch (alg) {
    case 1: return EVP_sha1();
    case 2: return EVP_sha256();
    case 3: return EVP_sha384();
    case 4: return EVP_sha512();
    default: return nullptr;
  }
}

// Ring sizes (bytes, powers of two). A key's ring starts at kMinRingBytes (most keys, IRI of one
// call, hold a few KB); ExpirePending shrinks rings above kKeepRingBytes that are mostly empty.
constexpr uint64_t kMinRingBytes = 1024;
constexpr uint64_t kKeepRingBytes = 64 * 1024;
constexpr uint64_t kPrefetchBytes = 512;  // ahead of the ring's tail: a typical CC PDU
// Encodings are kept with 32-bit lengths; the framer's limit (16 MiB) is far below.
constexpr uint64_t kMaxEncodingBytes = uint64_t{1} << 31;

// One buffered encoding of a key.
struct Slot {
  uint64_t serial;  // arrival number within the key: strictly increasing along the slot deque
  uint64_t pos;     // absolute ring position; the bytes are contiguous at pos & (cap - 1)
  uint32_t len;
  uint32_t seq;     // PSHeader sequenceNumber
  bool live;        // false once checked, evicted or replaced (kept while older slots remain)
};

}  // namespace

// The buffered encodings of one key live in a single ring buffer, in arrival order, indexed by
// a deque of slots (also in arrival order). This replaces a map node plus a string allocation
// per PDU with a memcpy into memory that is reused once the ring has grown to the working set.
// - Reclaiming: dead slots at the front are popped, which frees their ring bytes. A live slot
//   at the front pins the ring; when the ring is full it is rebuilt (live encodings copied to a
//   new ring, doubled when more than half would be in use, dead slots dropped).
// - Lookup by seq (to hash, to replace a re-sent seq): while seqs arrive in increasing order
//   (normal), the deque is sorted by seq and searched directly; after a seq arrives out of order
//   (reordering, a re-sent seq, 32-bit wrap) a seq -> serial hash index is kept until every slot
//   older than the out-of-order one has left the deque.
// - Lookup by serial (FIFO entries): serials are consecutive until a rebuild drops dead slots,
//   then binary search.
struct IntegrityVerifier::KeyState {
  std::string liid;
  uint32_t cin = 0;
  uint8_t data_type = 0;
  size_t hash = 0;  // KeyRef::hash

  std::deque<Slot> slots;  // front() is live, or the deque is empty
  std::unique_ptr<char[]> ring;
  uint64_t cap = 0;   // ring size, 0 or a power of two
  uint64_t tail = 0;  // absolute position of the next write
  size_t live = 0;    // live slots
  size_t live_bytes = 0;
  uint64_t next_serial = 0;
  uint64_t sorted_from = 0;  // slots with serial >= this are sorted by seq
  absl::flat_hash_map<uint32_t, uint64_t> by_seq;  // seq -> serial of live slots, when Indexed()

  std::deque<Pending> pending;
  std::map<uint32_t, HashRecord> hash_records;  // hash PDU seq -> its IntegrityCheck contents
  int64_t last_seen_us = 0;

  bool Indexed() const { return !slots.empty() && slots.front().serial < sorted_from; }

  base::Bytes View(const Slot& s) const {
    return {reinterpret_cast<const std::byte*>(ring.get() + (s.pos & (cap - 1))), s.len};
  }

  Slot* FindSerial(uint64_t serial) {
    if (slots.empty() || serial < slots.front().serial) return nullptr;
    uint64_t d = serial - slots.front().serial;
    Slot* s = nullptr;
    if (d < slots.size() && slots[d].serial == serial) {
      s = &slots[d];
    } else {
      auto it = std::lower_bound(slots.begin(), slots.end(), serial,
                                 [](const Slot& a, uint64_t v) { return a.serial < v; });
      if (it != slots.end() && it->serial == serial) s = &*it;
    }
    return s != nullptr && s->live ? s : nullptr;
  }

  Slot* FindSeq(uint32_t seq) {
    if (slots.empty()) return nullptr;
    if (Indexed()) {
      auto it = by_seq.find(seq);
      return it == by_seq.end() ? nullptr : FindSerial(it->second);
    }
    // Sorted by seq: a new seq (the common case) is past the back.
    if (seq > slots.back().seq || seq < slots.front().seq) return nullptr;
    uint32_t d = seq - slots.front().seq;  // in-order, gapless streams: the slot's index
    Slot* s = nullptr;
    if (d < slots.size() && slots[d].seq == seq) {
      s = &slots[d];
    } else {
      auto it = std::lower_bound(slots.begin(), slots.end(), seq,
                                 [](const Slot& a, uint32_t v) { return a.seq < v; });
      if (it != slots.end() && it->seq == seq) s = &*it;
    }
    return s != nullptr && s->live ? s : nullptr;
  }

  // Copies `raw` into the ring and appends its slot. REQUIRES: no live slot has `seq`.
  uint64_t Append(uint32_t seq, base::Bytes raw) {
    if (!slots.empty() && seq <= slots.back().seq) {
      // Out of order: index by seq until the slots before this one are gone.
      if (!Indexed()) {
        by_seq.clear();
        for (const Slot& s : slots) {
          if (s.live) by_seq[s.seq] = s.serial;
        }
      }
      sorted_from = next_serial;
    }
    const uint64_t len = raw.size();
    const uint64_t head = slots.empty() ? tail : slots.front().pos;
    uint64_t w = tail;
    if (cap != 0 && (w & (cap - 1)) + len > cap) w = (w | (cap - 1)) + 1;  // wrap to the start
    if (cap == 0 || w + len - head > cap) {
      uint64_t need = live_bytes + len;
      uint64_t new_cap = std::max(cap, kMinRingBytes);
      if (2 * need > new_cap) new_cap *= 2;  // else compacting frees at least half
      new_cap = std::max(new_cap, std::bit_ceil(need));
      Rebuild(new_cap);
      w = tail;  // the rebuilt ring is contiguous from 0
    }
    if (len != 0) std::memcpy(ring.get() + (w & (cap - 1)), raw.data(), len);
    tail = w + len;
    // The next encoding goes here; once the ring is larger than the cache these lines are cold
    // (written one lap ago), and fetching them now takes the miss off the next copy.
    for (uint64_t off = 0; off < kPrefetchBytes && off < cap; off += 64) {
      __builtin_prefetch(ring.get() + ((tail + off) & (cap - 1)), 1);
    }
    const uint64_t serial = next_serial++;
    // Field by field in place: building the Slot on the stack and copying it as a whole made
    // a 16-byte load from narrower stores (a store-forwarding stall, ~40 % of Append).
    Slot& slot = slots.emplace_back();
    slot.serial = serial;
    slot.pos = w;
    slot.len = static_cast<uint32_t>(len);
    slot.seq = seq;
    slot.live = true;
    if (Indexed()) by_seq[seq] = serial;
    ++live;
    live_bytes += len;
    return serial;
  }

  // Marks `s` dead and pops dead slots from the front. Returns its length. `s` is invalid after.
  size_t Remove(Slot& s) {
    s.live = false;
    --live;
    live_bytes -= s.len;
    if (Indexed()) {
      auto it = by_seq.find(s.seq);
      if (it != by_seq.end() && it->second == s.serial) by_seq.erase(it);
    }
    const size_t len = s.len;
    while (!slots.empty() && !slots.front().live) slots.pop_front();
    if (slots.empty()) tail = 0;
    if (!Indexed() && !by_seq.empty()) by_seq.clear();
    return len;
  }

  // Copies the live encodings, in arrival order, to a new ring of `new_cap` bytes (0: none) and
  // drops the dead slots. REQUIRES: new_cap is 0 or a power of two >= live_bytes.
  void Rebuild(uint64_t new_cap) {
    std::unique_ptr<char[]> next;
    if (new_cap != 0) next = std::make_unique_for_overwrite<char[]>(new_cap);
    uint64_t w = 0;
    std::deque<Slot> kept;
    for (Slot& s : slots) {
      if (!s.live) continue;
      if (s.len != 0) std::memcpy(next.get() + w, ring.get() + (s.pos & (cap - 1)), s.len);
      s.pos = w;
      w += s.len;
      kept.push_back(s);
    }
    slots.swap(kept);
    ring = std::move(next);
    cap = new_cap;
    tail = w;
  }

  // Gives back ring memory that is mostly unused (called once a second at most).
  void Shrink() {
    if (cap <= kKeepRingBytes || live_bytes * 8 >= cap) return;
    Rebuild(live == 0 ? 0 : std::max(kMinRingBytes, std::bit_ceil(2 * uint64_t{live_bytes})));
  }
};

absl::StatusOr<std::string> IntegrityHash(uint8_t hash_algorithm,
                                          const std::vector<base::Bytes>& parts) {
  const EVP_MD* md = DigestFor(hash_algorithm);
  if (md == nullptr) {
    return absl::InvalidArgumentError(
        base::StrCat("integrity: unknown hashAlgorithm ", static_cast<int>(hash_algorithm)));
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
    return absl::InternalError("integrity: EVP_DigestInit_ex failed");
  }
  for (base::Bytes p : parts) {
    if (EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1) {
      return absl::InternalError("integrity: EVP_DigestUpdate failed");
    }
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out, &len) != 1) {
    return absl::InternalError("integrity: EVP_DigestFinal_ex failed");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

absl::StatusOr<base::Bytes> IntegrityCheckContents(base::Bytes pdu_encoding) {
  // PS-PDU ::= SEQUENCE { pSHeader [1], payload [2] Payload }; Payload and TRIPayload are
  // CHOICEs, so their tags are explicit: 30 { a1 {...}, a2 { a2 { a0 { IntegrityCheck } } } }.
  ber::Context ctx;
  ASSIGN_OR_RETURN(ber::Tlv top, ber::ReadSingle(pdu_encoding, ctx));
  ASSIGN_OR_RETURN(ber::Reader fields, ber::Reader(pdu_encoding, ctx).Enter(top));
  while (!fields.AtEnd()) {
    ber::Tlv f;
    RETURN_IF_ERROR(fields.Next(f));
    if (!f.IsContext(2)) continue;
    ASSIGN_OR_RETURN(ber::Reader payload, fields.Enter(f));
    ber::Tlv tri;
    RETURN_IF_ERROR(payload.Next(tri));
    if (!tri.IsContext(2)) return absl::InvalidArgumentError("integrity: not a TRIPayload");
    ASSIGN_OR_RETURN(ber::Reader tri_reader, payload.Enter(tri));
    ber::Tlv ic;
    RETURN_IF_ERROR(tri_reader.Next(ic));
    if (!ic.IsContext(0)) return absl::InvalidArgumentError("integrity: not an integrityCheck");
    return ic.value;
  }
  return absl::InvalidArgumentError("integrity: no payload");
}

absl::StatusOr<std::unique_ptr<IntegrityVerifier>> IntegrityVerifier::Create(
    IntegrityVerifierOptions options, ResultCallback on_result) {
  std::unique_ptr<IntegrityVerifier> v(new IntegrityVerifier(options, std::move(on_result)));
  for (const auto& [element, pem] : options.signature_keys) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), pem.size()),
                                                  BIO_free);
    EVP_PKEY* key = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (key == nullptr) {
      return absl::InvalidArgumentError(
          base::StrCat("integrity: signature key for '", element, "' is not a PEM public key"));
    }
    v->public_keys_[element] = key;
  }
  return v;
}

IntegrityVerifier::IntegrityVerifier(IntegrityVerifierOptions options, ResultCallback on_result)
    : options_(std::move(options)), on_result_(std::move(on_result)) {}

IntegrityVerifier::~IntegrityVerifier() {
  for (auto& [name, key] : public_keys_) EVP_PKEY_free(key);
}

IntegrityVerifier::KeyRef IntegrityVerifier::MakeKeyRef(std::string_view liid, uint32_t cin,
                                                        uint8_t data_type) {
  return KeyRef{liid, cin, data_type,
                absl::HashOf(absl::string_view(liid.data(), liid.size()), cin, data_type)};
}

IntegrityVerifier::Shard& IntegrityVerifier::ShardFor(const KeyRef& key) {
  // The high bits: the map inside the shard uses the low ones.
  return shards_[(key.hash >> 48) % kShards];
}

IntegrityVerifier::KeyState& IntegrityVerifier::Shard::Get(const KeyRef& ref) {
  if (last_key != nullptr && last_key->hash == ref.hash && last_key->cin == ref.cin &&
      last_key->data_type == ref.data_type && last_key->liid == ref.liid) {
    return *last_key;
  }
  auto it = keys.find(ref);
  if (it == keys.end()) {
    auto ks = std::make_unique<KeyState>();
    ks->liid = std::string(ref.liid);
    ks->cin = ref.cin;
    ks->data_type = ref.data_type;
    ks->hash = ref.hash;
    KeyRef stored{ks->liid, ref.cin, ref.data_type, ref.hash};  // views the KeyState's own copy
    it = keys.emplace(stored, std::move(ks)).first;
  }
  last_key = it->second.get();
  return *last_key;
}

// Advances e.first to its first serial whose encoding is still kept; false (and e.first past
// e.last) if there is none.
bool IntegrityVerifier::SkipGone(FifoEntry& e) {
  KeyState& k = *e.key;
  if (!k.slots.empty()) {
    e.first = std::max(e.first, k.slots.front().serial);  // everything older is gone
    for (; e.first <= e.last; ++e.first) {
      if (k.FindSerial(e.first) != nullptr) return true;
    }
  }
  e.first = e.last + 1;
  return false;
}

void IntegrityVerifier::CountLocked(Shard& shard, IntegrityOutcome o) {
  switch (o) {
    case IntegrityOutcome::kVerified: shard.counts.verified++; break;
    case IntegrityOutcome::kMismatch: shard.counts.mismatch++; break;
    case IntegrityOutcome::kIncomplete: shard.counts.incomplete++; break;
    case IntegrityOutcome::kUnverified: shard.counts.unverified++; break;
  }
}

bool IntegrityVerifier::TryComplete(Shard& shard, KeyState& ks, Pending& p) {
  std::vector<base::Bytes> parts;
  parts.reserve(p.result.covered.size());
  for (uint32_t seq : p.result.covered) {
    const Slot* s = ks.FindSeq(seq);
    if (s == nullptr) return false;
    parts.push_back(ks.View(*s));
  }
  absl::StatusOr<std::string> digest = IntegrityHash(p.hash_algorithm, parts);
  p.result.outcome = (digest.ok() && *digest == p.check_value) ? IntegrityOutcome::kVerified
                                                               : IntegrityOutcome::kMismatch;
  // Each PDU is covered by one hash; free the encodings now.
  for (uint32_t seq : p.result.covered) {
    if (Slot* s = ks.FindSeq(seq)) {
      shard.bytes -= ks.Remove(*s);
      --shard.live;
    }
  }
  CountLocked(shard, p.result.outcome);
  return true;
}

IntegrityOutcome IntegrityVerifier::VerifySignature(const proto::PsPdu& pdu,
                                                    const proto::IntegrityCheck& ic,
                                                    KeyState& ks) {
  auto key_it = public_keys_.find(std::string(pdu.header.network_element_id));
  if (key_it == public_keys_.end()) return IntegrityOutcome::kUnverified;
  std::vector<base::Bytes> parts;
  for (uint32_t seq : ic.sequence_numbers) {
    auto it = ks.hash_records.find(seq);
    if (it == ks.hash_records.end()) return IntegrityOutcome::kIncomplete;
    parts.push_back(base::AsBytes(it->second.ic_contents));
  }
  uint8_t alg = ic.hash_algorithm != 0 ? ic.hash_algorithm : kSha256;
  absl::StatusOr<std::string> digest = IntegrityHash(alg, parts);
  if (!digest.ok()) return IntegrityOutcome::kMismatch;
  EVP_PKEY* key = key_it->second;
  const unsigned char* sig = reinterpret_cast<const unsigned char*>(ic.check_value.data());
  size_t sig_len = ic.check_value.size();
  // The mediator signs the digest it computed (pre-hashed ECDSA).
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> pctx(EVP_PKEY_CTX_new(key, nullptr),
                                                                   EVP_PKEY_CTX_free);
  if (pctx && EVP_PKEY_verify_init(pctx.get()) == 1 &&
      EVP_PKEY_verify(pctx.get(), sig, sig_len,
                      reinterpret_cast<const unsigned char*>(digest->data()),
                      digest->size()) == 1) {
    return IntegrityOutcome::kVerified;
  }
  return IntegrityOutcome::kMismatch;
}

void IntegrityVerifier::BufferEncoding(Shard& shard, KeyState& ks, uint32_t seq, base::Bytes raw,
                                       std::vector<IntegrityResult>& done) {
  if (raw.size() >= kMaxEncodingBytes) {
    shard.counts.evicted_pdus++;
    return;
  }
  if (Slot* old = ks.FindSeq(seq)) {  // the seq again (a conflict): keep the latest encoding
    shard.bytes -= ks.Remove(*old);
    --shard.live;
  }
  const uint64_t serial = ks.Append(seq, raw);
  shard.bytes += raw.size();
  ++shard.live;
  if (!shard.order.empty() && shard.order.back().key == &ks &&
      shard.order.back().last + 1 == serial) {
    shard.order.back().last = serial;
  } else {
    shard.order.push_back(FifoEntry{&ks, serial, serial});
  }
  // Per-key bound: drop the oldest (arrival order; for an in-order stream the lowest seq).
  while (ks.live > options_.max_pdus_per_key) {
    shard.bytes -= ks.Remove(ks.slots.front());
    --shard.live;
    shard.counts.evicted_pdus++;
  }
  if (!ks.pending.empty()) {
    for (auto it = ks.pending.begin(); it != ks.pending.end();) {
      if (seq >= it->covered_min && seq <= it->covered_max &&
          std::find(it->result.covered.begin(), it->result.covered.end(), seq) !=
              it->result.covered.end() &&
          TryComplete(shard, ks, *it)) {
        done.push_back(std::move(it->result));
        it = ks.pending.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Global bound: drop the oldest buffered encodings (FIFO over this shard).
  const size_t budget = options_.max_buffered_bytes / kShards;
  while (shard.bytes > budget && !shard.order.empty()) {
    FifoEntry& e = shard.order.front();
    if (!SkipGone(e)) {
      shard.order.pop_front();
      continue;
    }
    KeyState& k = *e.key;
    Slot* s = k.FindSerial(e.first);
    if (e.first++ == e.last) shard.order.pop_front();
    shard.bytes -= k.Remove(*s);
    --shard.live;
    shard.counts.evicted_pdus++;
    if (k.live == 0) k.Rebuild(0);  // memory pressure: give the ring back
  }
  // Serials whose encodings are already gone (checked, or evicted by the per-key bound): drop
  // them from the front as they surface, and all of them when they pile up behind a live one.
  while (!shard.order.empty() && !SkipGone(shard.order.front())) shard.order.pop_front();
  if (shard.order.size() > 2 * shard.live + 1024) {
    for (FifoEntry& e : shard.order) SkipGone(e);
    std::erase_if(shard.order, [](const FifoEntry& e) { return e.first > e.last; });
  }
}

void IntegrityVerifier::ObservePdu(const proto::PsPdu& pdu, base::Bytes raw,
                                   uint64_t connection_id, base::Timestamp now) {
  if (pdu.items.empty()) return;
  const proto::PayloadItem& item = pdu.items.front();
  std::vector<IntegrityResult> done;
  uint32_t cin = pdu.header.cin.value_or(0);

  if (proto::IsIri(item.kind) || item.kind == proto::Kind::kCc) {
    if (!pdu.header.cin.has_value()) return;
    uint8_t type = item.kind == proto::Kind::kCc ? kDataTypeCc : kDataTypeIri;
    const KeyRef key = MakeKeyRef(pdu.header.liid, cin, type);
    Shard& shard = ShardFor(key);
    {
      absl::MutexLock lock(&shard.mu);
      KeyState& ks = shard.Get(key);
      ks.last_seen_us = now.unix_us;
      BufferEncoding(shard, ks, pdu.header.sequence_number, raw, done);
    }
  } else if (item.kind == proto::Kind::kIntegrityCheck && item.integrity.has_value()) {
    const proto::IntegrityCheck& ic = *item.integrity;
    const KeyRef key = MakeKeyRef(pdu.header.liid, cin, ic.data_type);
    IntegrityResult result;
    result.liid = std::string(pdu.header.liid);
    result.cin = cin;
    result.data_type = ic.data_type;
    result.check_type = ic.check_type;
    result.check_sequence_number = pdu.header.sequence_number;
    result.covered = ic.sequence_numbers;
    result.connection_id = connection_id;
    Shard& shard = ShardFor(key);
    absl::MutexLock lock(&shard.mu);
    KeyState& ks = shard.Get(key);
    ks.last_seen_us = now.unix_us;
    if (ic.check_type == kCheckTypeHash) {
      absl::StatusOr<base::Bytes> contents = IntegrityCheckContents(raw);
      if (contents.ok()) {
        ks.hash_records[pdu.header.sequence_number].ic_contents = std::string(base::AsString(*contents));
        while (ks.hash_records.size() > options_.max_hash_records_per_key) {
          ks.hash_records.erase(ks.hash_records.begin());
        }
      }
      Pending p;
      p.result = std::move(result);
      p.hash_algorithm = ic.hash_algorithm != 0 ? ic.hash_algorithm : kSha256;
      p.check_value = std::string(base::AsString(ic.check_value));
      p.deadline_us = now.unix_us + options_.pending_timeout_us;
      if (!p.result.covered.empty()) {
        auto [lo, hi] = std::minmax_element(p.result.covered.begin(), p.result.covered.end());
        p.covered_min = *lo;
        p.covered_max = *hi;
      }
      if (TryComplete(shard, ks, p)) {
        done.push_back(std::move(p.result));
      } else {
        if (ks.pending.size() >= options_.max_pending_per_key) {
          Pending& old = ks.pending.front();
          old.result.outcome = IntegrityOutcome::kIncomplete;
          CountLocked(shard, old.result.outcome);
          done.push_back(std::move(old.result));
          ks.pending.pop_front();
        }
        ks.pending.push_back(std::move(p));
      }
    } else if (ic.check_type == kCheckTypeSignature) {
      result.outcome = VerifySignature(pdu, ic, ks);
      CountLocked(shard, result.outcome);
      done.push_back(std::move(result));
    }
  }
  for (const IntegrityResult& r : done) {
    if (on_result_) on_result_(r);
  }
}

void IntegrityVerifier::ExpirePending(base::Timestamp now) {
  std::vector<IntegrityResult> done;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    absl::flat_hash_set<const KeyState*> erased;
    for (auto kit = shard.keys.begin(); kit != shard.keys.end();) {
      KeyState& ks = *kit->second;
      while (!ks.pending.empty() && ks.pending.front().deadline_us <= now.unix_us) {
        Pending& p = ks.pending.front();
        p.result.outcome = IntegrityOutcome::kIncomplete;
        CountLocked(shard, p.result.outcome);
        done.push_back(std::move(p.result));
        ks.pending.pop_front();
      }
      bool idle = ks.last_seen_us + options_.pending_timeout_us <= now.unix_us;
      if (idle && ks.pending.empty()) {
        shard.bytes -= ks.live_bytes;
        shard.live -= ks.live;
        erased.insert(&ks);
        ++kit;
      } else {
        ks.Shrink();
        ++kit;
      }
    }
    if (erased.empty()) continue;
    shard.last_key = nullptr;
    // The FIFO must not outlive the keys its entries point to.
    std::erase_if(shard.order, [&](const FifoEntry& e) { return erased.contains(e.key); });
    absl::erase_if(shard.keys, [&](const auto& kv) { return erased.contains(kv.second.get()); });
  }
  for (const IntegrityResult& r : done) {
    if (on_result_) on_result_(r);
  }
}

void IntegrityVerifier::ExpireAll() {
  std::vector<IntegrityResult> done;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    for (auto& [key, ks] : shard.keys) {
      for (Pending& p : ks->pending) {
        p.result.outcome = IntegrityOutcome::kIncomplete;
        CountLocked(shard, p.result.outcome);
        done.push_back(std::move(p.result));
      }
      ks->pending.clear();
    }
  }
  for (const IntegrityResult& r : done) {
    if (on_result_) on_result_(r);
  }
}

IntegrityCounts IntegrityVerifier::Counts() const {
  IntegrityCounts total;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    total.verified += shard.counts.verified;
    total.mismatch += shard.counts.mismatch;
    total.incomplete += shard.counts.incomplete;
    total.unverified += shard.counts.unverified;
    total.evicted_pdus += shard.counts.evicted_pdus;
  }
  return total;
}

}  // namespace tapvault::ingest
