// Ed25519 signatures (RFC 8032) through OpenSSL EVP: the signing key of the store's Merkle log
// checkpoints and of destruction records.
//
//   ASSIGN_OR_RETURN(auto signer, crypto::Ed25519Signer::FromSeed(seed));
//   std::string sig = signer.Sign(note_body);                     // 64 bytes
//   bool ok = crypto::Ed25519Verify(signer.PublicKey(), msg, sig);
//
// Thread-safe for Sign/PublicKey after construction (EVP_PKEY is not modified).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "base/byte_reader.h"
#include "crypto/secret_bytes.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace tapvault::crypto {

inline constexpr size_t kEd25519SeedBytes = 32;
inline constexpr size_t kEd25519PublicKeyBytes = 32;
inline constexpr size_t kEd25519SignatureBytes = 64;

class Ed25519Signer {
 public:
  // A new random key.
  static Ed25519Signer Generate();
  // The key whose 32-byte private seed is `seed`. InvalidArgument for a wrong size.
  static absl::StatusOr<Ed25519Signer> FromSeed(const SecretBytes& seed);

  Ed25519Signer(Ed25519Signer&&) noexcept;
  Ed25519Signer& operator=(Ed25519Signer&&) noexcept;
  ~Ed25519Signer();

  SecretBytes Seed() const;               // to store it wrapped
  const std::string& PublicKey() const { return public_key_; }  // 32 raw bytes
  std::string Sign(std::string_view message) const;              // 64 bytes

 private:
  explicit Ed25519Signer(EVP_PKEY* key);
  EVP_PKEY* key_ = nullptr;
  std::string public_key_;
};

// True iff `signature` (64 bytes) is a valid Ed25519 signature of `message` by `public_key`
// (32 raw bytes). Wrong sizes are simply invalid.
bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature);

}  // namespace tapvault::crypto
