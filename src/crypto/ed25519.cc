#include "crypto/ed25519.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <utility>

namespace tapvault::crypto {

Ed25519Signer::Ed25519Signer(EVP_PKEY* key) : key_(key) {
  size_t len = kEd25519PublicKeyBytes;
  public_key_.resize(len);
  if (EVP_PKEY_get_raw_public_key(key_, reinterpret_cast<unsigned char*>(public_key_.data()),
                                  &len) != 1 ||
      len != kEd25519PublicKeyBytes) {
    std::abort();  // an Ed25519 key without a 32-byte public key is an OpenSSL bug
  }
}

Ed25519Signer::Ed25519Signer(Ed25519Signer&& o) noexcept
    : key_(std::exchange(o.key_, nullptr)), public_key_(std::move(o.public_key_)) {}

Ed25519Signer& Ed25519Signer::operator=(Ed25519Signer&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(key_);
    key_ = std::exchange(o.key_, nullptr);
    public_key_ = std::move(o.public_key_);
  }
  return *this;
}

Ed25519Signer::~Ed25519Signer() { EVP_PKEY_free(key_); }

Ed25519Signer Ed25519Signer::Generate() {
  SecretBytes seed = SecretBytes::Random(kEd25519SeedBytes);
  return *FromSeed(seed);
}

absl::StatusOr<Ed25519Signer> Ed25519Signer::FromSeed(const SecretBytes& seed) {
  if (seed.size() != kEd25519SeedBytes) {
    return absl::InvalidArgumentError("ed25519: the private seed must be 32 bytes");
  }
  EVP_PKEY* key =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (key == nullptr) return absl::InternalError("ed25519: cannot load the private key");
  return Ed25519Signer(key);
}

SecretBytes Ed25519Signer::Seed() const {
  SecretBytes seed(kEd25519SeedBytes);
  size_t len = seed.size();
  if (EVP_PKEY_get_raw_private_key(key_, seed.data(), &len) != 1 || len != kEd25519SeedBytes) {
    std::abort();
  }
  return seed;
}

std::string Ed25519Signer::Sign(std::string_view message) const {
  std::string sig(kEd25519SignatureBytes, '\0');
  size_t len = sig.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_) == 1 &&
            EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(message.data()),
                           message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len != kEd25519SignatureBytes) std::abort();  // cannot fail for a valid key
  return sig;
}

bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature) {
  if (public_key.size() != kEd25519PublicKeyBytes || signature.size() != kEd25519SignatureBytes) {
    return false;
  }
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key.data()),
      public_key.size());
  if (key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(),
                             reinterpret_cast<const unsigned char*>(message.data()),
                             message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace tapvault::crypto
