// Key material: a move-only byte buffer that wipes itself (OPENSSL_cleanse) when destroyed or
// overwritten, so keys do not linger in freed heap memory. It has no stream operator and no
// conversion to string on purpose: keys are never printed or logged.
//
//   crypto::SecretBytes key = crypto::SecretBytes::Random(32);
//   ASSIGN_OR_RETURN(auto aead, crypto::AesGcm::Create(key));
//
// Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/byte_reader.h"

namespace tapvault::crypto {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n);  // n zero bytes
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  // n bytes from OpenSSL's CSPRNG. Aborts if the CSPRNG fails (nothing safe can follow).
  static SecretBytes Random(size_t n);
  static SecretBytes CopyFrom(base::Bytes b);

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  base::Bytes bytes() const { return {reinterpret_cast<const std::byte*>(data_), size_}; }
  // Constant-time comparison.
  bool Equals(const SecretBytes& other) const;

 private:
  void Wipe();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace tapvault::crypto
