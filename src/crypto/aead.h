// AES-256-GCM authenticated encryption (OpenSSL EVP) and the software key wrap built on it. The
// cold store seals every stored PDU with an AesGcm whose key schedule is set up once per data key,
// and wraps data keys and warrant keys with WrapKey before they go into the catalog.
//
//   ASSIGN_OR_RETURN(auto aead, crypto::AesGcm::Create(data_key));
//   std::string nonce = crypto::RandomBytes(crypto::kGcmNonceBytes);
//   std::string sealed;
//   RETURN_IF_ERROR(aead.Seal(base::AsBytes(nonce), base::AsBytes(aad), pdu, sealed));
//   ...
//   ASSIGN_OR_RETURN(std::string wrapped,
//                    crypto::WrapKey(warrant_key, data_key, "tapvault/data-key/17"));
//   ASSIGN_OR_RETURN(crypto::SecretBytes key,
//                    crypto::UnwrapKey(warrant_key, base::AsBytes(wrapped),
//                    "tapvault/data-key/17"));
//
// GCM fails catastrophically when a (key, nonce) pair repeats: callers either use a fresh random
// 12-byte nonce per message (safe for well below 2^32 messages per key) or a counter they never
// reuse under the same key.
//
// Errors: InvalidArgument for a wrong key or nonce size; DataLoss when authentication fails (wrong
// key, nonce or AAD, or tampered ciphertext/tag); Internal if OpenSSL itself fails.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/byte_reader.h"
#include "crypto/secret_bytes.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace tapvault::crypto {

inline constexpr size_t kAesKeyBytes = 32, kGcmNonceBytes = 12, kGcmTagBytes = 16;

// `n` bytes from OpenSSL's CSPRNG as a plain string: for values that are random but not secret
// (nonces, identifiers). Aborts if the CSPRNG fails, like SecretBytes::Random.
std::string RandomBytes(size_t n);

// AES-256-GCM with a key schedule set up once. Move-only. Not thread-safe (one per thread/writer);
// a moved-from AesGcm must not be used.
class AesGcm {
 public:
  // InvalidArgument if key.size() != kAesKeyBytes. The key is copied into OpenSSL's context (and
  // wiped by it on destruction), so `key` need not outlive the AesGcm.
  [[nodiscard]] static absl::StatusOr<AesGcm> Create(const SecretBytes& key);

  AesGcm(AesGcm&& other) noexcept;
  AesGcm& operator=(AesGcm&& other) noexcept;
  AesGcm(const AesGcm&) = delete;
  AesGcm& operator=(const AesGcm&) = delete;
  ~AesGcm();

  // Appends ciphertext||tag (plaintext.size() + 16 bytes) to `out`. nonce must be 12 bytes
  // (InvalidArgument otherwise). On error `out` is left as it was.
  [[nodiscard]] absl::Status Seal(base::Bytes nonce, base::Bytes aad, base::Bytes plaintext,
                                  std::string& out);
  // The same into `out`, which must be exactly plaintext.size() + 16 bytes (InvalidArgument
  // otherwise) and must not overlap `aad` or `plaintext`: for callers that frame records in a
  // buffer of their own without a copy.
  [[nodiscard]] absl::Status SealInto(base::Bytes nonce, base::Bytes aad, base::Bytes plaintext,
                                      std::span<std::byte> out);
  // Appends the plaintext to `out`; DataLoss("...authentication failed") if tag/aad/key do not
  // match, or if the input is shorter than a tag. On error `out` is left as it was (no
  // unauthenticated plaintext is ever released).
  [[nodiscard]] absl::Status Open(base::Bytes nonce, base::Bytes aad,
                                  base::Bytes ciphertext_and_tag, std::string& out);

 private:
  AesGcm(EVP_CIPHER_CTX* enc, EVP_CIPHER_CTX* dec) : enc_(enc), dec_(dec) {}
  // Separate contexts for the two directions, each keyed once, so that switching direction never
  // needs the raw key again.
  EVP_CIPHER_CTX* enc_ = nullptr;
  EVP_CIPHER_CTX* dec_ = nullptr;
};

// Software key wrap: returns nonce(12 random)||ct||tag of `key` under `kek`, AAD = `context`
// (e.g. "tapvault/data-key/17"), so a wrapped key cannot be swapped into another row.
// InvalidArgument if kek is not 32 bytes.
[[nodiscard]] absl::StatusOr<std::string> WrapKey(const SecretBytes& kek, const SecretBytes& key,
                                                  std::string_view context);
// Inverse of WrapKey. DataLoss on mismatch (wrong kek or context, tampered or truncated blob).
[[nodiscard]] absl::StatusOr<SecretBytes> UnwrapKey(const SecretBytes& kek, base::Bytes wrapped,
                                                    std::string_view context);

}  // namespace tapvault::crypto
