#include "ingest/integrity_verifier.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>

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

std::string MakeKey(std::string_view liid, uint32_t cin, uint8_t data_type) {
  return base::StrCat(liid, "\x1f", cin, "\x1f", static_cast<int>(data_type));
}

}  // namespace

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

IntegrityVerifier::Shard& IntegrityVerifier::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
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
    auto it = ks.encodings.find(seq);
    if (it == ks.encodings.end()) return false;
    parts.push_back(base::AsBytes(it->second));
  }
  absl::StatusOr<std::string> digest = IntegrityHash(p.hash_algorithm, parts);
  p.result.outcome = (digest.ok() && *digest == p.check_value) ? IntegrityOutcome::kVerified
                                                               : IntegrityOutcome::kMismatch;
  // Each PDU is covered by one hash; free the encodings now.
  for (uint32_t seq : p.result.covered) {
    auto it = ks.encodings.find(seq);
    if (it != ks.encodings.end()) {
      shard.bytes -= std::min(shard.bytes, it->second.size());
      ks.encodings.erase(it);
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

void IntegrityVerifier::ObservePdu(const proto::PsPdu& pdu, base::Bytes raw,
                                   uint64_t connection_id, base::Timestamp now) {
  if (pdu.items.empty()) return;
  const proto::PayloadItem& item = pdu.items.front();
  std::vector<IntegrityResult> done;
  uint32_t cin = pdu.header.cin.value_or(0);

  if (proto::IsIri(item.kind) || item.kind == proto::Kind::kCc) {
    if (!pdu.header.cin.has_value()) return;
    uint8_t type = item.kind == proto::Kind::kCc ? kDataTypeCc : kDataTypeIri;
    std::string key = MakeKey(pdu.header.liid, cin, type);
    uint32_t seq = pdu.header.sequence_number;
    Shard& shard = ShardFor(key);
    {
      absl::MutexLock lock(&shard.mu);
      KeyState& ks = shard.keys[key];
      ks.last_seen_us = now.unix_us;
      std::string& slot = ks.encodings[seq];
      shard.bytes -= std::min(shard.bytes, slot.size());
      slot.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
      shard.bytes += raw.size();
      shard.order.emplace_back(key, seq);
      while (ks.encodings.size() > options_.max_pdus_per_key) {
        auto oldest = ks.encodings.begin();
        shard.bytes -= std::min(shard.bytes, oldest->second.size());
        ks.encodings.erase(oldest);
        shard.counts.evicted_pdus++;
      }
      for (auto it = ks.pending.begin(); it != ks.pending.end();) {
        if (std::find(it->result.covered.begin(), it->result.covered.end(), seq) !=
                it->result.covered.end() &&
            TryComplete(shard, ks, *it)) {
          done.push_back(std::move(it->result));
          it = ks.pending.erase(it);
        } else {
          ++it;
        }
      }
      // Global bound: drop the oldest buffered encodings (FIFO over this shard).
      size_t budget = options_.max_buffered_bytes / kShards;
      while (shard.bytes > budget && !shard.order.empty()) {
        auto [okey, oseq] = std::move(shard.order.front());
        shard.order.pop_front();
        auto kit = shard.keys.find(okey);
        if (kit == shard.keys.end()) continue;
        auto eit = kit->second.encodings.find(oseq);
        if (eit != kit->second.encodings.end()) {
          shard.bytes -= std::min(shard.bytes, eit->second.size());
          kit->second.encodings.erase(eit);
          shard.counts.evicted_pdus++;
        }
        if (kit->second.encodings.empty() && kit->second.pending.empty() &&
            kit->second.hash_records.empty()) {
          shard.keys.erase(kit);
        }
      }
      // Keep the FIFO from growing without bound when checks free encodings first.
      if (shard.order.size() > 4 * (options_.max_pdus_per_key * kShards + 1024)) {
        shard.order.erase(shard.order.begin(),
                          shard.order.begin() + static_cast<long>(shard.order.size() / 2));
      }
    }
  } else if (item.kind == proto::Kind::kIntegrityCheck && item.integrity.has_value()) {
    const proto::IntegrityCheck& ic = *item.integrity;
    std::string key = MakeKey(pdu.header.liid, cin, ic.data_type);
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
    KeyState& ks = shard.keys[key];
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
    for (auto kit = shard.keys.begin(); kit != shard.keys.end();) {
      KeyState& ks = kit->second;
      while (!ks.pending.empty() && ks.pending.front().deadline_us <= now.unix_us) {
        Pending& p = ks.pending.front();
        p.result.outcome = IntegrityOutcome::kIncomplete;
        CountLocked(shard, p.result.outcome);
        done.push_back(std::move(p.result));
        ks.pending.pop_front();
      }
      bool idle = ks.last_seen_us + options_.pending_timeout_us <= now.unix_us;
      if (idle && ks.pending.empty()) {
        for (const auto& [seq, enc] : ks.encodings) {
          shard.bytes -= std::min(shard.bytes, enc.size());
        }
        shard.keys.erase(kit++);
      } else {
        ++kit;
      }
    }
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
      for (Pending& p : ks.pending) {
        p.result.outcome = IntegrityOutcome::kIncomplete;
        CountLocked(shard, p.result.outcome);
        done.push_back(std::move(p.result));
      }
      ks.pending.clear();
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
