#include "access/totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace tapvault::access {

std::string Hotp(std::span<const uint8_t> key, uint64_t counter, int digits) {
  if (digits < 1) digits = 1;
  if (digits > 9) digits = 9;
  std::array<uint8_t, 8> msg;
  for (int i = 7; i >= 0; --i) {
    msg[i] = static_cast<uint8_t>(counter & 0xFF);
    counter >>= 8;
  }
  std::array<uint8_t, EVP_MAX_MD_SIZE> mac;
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), msg.data(), msg.size(), mac.data(),
           &mac_len) == nullptr ||
      mac_len != 20) {
    return std::string();  // never matches a code of `digits` digits
  }
  // RFC 4226 5.3: offset = low 4 bits of the last byte; 31 bits from there.
  int offset = mac[19] & 0x0F;
  uint32_t bin = (static_cast<uint32_t>(mac[offset] & 0x7F) << 24) |
                 (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                 (static_cast<uint32_t>(mac[offset + 2]) << 8) | mac[offset + 3];
  OPENSSL_cleanse(mac.data(), mac.size());
  uint32_t mod = 1;
  for (int i = 0; i < digits; ++i) mod *= 10;
  uint32_t value = bin % mod;
  std::string out(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out;
}

int64_t TotpStep(int64_t unix_s, int64_t step_s) {
  if (unix_s < 0 || step_s <= 0) return 0;
  return unix_s / step_s;
}

std::string TotpCode(std::span<const uint8_t> key, int64_t unix_s, int digits, int64_t step_s) {
  return Hotp(key, static_cast<uint64_t>(TotpStep(unix_s, step_s)), digits);
}

std::optional<int64_t> MatchTotp(std::span<const uint8_t> key, std::string_view code,
                                 int64_t unix_s, int digits, int window, int64_t step_s) {
  if (code.size() != static_cast<size_t>(digits)) return std::nullopt;
  int64_t now_step = TotpStep(unix_s, step_s);
  std::optional<int64_t> found;
  // Every candidate is computed and compared, matched or not, so the time taken does not say
  // which step matched.
  for (int64_t d = -window; d <= window; ++d) {
    int64_t step = now_step + d;
    if (step < 0) continue;
    std::string expect = Hotp(key, static_cast<uint64_t>(step), digits);
    if (expect.size() == code.size() &&
        CRYPTO_memcmp(expect.data(), code.data(), code.size()) == 0) {
      found = step;
    }
  }
  return found;
}

std::string Base32Encode(std::span<const uint8_t> bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 0x1F]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 0x1F]);
  return out;
}

std::string TotpUri(std::string_view name, std::span<const uint8_t> secret) {
  std::string uri = "otpauth://totp/tapvault:";
  uri.append(name);
  uri.append("?secret=");
  uri.append(Base32Encode(secret));
  uri.append("&issuer=tapvault");
  return uri;
}

}  // namespace tapvault::access
