// Verifies TS 102 232-1 clause 7.2 integrity checks as mediators send them: a hash PDU
// (TRIPayload integrityCheck, checkType hash) carries the hash over the complete encodings of
// the listed PDUs of one LIID + CIN + dataType (IRI or CC), concatenated in the listed order;
// a signature PDU carries a signature over earlier hash PDUs of the same LIID + CIN + dataType.
// Checks may arrive before the PDUs they cover, so both sides wait for each other:
// - the encodings of recent IRI/CC PDUs are kept (copied) in a bounded buffer;
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
  size_t max_pdus_per_key = 8192;          // encodings kept per LIID+CIN+type
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
  };
  struct HashRecord {
    std::string ic_contents;  // content octets of integrityCheck [0]
  };
  struct KeyState {
    std::map<uint32_t, std::string> encodings;       // seq -> complete PDU encoding
    std::deque<Pending> pending;
    std::map<uint32_t, HashRecord> hash_records;     // hash PDU seq -> its IntegrityCheck contents
    int64_t last_seen_us = 0;
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, KeyState> keys ABSL_GUARDED_BY(mu);
    // FIFO of (key, seq, bytes) for the global memory bound.
    std::deque<std::pair<std::string, uint32_t>> order ABSL_GUARDED_BY(mu);
    size_t bytes ABSL_GUARDED_BY(mu) = 0;
    IntegrityCounts counts ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 16;

  IntegrityVerifier(IntegrityVerifierOptions options, ResultCallback on_result);
  Shard& ShardFor(const std::string& key);
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
