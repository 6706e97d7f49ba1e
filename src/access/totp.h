// One-time passwords of RFC 4226 (HOTP) and RFC 6238 (TOTP, HMAC-SHA1), and the otpauth:// URI
// authenticator apps read. UserStore uses these for the second factor; they are public so that
// tests and the CLI can compute codes.
//
//   std::string code = access::TotpCode(secret, now_s);          // "287082"
//   std::optional<int64_t> step = access::MatchTotp(secret, "287082", now_s);
//   std::string uri = access::TotpUri("alice", secret);
//
// Thread-safety: pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tapvault::access {

inline constexpr int kTotpDigits = 6;
inline constexpr int64_t kTotpStepSeconds = 30;  // RFC 6238 4.1 default X
inline constexpr int kTotpWindowSteps = 1;       // accept the step before and after (clock skew)
inline constexpr size_t kTotpSecretBytes = 20;   // RFC 4226 4 R6 recommends 160 bits

// RFC 4226 5.3: HMAC-SHA1 of the big-endian counter, dynamic truncation, `digits` (1..9)
// decimal digits with leading zeros.
std::string Hotp(std::span<const uint8_t> key, uint64_t counter, int digits = kTotpDigits);

// The TOTP step of a time (RFC 6238 4.2: floor(unix_s / step)); negative times give step 0.
int64_t TotpStep(int64_t unix_s, int64_t step_s = kTotpStepSeconds);

// RFC 6238: Hotp(key, TotpStep(unix_s)).
std::string TotpCode(std::span<const uint8_t> key, int64_t unix_s, int digits = kTotpDigits,
                     int64_t step_s = kTotpStepSeconds);

// The step within ±window of unix_s whose code equals `code` (compared in constant time), or
// nullopt. When several match (cannot happen for distinct codes), the latest.
std::optional<int64_t> MatchTotp(std::span<const uint8_t> key, std::string_view code,
                                 int64_t unix_s, int digits = kTotpDigits,
                                 int window = kTotpWindowSteps, int64_t step_s = kTotpStepSeconds);

// RFC 4648 6 base32 without padding (what authenticator apps expect in otpauth URIs).
std::string Base32Encode(std::span<const uint8_t> bytes);

// otpauth://totp/tapvault:NAME?secret=BASE32&issuer=tapvault (Google Authenticator's Key URI
// format; SHA1, 6 digits and 30 s are the defaults and are therefore left out). NAME is a
// tapvault user name ([a-z0-9._-]), which needs no escaping.
std::string TotpUri(std::string_view name, std::span<const uint8_t> secret);

}  // namespace tapvault::access
