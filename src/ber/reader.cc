#include "ber/reader.h"

#include "base/strings.h"
#include "base/status_macros.h"

namespace tapvault::ber {

absl::Status ErrorAt(size_t offset, std::string_view what) {
  return absl::InvalidArgumentError(base::StrCat("ber: at offset ", offset, ": ", what));
}

absl::Status TruncatedAt(size_t offset, std::string_view what) {
  return absl::OutOfRangeError(base::StrCat("ber: at offset ", offset, ": truncated: ", what));
}

namespace {
absl::Status LimitAt(size_t offset, std::string_view what) {
  return absl::ResourceExhaustedError(base::StrCat("ber: at offset ", offset, ": ", what));
}
}  // namespace

absl::Status Reader::ReadHeader(base::ByteReader& in, Tlv& out, uint64_t& length,
                                int depth) const {
  const size_t start = in.offset();
  if (++ctx_->elements > ctx_->limits.max_elements) {
    return LimitAt(start, "too many elements");
  }
  uint8_t id;
  if (!in.ReadU8(id)) return TruncatedAt(start, "identifier");
  out.offset = start;
  out.tag.cls = static_cast<TagClass>(id >> 6);
  out.tag.constructed = (id & 0x20) != 0;
  uint32_t number = id & 0x1f;
  if (number == 0x1f) {  // X.690 8.1.2.4: high tag number form, base 128
    number = 0;
    for (int i = 0;; ++i) {
      uint8_t b;
      if (!in.ReadU8(b)) return TruncatedAt(start, "tag number");
      if (i == 0 && b == 0x80) return ErrorAt(start, "tag number with leading zero");
      if (i == 4) return ErrorAt(start, "tag number too large");
      number = (number << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
  }
  out.tag.number = number;

  uint8_t l;
  if (!in.ReadU8(l)) return TruncatedAt(start, "length");
  out.indefinite = false;
  if (l < 0x80) {  // 8.1.3.4 short form
    length = l;
  } else if (l == 0x80) {  // 8.1.3.6 indefinite form, constructed only
    if (!out.tag.constructed) return ErrorAt(start, "indefinite length on a primitive value");
    out.indefinite = true;
    length = 0;
  } else {  // 8.1.3.5 long form; non-minimal encodings are valid BER
    const size_t n = l & 0x7f;
    if (n == 0x7f) return ErrorAt(start, "reserved length octet 0xff");
    // Skip leading zero octets so that e.g. 84 00 00 00 9f is read.
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      uint8_t b;
      if (!in.ReadU8(b)) return TruncatedAt(start, "length");
      if (v >> 55) return LimitAt(start, "length too large");
      v = (v << 8) | b;
    }
    length = v;
  }
  if (length > ctx_->limits.max_length) {
    return LimitAt(start, base::StrCat("length ", length, " over the limit"));
  }
  (void)depth;
  return absl::OkStatus();
}

// Walks the children of an indefinite-length value until its end-of-contents octets, which
// X.690 8.1.5 places at the same level. On success `in` is past the EOC.
absl::Status Reader::FindEndOfContents(base::ByteReader& in, int depth, size_t& content_len) const {
  const size_t content_start = in.position();
  while (true) {
    if (depth > ctx_->limits.max_depth) return LimitAt(in.offset(), "nesting too deep");
    const size_t here = in.position();
    uint8_t a, b;
    base::ByteReader peek = in;
    if (!peek.ReadU8(a)) return TruncatedAt(in.offset(), "missing end-of-contents");
    if (a == 0x00) {
      if (!peek.ReadU8(b)) return TruncatedAt(in.offset(), "end-of-contents");
      if (b != 0x00) return ErrorAt(in.offset(), "malformed end-of-contents");
      content_len = here - content_start;
      in = peek;
      return absl::OkStatus();
    }
    Tlv child;
    uint64_t len;
    RETURN_IF_ERROR(ReadHeader(in, child, len, depth));
    if (child.indefinite) {
      size_t inner;
      RETURN_IF_ERROR(FindEndOfContents(in, depth + 1, inner));
    } else if (!in.Skip(len)) {
      return TruncatedAt(child.offset, base::StrCat("length ", len, " exceeds the ",
                                                    in.remaining(), " bytes that remain"));
    }
  }
}

absl::Status Reader::Next(Tlv& out) {
  // Parse in place and rewind on error. (Copying the cursor and assigning it back costs a
  // store-forwarding stall per TLV on the decode hot path.)
  const size_t start = in_.position();
  absl::Status s = NextAt(start, out);
  if (!s.ok()) in_.Rewind(start);
  return s;
}

absl::Status Reader::NextAt(size_t start, Tlv& out) {
  uint64_t length;
  RETURN_IF_ERROR(ReadHeader(in_, out, length, depth_));
  const size_t content_pos = in_.position();
  if (out.indefinite) {
    size_t content_len;
    RETURN_IF_ERROR(FindEndOfContents(in_, depth_ + 1, content_len));
    out.value = in_.data().subspan(content_pos, content_len);
  } else {
    if (length > in_.remaining()) {
      return TruncatedAt(out.offset, base::StrCat("length ", length, " exceeds the ",
                                                  in_.remaining(), " bytes that remain"));
    }
    in_.ReadSpan(static_cast<size_t>(length), out.value);
  }
  out.encoding = in_.data().subspan(start, in_.position() - start);
  return absl::OkStatus();
}

absl::StatusOr<Reader> Reader::Enter(const Tlv& tlv) const {
  if (!tlv.tag.constructed) return ErrorAt(tlv.offset, "expected a constructed value");
  if (depth_ + 1 > ctx_->limits.max_depth) return LimitAt(tlv.offset, "nesting too deep");
  const size_t content_offset = tlv.offset + (tlv.encoding.size() - tlv.value.size()) -
                                (tlv.indefinite ? 2 : 0);
  return Reader(tlv.value, *ctx_, content_offset, depth_ + 1);
}

absl::StatusOr<Tlv> ReadSingle(Bytes data, Context& ctx) {
  Reader r(data, ctx);
  Tlv tlv;
  RETURN_IF_ERROR(r.Next(tlv));
  if (!r.AtEnd()) return ErrorAt(r.offset(), "trailing bytes after the value");
  return tlv;
}

absl::StatusOr<size_t> CompleteTlvLength(Bytes data, Context& ctx) {
  Reader r(data, ctx);
  Tlv tlv;
  absl::Status s = r.Next(tlv);
  if (s.ok()) return tlv.encoding.size();
  if (absl::IsOutOfRange(s)) return 0;  // well-formed so far; more bytes needed
  return s;
}

absl::StatusOr<bool> DecodeBoolean(const Tlv& tlv) {
  if (tlv.tag.constructed || tlv.value.size() != 1) return ErrorAt(tlv.offset, "bad BOOLEAN");
  return tlv.value[0] != std::byte{0};
}

absl::Status DecodeNull(const Tlv& tlv) {
  if (tlv.tag.constructed || !tlv.value.empty()) return ErrorAt(tlv.offset, "bad NULL");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> DecodeInteger(const Tlv& tlv) {
  const Bytes v = tlv.value;
  if (tlv.tag.constructed || v.empty()) return ErrorAt(tlv.offset, "bad INTEGER");
  // Skip redundant sign octets (non-minimal BER from lenient encoders).
  size_t i = 0;
  while (v.size() - i > 8 &&
         ((v[i] == std::byte{0x00} && (static_cast<uint8_t>(v[i + 1]) & 0x80) == 0) ||
          (v[i] == std::byte{0xff} && (static_cast<uint8_t>(v[i + 1]) & 0x80) != 0))) {
    ++i;
  }
  if (v.size() - i > 8) return ErrorAt(tlv.offset, "INTEGER does not fit in 64 bits");
  uint64_t u = (static_cast<uint8_t>(v[i]) & 0x80) ? ~uint64_t{0} : 0;
  for (; i < v.size(); ++i) u = (u << 8) | static_cast<uint8_t>(v[i]);
  return static_cast<int64_t>(u);
}

absl::StatusOr<uint64_t> DecodeUnsigned(const Tlv& tlv) {
  const Bytes v = tlv.value;
  if (tlv.tag.constructed || v.empty()) return ErrorAt(tlv.offset, "bad INTEGER");
  if (static_cast<uint8_t>(v[0]) & 0x80) return ErrorAt(tlv.offset, "negative INTEGER");
  size_t i = 0;
  while (i + 1 < v.size() && v[i] == std::byte{0}) ++i;
  if (v.size() - i > 8) return ErrorAt(tlv.offset, "INTEGER does not fit in 64 bits");
  uint64_t u = 0;
  for (; i < v.size(); ++i) u = (u << 8) | static_cast<uint8_t>(v[i]);
  return u;
}

absl::StatusOr<std::vector<uint64_t>> DecodeOid(const Tlv& tlv, bool relative) {
  if (tlv.tag.constructed || (!relative && tlv.value.empty())) {
    return ErrorAt(tlv.offset, "bad OBJECT IDENTIFIER");
  }
  std::vector<uint64_t> arcs;
  uint64_t v = 0;
  bool in_arc = false;
  for (std::byte byte : tlv.value) {
    const auto b = static_cast<uint8_t>(byte);
    if (!in_arc && b == 0x80) return ErrorAt(tlv.offset, "OID subidentifier with leading zero");
    if (v >> 56) return ErrorAt(tlv.offset, "OID arc too large");
    v = (v << 7) | (b & 0x7f);
    in_arc = (b & 0x80) != 0;
    if (!in_arc) {
      if (!relative && arcs.empty()) {  // X.690 8.19.4: first subidentifier = 40*X + Y
        const uint64_t first = v < 40 ? 0 : (v < 80 ? 1 : 2);
        arcs.push_back(first);
        arcs.push_back(v - first * 40);
      } else {
        arcs.push_back(v);
      }
      v = 0;
    }
    if (arcs.size() > 128) return ErrorAt(tlv.offset, "OID has too many arcs");
  }
  if (in_arc) return ErrorAt(tlv.offset, "truncated OID subidentifier");
  return arcs;
}

std::string OidToString(const std::vector<uint64_t>& arcs) {
  std::string s;
  for (size_t i = 0; i < arcs.size(); ++i) {
    if (i) s.push_back('.');
    s += std::to_string(arcs[i]);
  }
  return s;
}

namespace {
absl::Status AppendSegments(const Tlv& tlv, Context& ctx, std::string& out, int depth) {
  if (depth > ctx.limits.max_depth) return LimitAt(tlv.offset, "nesting too deep");
  Reader r(tlv.value, ctx, tlv.offset + (tlv.encoding.size() - tlv.value.size()), depth);
  while (!r.AtEnd()) {
    Tlv seg;
    RETURN_IF_ERROR(r.Next(seg));
    if (seg.tag.cls != TagClass::kUniversal || seg.tag.number != kOctetString) {
      // X.690 8.23.3: segments of a constructed string are OCTET STRINGs
      if (seg.tag.number != tlv.tag.number || seg.tag.cls != tlv.tag.cls) {
        return ErrorAt(seg.offset, "bad segment of a constructed string");
      }
    }
    if (seg.tag.constructed) {
      RETURN_IF_ERROR(AppendSegments(seg, ctx, out, depth + 1));
    } else {
      if (out.size() + seg.value.size() > ctx.limits.max_length) {
        return LimitAt(seg.offset, "constructed string too long");
      }
      out.append(base::AsString(seg.value));
    }
  }
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<Bytes> StringOctets(const Tlv& tlv, Context& ctx, std::string* scratch) {
  if (!tlv.tag.constructed) return tlv.value;
  if (scratch == nullptr) return ErrorAt(tlv.offset, "unexpected constructed string");
  scratch->clear();
  RETURN_IF_ERROR(AppendSegments(tlv, ctx, *scratch, 1));
  return base::AsBytes(*scratch);
}

}  // namespace tapvault::ber
