#include "crypto/secret_bytes.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "base/log.h"

namespace tapvault::crypto {

SecretBytes::SecretBytes(size_t n) : size_(n) {
  if (n > 0) data_ = static_cast<uint8_t*>(std::calloc(n, 1));
  if (n > 0 && data_ == nullptr) std::abort();
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() { Wipe(); }

void SecretBytes::Wipe() {
  if (data_ != nullptr) {
    OPENSSL_cleanse(data_, size_);
    std::free(data_);
  }
  data_ = nullptr;
  size_ = 0;
}

SecretBytes SecretBytes::Random(size_t n) {
  SecretBytes s(n);
  if (n > 0 && RAND_bytes(s.data_, static_cast<int>(n)) != 1) {
    // A key we cannot make random is no key: stop rather than store weakly protected data.
    base::Log(base::LogLevel::kError, "crypto.rand_failed", {});
    std::abort();
  }
  return s;
}

SecretBytes SecretBytes::CopyFrom(base::Bytes b) {
  SecretBytes s(b.size());
  if (!b.empty()) std::memcpy(s.data_, b.data(), b.size());
  return s;
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  return size_ == other.size_ && (size_ == 0 || CRYPTO_memcmp(data_, other.data_, size_) == 0);
}

}  // namespace tapvault::crypto
