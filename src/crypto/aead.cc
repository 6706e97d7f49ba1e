#include "crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <utility>

#include "base/log.h"
#include "base/status_macros.h"

namespace tapvault::crypto {
namespace {

const unsigned char* U8(base::Bytes b) { return reinterpret_cast<const unsigned char*>(b.data()); }

// EVP takes int lengths: feed longer inputs in chunks so no length is ever truncated.
constexpr size_t kMaxChunk = INT_MAX / 2;

// Feeds `aad` into `ctx` (Encrypt- or DecryptUpdate with a null output buffer).
bool AddAad(EVP_CIPHER_CTX* ctx, bool encrypt, base::Bytes aad) {
  while (!aad.empty()) {
    size_t n = std::min(aad.size(), kMaxChunk);
    int len = 0;
    int ok = encrypt ? EVP_EncryptUpdate(ctx, nullptr, &len, U8(aad), static_cast<int>(n))
                     : EVP_DecryptUpdate(ctx, nullptr, &len, U8(aad), static_cast<int>(n));
    if (ok != 1) return false;
    aad = aad.subspan(n);
  }
  return true;
}

// Runs `in` through `ctx` into `out` (which has room for in.size() bytes: GCM is a stream mode).
bool Crypt(EVP_CIPHER_CTX* ctx, bool encrypt, base::Bytes in, unsigned char* out) {
  while (!in.empty()) {
    size_t n = std::min(in.size(), kMaxChunk);
    int len = 0;
    int ok = encrypt ? EVP_EncryptUpdate(ctx, out, &len, U8(in), static_cast<int>(n))
                     : EVP_DecryptUpdate(ctx, out, &len, U8(in), static_cast<int>(n));
    if (ok != 1 || static_cast<size_t>(len) != n) return false;
    out += n;
    in = in.subspan(n);
  }
  return true;
}

// Undoes a partial append to `out`, wiping what was written (it may be unauthenticated plaintext).
void Truncate(std::string& out, size_t old_size) {
  if (out.size() > old_size) OPENSSL_cleanse(out.data() + old_size, out.size() - old_size);
  out.resize(old_size);
}

}  // namespace

std::string RandomBytes(size_t n) {
  std::string s(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n)) != 1) {
    // A repeated GCM nonce leaks plaintext: never fall back to weaker randomness.
    base::Log(base::LogLevel::kError, "crypto.rand_failed", {});
    std::abort();
  }
  return s;
}

absl::StatusOr<AesGcm> AesGcm::Create(const SecretBytes& key) {
  if (key.size() != kAesKeyBytes) {
    return absl::InvalidArgumentError(
        base::StrCat("aes-gcm: the key must be ", kAesKeyBytes, " bytes, not ", key.size()));
  }
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  AesGcm aead(enc, dec);  // frees both on every return path below
  if (enc == nullptr || dec == nullptr ||
      EVP_EncryptInit_ex(enc, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) != 1 ||
      EVP_DecryptInit_ex(dec, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) != 1) {
    return absl::InternalError("aes-gcm: cannot set up the OpenSSL cipher context");
  }
  return aead;
}

AesGcm::AesGcm(AesGcm&& other) noexcept
    : enc_(std::exchange(other.enc_, nullptr)), dec_(std::exchange(other.dec_, nullptr)) {}

AesGcm& AesGcm::operator=(AesGcm&& other) noexcept {
  if (this != &other) {
    EVP_CIPHER_CTX_free(enc_);
    EVP_CIPHER_CTX_free(dec_);
    enc_ = std::exchange(other.enc_, nullptr);
    dec_ = std::exchange(other.dec_, nullptr);
  }
  return *this;
}

AesGcm::~AesGcm() {
  // EVP_CIPHER_CTX_free cleanses the key schedule.
  EVP_CIPHER_CTX_free(enc_);
  EVP_CIPHER_CTX_free(dec_);
}

absl::Status AesGcm::Seal(base::Bytes nonce, base::Bytes aad, base::Bytes plaintext,
                          std::string& out) {
  const size_t old_size = out.size();
  out.resize(old_size + plaintext.size() + kGcmTagBytes);
  absl::Status s = SealInto(
      nonce, aad, plaintext,
      std::span(reinterpret_cast<std::byte*>(out.data() + old_size), plaintext.size() + kGcmTagBytes));
  if (!s.ok()) Truncate(out, old_size);
  return s;
}

absl::Status AesGcm::SealInto(base::Bytes nonce, base::Bytes aad, base::Bytes plaintext,
                              std::span<std::byte> out) {
  if (nonce.size() != kGcmNonceBytes) {
    return absl::InvalidArgumentError(
        base::StrCat("aes-gcm: the nonce must be ", kGcmNonceBytes, " bytes, not ", nonce.size()));
  }
  if (out.size() != plaintext.size() + kGcmTagBytes) {
    return absl::InvalidArgumentError("aes-gcm: the output must be the plaintext's size + 16");
  }
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  int final_len = 0;
  // A null cipher and key keep the key schedule from Create; only the IV is reset.
  bool ok =
      EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, U8(nonce)) == 1 &&
      AddAad(enc_, /*encrypt=*/true, aad) && Crypt(enc_, true, plaintext, dst) &&
      EVP_EncryptFinal_ex(enc_, dst + plaintext.size(), &final_len) == 1 && final_len == 0 &&
      EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_GCM_GET_TAG, kGcmTagBytes, dst + plaintext.size()) == 1;
  if (!ok) return absl::InternalError("aes-gcm: OpenSSL encryption failed");
  return absl::OkStatus();
}

absl::Status AesGcm::Open(base::Bytes nonce, base::Bytes aad, base::Bytes ciphertext_and_tag,
                          std::string& out) {
  if (nonce.size() != kGcmNonceBytes) {
    return absl::InvalidArgumentError(
        base::StrCat("aes-gcm: the nonce must be ", kGcmNonceBytes, " bytes, not ", nonce.size()));
  }
  if (ciphertext_and_tag.size() < kGcmTagBytes) {
    return absl::DataLossError("aes-gcm: input shorter than the tag: authentication failed");
  }
  const size_t ct_size = ciphertext_and_tag.size() - kGcmTagBytes;
  base::Bytes ct = ciphertext_and_tag.first(ct_size);
  // EVP_CIPHER_CTX_ctrl takes a non-const pointer but only reads the expected tag.
  unsigned char tag[kGcmTagBytes];
  std::copy_n(U8(ciphertext_and_tag) + ct_size, kGcmTagBytes, tag);

  const size_t old_size = out.size();
  out.resize(old_size + ct_size);
  auto* dst = reinterpret_cast<unsigned char*>(out.data() + old_size);
  if (EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, U8(nonce)) != 1 ||
      EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, tag) != 1 ||
      !AddAad(dec_, /*encrypt=*/false, aad) || !Crypt(dec_, false, ct, dst)) {
    Truncate(out, old_size);
    return absl::InternalError("aes-gcm: OpenSSL decryption failed");
  }
  int final_len = 0;
  if (EVP_DecryptFinal_ex(dec_, dst + ct_size, &final_len) != 1 || final_len != 0) {
    Truncate(out, old_size);
    return absl::DataLossError("aes-gcm: authentication failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> WrapKey(const SecretBytes& kek, const SecretBytes& key,
                                    std::string_view context) {
  ASSIGN_OR_RETURN(AesGcm aead, AesGcm::Create(kek));
  std::string out = RandomBytes(kGcmNonceBytes);
  out.reserve(kGcmNonceBytes + key.size() + kGcmTagBytes);
  const std::string nonce = out;
  RETURN_IF_ERROR(aead.Seal(base::AsBytes(nonce), base::AsBytes(context), key.bytes(), out));
  return out;
}

absl::StatusOr<SecretBytes> UnwrapKey(const SecretBytes& kek, base::Bytes wrapped,
                                      std::string_view context) {
  if (wrapped.size() < kGcmNonceBytes + kGcmTagBytes) {
    return absl::DataLossError("key unwrap: wrapped key too short: authentication failed");
  }
  ASSIGN_OR_RETURN(AesGcm aead, AesGcm::Create(kek));
  std::string plain;
  // Reserved up front so no reallocation leaves an unwiped copy of the key on the heap.
  plain.reserve(wrapped.size());
  absl::Status s = aead.Open(wrapped.first(kGcmNonceBytes), base::AsBytes(context),
                             wrapped.subspan(kGcmNonceBytes), plain);
  if (!s.ok()) return base::Annotate(s, "key unwrap");
  SecretBytes key = SecretBytes::CopyFrom(base::AsBytes(plain));
  OPENSSL_cleanse(plain.data(), plain.size());
  return key;
}

}  // namespace tapvault::crypto
