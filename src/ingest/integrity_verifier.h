// Verifies TS 102 232-1 clause 7.2 integrity checks as mediators send them: a hash PDU
// (TRIPayload integrityCheck, checkType hash) carries the hash over the complete encodings of
// the listed PDUs of one LIID + CIN + dataType (IRI or CC), concatenated in the listed order;
// a signature PDU carries a signature over earlier hash PDUs of the same LIID + CIN + dataType.
// Checks may arrive before the PDUs they cover, so both sides wait for each other:
// - the encodings of recent IRI/CC PDUs are kept (copied) in a bounded buffer: one ring buffer
//   per LIID + CIN + dataType, so buffering a PDU costs a copy and no allocation in the steady
//   state. The bounds count encoding bytes; the rings add slack (they double as they grow, and a
//   ring that is mostly unused is shrunk by the next ExpirePending, or freed when the memory
//   bound empties it);
// - a hash check whose PDUs are not all there yet stays pending until they arrive or it expires.
//
//   ingest::IntegrityVerifier verifier({}, [&](const IntegrityResult& r) { sink.OnIntegrityResult(r); });
//   verifier.ObservePdu(pdu, raw, conn_id, now);    // every accepted PDU, in stream order
//   verifier.ExpirePending(now);                    // periodically
//
// Signatures (OpenLI's layout, from its mediator source, mediator_integrity_check.c): the signed
// digest is hashAlgorithm over the content octets of the `integrityCheck [0]` element of each
// referenced hash PDU, concatenated in the listed order; the signature is ECDSA over that digest
// (DER ECDSA-Sig-Value in checkValue, RFC 3279 2.2.3). It is verified only when a PEM public key
// is configured for the sending network element (`signature_keys`); otherwise it is recorded as
// kUnverified.
// Thread-safe (sharded mutexes; results are reported outside the locks).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/byte_reader.h"
#include "base/time.h"
#include "ingest/record_sink.h"
#include "proto/record/record.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace tapvault::ingest {

struct IntegrityVerifierOptions {
  size_t max_buffered_bytes = 64u << 20;   // PDU encodings kept, over all keys
  size_t max_pdus_per_key = 8192;          // encodings kept per LIID+CIN+type (oldest out first)
  size_t max_pending_per_key = 256;        // checks waiting for their PDUs
  size_t max_hash_records_per_key = 1024;  // hash PDUs kept for later signature checks
  int64_t pending_timeout_us = 120LL * 1000000;
  // Network element id of the sender (PSHeader networkElementIdentifier, e.g. OpenLI's
  // "med-6001") -> PEM public key (ECDSA) that verifies its signature PDUs.
  std::map<std::string, std::string> signature_keys;
};

struct IntegrityCounts {
  uint64_t verified = 0, mismatch = 0, incomplete = 0, unverified = 0;
  uint64_t evicted_pdus = 0;  // encodings dropped by the memory bound before any check used them
};

class IntegrityVerifier {
 public:
  using ResultCallback = std::function<void(const IntegrityResult&)>;

  // `on_result` is called (from the thread that completed the check) for every outcome.
  static absl::StatusOr<std::unique_ptr<IntegrityVerifier>> Create(
      IntegrityVerifierOptions options, ResultCallback on_result);
  ~IntegrityVerifier();

  // Every accepted (non-duplicate) PDU. IRI and CC PDUs are buffered; integrity PDUs are checked.
  // `raw` is the PDU's complete encoding and `pdu` its decoded form (pdu.encoding may be empty).
  void ObservePdu(const proto::PsPdu& pdu, base::Bytes raw, uint64_t connection_id,
                  base::Timestamp now);
  // Reports pending checks older than the timeout as kIncomplete.
  void ExpirePending(base::Timestamp now);
  // Reports every pending check as kIncomplete (shutdown).
  void ExpireAll();

  IntegrityCounts Counts() const;

 private:
  struct Pending {
    IntegrityResult result;
    uint8_t hash_algorithm = 2;
    std::string check_value;
    int64_t deadline_us = 0;
    uint32_t covered_min = 0, covered_max = 0;  // range of result.covered: a cheap first test
  };
  struct HashRecord {
    std::string ic_contents;  // content octets of integrityCheck [0]
  };
  // The state of one LIID + CIN + dataType: its buffered encodings (a ring), pending checks and
  // hash records. Defined in the .cc.
  struct KeyState;
  // LIID + CIN + dataType with its hash, computed once per PDU (it also picks the shard). In the
  // map, `liid` views the KeyState's own copy; in lookups, the PDU.
  struct KeyRef {
    std::string_view liid;
    uint32_t cin = 0;
    uint8_t data_type = 0;
    size_t hash = 0;
    bool operator==(const KeyRef& o) const {
      return cin == o.cin && data_type == o.data_type && liid == o.liid;
    }
  };
  struct KeyRefHash {
    size_t operator()(const KeyRef& k) const { return k.hash; }
  };
  // Encodings in arrival order over the shard: serials first..last of `key` (consecutive PDUs
  // of one key share an entry). Serials whose encoding is gone (checked, evicted, replaced) are
  // skipped.
  struct FifoEntry {
    KeyState* key;
    uint64_t first;
    uint64_t last;
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<KeyRef, std::unique_ptr<KeyState>, KeyRefHash> keys ABSL_GUARDED_BY(mu);
    // FIFO over all keys of the shard, for the global memory bound. A KeyState leaves `keys`
    // only together with its entries here (ExpirePending), so `key` never dangles.
    std::deque<FifoEntry> order ABSL_GUARDED_BY(mu);
    size_t bytes ABSL_GUARDED_BY(mu) = 0;  // encoding bytes kept
    size_t live ABSL_GUARDED_BY(mu) = 0;   // encodings kept
    IntegrityCounts counts ABSL_GUARDED_BY(mu);
    KeyState* last_key ABSL_GUARDED_BY(mu) = nullptr;  // of the previous Get: streams come in runs

    KeyState& Get(const KeyRef& ref) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  };
  static constexpr size_t kShards = 16;

  IntegrityVerifier(IntegrityVerifierOptions options, ResultCallback on_result);
  static KeyRef MakeKeyRef(std::string_view liid, uint32_t cin, uint8_t data_type);
  Shard& ShardFor(const KeyRef& key);
  // Buffers one IRI/CC encoding and completes the pending checks it was the last missing PDU of.
  void BufferEncoding(Shard& shard, KeyState& ks, uint32_t seq, base::Bytes raw,
                      std::vector<IntegrityResult>& done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  static bool SkipGone(FifoEntry& e);
  // Tries to complete `p` against `ks`; true if it finished (result in p.result).
  bool TryComplete(Shard& shard, KeyState& ks, Pending& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  void CountLocked(Shard& shard, IntegrityOutcome o) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  IntegrityOutcome VerifySignature(const proto::PsPdu& pdu, const proto::IntegrityCheck& ic,
                                   KeyState& ks);

  IntegrityVerifierOptions options_;
  ResultCallback on_result_;
  std::map<std::string, EVP_PKEY*> public_keys_;  // owned; immutable after Create
  std::array<Shard, kShards> shards_;
};

// The hash (TS 102 232-1 HashAlgorithm: 1 SHA-1, 2 SHA-256, 3 SHA-384, 4 SHA-512) of the
// concatenation of `parts`. InvalidArgument for an unknown algorithm.
absl::StatusOr<std::string> IntegrityHash(uint8_t hash_algorithm,
                                          const std::vector<base::Bytes>& parts);
// The content octets of the integrityCheck [0] element of an encoded integrity PDU (what
// OpenLI's signatures cover), or an error.
absl::StatusOr<base::Bytes> IntegrityCheckContents(base::Bytes pdu_encoding);

}  // namespace tapvault::ingest
