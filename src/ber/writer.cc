#include "ber/writer.h"

#include <cassert>
#include <cstring>

namespace tapvault::ber {

size_t EncodeLength(size_t len, std::byte out[9]) {
  if (len < 0x80) {
    out[0] = static_cast<std::byte>(len);
    return 1;
  }
  size_t n = 0;
  for (size_t v = len; v; v >>= 8) ++n;
  out[0] = static_cast<std::byte>(0x80 | n);
  for (size_t i = 0; i < n; ++i) out[1 + i] = static_cast<std::byte>(len >> (8 * (n - 1 - i)));
  return 1 + n;
}

void Writer::PutTag(Tag tag) {
  const uint8_t head = static_cast<uint8_t>(static_cast<uint8_t>(tag.cls) << 6) |
                       (tag.constructed ? 0x20 : 0);
  if (tag.number < 0x1f) {
    buf_.push_back(static_cast<std::byte>(head | tag.number));
    return;
  }
  buf_.push_back(static_cast<std::byte>(head | 0x1f));
  std::byte tmp[5];
  size_t n = 0;
  uint32_t v = tag.number;
  do {
    tmp[n++] = static_cast<std::byte>(v & 0x7f);
    v >>= 7;
  } while (v);
  for (size_t i = n; i-- > 0;) {
    buf_.push_back(tmp[i] | (i ? std::byte{0x80} : std::byte{0}));
  }
}

void Writer::PutLength(size_t len) {
  std::byte tmp[9];
  const size_t n = EncodeLength(len, tmp);
  buf_.insert(buf_.end(), tmp, tmp + n);
}

void Writer::Begin(Tag tag) {
  tag.constructed = true;
  PutTag(tag);
  if (form_ == LengthForm::kIndefinite) buf_.push_back(std::byte{0x80});
  open_.push_back({buf_.size()});
}

void Writer::End() {
  assert(!open_.empty());
  const Open o = open_.back();
  open_.pop_back();
  if (form_ == LengthForm::kIndefinite) {
    buf_.push_back(std::byte{0});
    buf_.push_back(std::byte{0});
    return;
  }
  const size_t len = buf_.size() - o.content_start;
  std::byte tmp[9];
  size_t n;
  if (form_ == LengthForm::kLong3 && len <= 0xffff) {
    tmp[0] = std::byte{0x82};
    tmp[1] = static_cast<std::byte>(len >> 8);
    tmp[2] = static_cast<std::byte>(len);
    n = 3;
  } else {
    n = EncodeLength(len, tmp);
  }
  buf_.insert(buf_.begin() + static_cast<ptrdiff_t>(o.content_start), tmp, tmp + n);
}

void Writer::AddPrimitive(Tag tag, Bytes content) {
  tag.constructed = false;
  PutTag(tag);
  PutLength(content.size());
  buf_.insert(buf_.end(), content.begin(), content.end());
}

void Writer::AddBoolean(Tag tag, bool v) {
  const std::byte b{static_cast<unsigned char>(v ? 0xff : 0x00)};
  AddPrimitive(tag, Bytes(&b, 1));
}

void Writer::AddNull(Tag tag) { AddPrimitive(tag, {}); }

void Writer::AddInteger(Tag tag, int64_t v) {
  std::byte tmp[8];
  size_t n = 8;
  const auto u = static_cast<uint64_t>(v);
  for (size_t i = 0; i < 8; ++i) tmp[i] = static_cast<std::byte>(u >> (8 * (7 - i)));
  size_t start = 0;
  // X.690 8.3.2: drop redundant leading sign octets.
  while (start < n - 1 &&
         ((tmp[start] == std::byte{0x00} && (static_cast<uint8_t>(tmp[start + 1]) & 0x80) == 0) ||
          (tmp[start] == std::byte{0xff} && (static_cast<uint8_t>(tmp[start + 1]) & 0x80) != 0))) {
    ++start;
  }
  AddPrimitive(tag, Bytes(tmp + start, n - start));
}

void Writer::AddUnsigned(Tag tag, uint64_t v) {
  std::byte tmp[9];
  tmp[0] = std::byte{0};
  for (size_t i = 0; i < 8; ++i) tmp[1 + i] = static_cast<std::byte>(v >> (8 * (7 - i)));
  size_t start = 0;
  while (start < 8 && tmp[start] == std::byte{0} && (static_cast<uint8_t>(tmp[start + 1]) & 0x80) == 0) {
    ++start;
  }
  AddPrimitive(tag, Bytes(tmp + start, 9 - start));
}

void Writer::AddOid(Tag tag, std::span<const uint64_t> arcs, bool relative) {
  std::vector<std::byte> content;
  auto put_arc = [&](uint64_t v) {
    std::byte tmp[10];
    size_t n = 0;
    do {
      tmp[n++] = static_cast<std::byte>(v & 0x7f);
      v >>= 7;
    } while (v);
    for (size_t i = n; i-- > 0;) content.push_back(tmp[i] | (i ? std::byte{0x80} : std::byte{0}));
  };
  size_t i = 0;
  if (!relative && arcs.size() >= 2) {
    put_arc(arcs[0] * 40 + arcs[1]);
    i = 2;
  }
  for (; i < arcs.size(); ++i) put_arc(arcs[i]);
  AddPrimitive(tag, content);
}

void Writer::AddRaw(Bytes encoded) { buf_.insert(buf_.end(), encoded.begin(), encoded.end()); }

std::vector<std::byte> Writer::Take() {
  assert(open_.empty());
  return std::move(buf_);
}

}  // namespace tapvault::ber
