#include "tlog/internal/encoding.h"

#include <array>
#include <cstdint>

namespace tapvault::tlog::internal {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kDecode = MakeDecodeTable();

// Decodes one UTF-8 sequence at text[i]; returns the code point and sets `size`, or -1 (size 1)
// for an invalid sequence, exactly where Go's utf8.DecodeRune returns RuneError with size 1.
int32_t DecodeRune(std::string_view text, size_t i, size_t& size) {
  size = 1;
  auto byte = [&](size_t k) -> uint32_t { return static_cast<uint8_t>(text[k]); };
  uint32_t b0 = byte(i);
  if (b0 < 0x80) return static_cast<int32_t>(b0);
  size_t n;
  uint32_t cp;
  uint32_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return -1;
  }
  if (text.size() - i < n) return -1;
  for (size_t k = 1; k < n; ++k) {
    uint32_t b = byte(i + k);
    uint32_t min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
    if (b < min || b > max) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  size = n;
  return static_cast<int32_t>(cp);
}

// unicode.IsSpace: the Latin-1 spaces plus the White_Space property outside Latin-1.
bool IsUnicodeSpace(int32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

}  // namespace

std::string Base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) -> uint32_t { return static_cast<uint8_t>(data[k]); };
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = at(i) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = at(i) << 16 | at(i + 1) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    uint32_t v = 0;
    for (int k = 0; k < 4 - pad; ++k) {
      int8_t d = kDecode[static_cast<uint8_t>(text[i + k])];
      if (d < 0) return std::nullopt;
      v |= static_cast<uint32_t>(d) << (18 - 6 * k);
    }
    out += static_cast<char>(v >> 16);
    if (pad == 2) {
      if ((v & 0xFFFF) != 0) return std::nullopt;  // non-canonical trailing bits
    } else {
      out += static_cast<char>(v >> 8);
      if (pad == 1) {
        if ((v & 0xFF) != 0) return std::nullopt;
      } else {
        out += static_cast<char>(v);
      }
    }
  }
  return out;
}

bool IsValidNoteText(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t size;
    int32_t r = DecodeRune(text, i, size);
    if (r < 0 || (r < 0x20 && r != '\n')) return false;
    i += size;
  }
  return true;
}

bool IsValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size();) {
    size_t size;
    int32_t r = DecodeRune(name, i, size);
    if (r < 0 || r == '+' || IsUnicodeSpace(r)) return false;
    i += size;
  }
  return true;
}

}  // namespace tapvault::tlog::internal
