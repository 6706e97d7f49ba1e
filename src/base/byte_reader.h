// ByteReader: a bounds-checked cursor over an immutable byte span. Every parser of outside input
// reads through it, so no decoder does raw pointer arithmetic.
//
//   base::ByteReader r(frame);
//   uint8_t b;
//   if (!r.ReadU8(b)) return ShortRead(r);
//
// The read functions return false (and leave the cursor unchanged) on a short read instead of a
// Status: they sit on the per-byte hot path of the BER decoder, and the caller knows best what to
// report. Views returned by ReadSpan point into the original buffer and live as long as it does.
// Not thread-safe; cheap to copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace tapvault::base {

using Bytes = std::span<const std::byte>;

inline Bytes AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view AsString(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

class ByteReader {
 public:
  constexpr ByteReader() = default;
  constexpr explicit ByteReader(Bytes data, size_t base_offset = 0)
      : data_(data), base_offset_(base_offset) {}

  constexpr size_t remaining() const { return data_.size() - pos_; }
  constexpr bool empty() const { return pos_ == data_.size(); }
  // Offset of the cursor from the start of the outermost buffer (for error messages).
  constexpr size_t offset() const { return base_offset_ + pos_; }
  constexpr size_t position() const { return pos_; }
  constexpr Bytes data() const { return data_; }
  constexpr Bytes rest() const { return data_.subspan(pos_); }

  // Moves the cursor back to an earlier position() (to undo a partial read).
  constexpr void Rewind(size_t position) {
    if (position <= pos_) pos_ = position;
  }

  constexpr bool PeekU8(uint8_t& out) const {
    if (pos_ >= data_.size()) return false;
    out = static_cast<uint8_t>(data_[pos_]);
    return true;
  }
  constexpr bool ReadU8(uint8_t& out) {
    if (!PeekU8(out)) return false;
    ++pos_;
    return true;
  }
  constexpr bool ReadSpan(size_t n, Bytes& out) {
    if (n > remaining()) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  constexpr bool Skip(size_t n) {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }
  // Big-endian unsigned integer of `n` (<= 8) bytes.
  constexpr bool ReadBigEndian(size_t n, uint64_t& out) {
    if (n > 8 || n > remaining()) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
    pos_ += n;
    out = v;
    return true;
  }

 private:
  Bytes data_;
  size_t pos_ = 0;
  size_t base_offset_ = 0;
};

}  // namespace tapvault::base
