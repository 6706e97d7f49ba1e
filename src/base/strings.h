// String building for messages. Debian's Abseil is built with its own absl::string_view (not
// std::string_view), so absl::StrCat does not take std::string_view; use base::StrCat instead.
//
//   return absl::InvalidArgumentError(base::StrCat("ber: at offset ", off, ": ", what));
#pragma once

#include <charconv>
#include <concepts>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace tapvault::base {

namespace internal {
inline void Append(std::string& out, std::string_view s) { out.append(s); }
inline void Append(std::string& out, const char* s) { out.append(s); }
inline void Append(std::string& out, const std::string& s) { out.append(s); }
inline void Append(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
inline void Append(std::string& out, char c) { out.push_back(c); }
template <std::integral T>
  requires(!std::same_as<T, char> && !std::same_as<T, bool>)
void Append(std::string& out, T v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}
inline void Append(std::string& out, bool v) { out.append(v ? "true" : "false"); }
inline void Append(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}
}  // namespace internal

template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (internal::Append(out, args), ...);
  return out;
}

// A Status message (absl::string_view) as std::string_view.
inline std::string_view View(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace tapvault::base
