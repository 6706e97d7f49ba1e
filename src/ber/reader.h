// BER (ITU-T X.690) TLV reader over a byte span: zero-copy, bounds-checked, with bounded depth,
// length and element count. It knows nothing of any protocol; src/proto/* builds on it.
//
//   ber::Context ctx;                       // limits + element budget for one decode
//   ber::Reader top(frame, ctx);
//   ber::Tlv pdu;
//   RETURN_IF_ERROR(top.Next(pdu));         // PS-PDU ::= SEQUENCE
//   ASSIGN_OR_RETURN(ber::Reader fields, top.Enter(pdu));
//   while (!fields.AtEnd()) { ber::Tlv f; RETURN_IF_ERROR(fields.Next(f)); ... }
//
// Accepts everything BER allows that real peers send: long-form lengths that are not minimal
// (`82 00 9f`), indefinite lengths on constructed values, constructed (segmented) strings.
// Views (Tlv::value) point into the input and stay valid as long as it does.
// Errors name the offset: OutOfRange when the input ends inside a value (truncated: a stream
// framer waits for more bytes), InvalidArgument when it is malformed, ResourceExhausted when a
// limit is hit.
// Not thread-safe; a Context belongs to one decode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/byte_reader.h"

namespace tapvault::ber {

using base::Bytes;

enum class TagClass : uint8_t { kUniversal = 0, kApplication = 1, kContext = 2, kPrivate = 3 };

// Universal tag numbers (X.680 8.4) that the LI modules use.
enum UniversalTag : uint32_t {
  kBoolean = 1, kInteger = 2, kBitString = 3, kOctetString = 4, kNull = 5, kOid = 6,
  kEnumerated = 10, kUtf8String = 12, kRelativeOid = 13, kSequence = 16, kSet = 17,
  kNumericString = 18, kPrintableString = 19, kIa5String = 22, kUtcTime = 23,
  kGeneralizedTime = 24, kVisibleString = 26,
};

struct Tag {
  TagClass cls = TagClass::kUniversal;
  bool constructed = false;
  uint32_t number = 0;
  friend bool operator==(const Tag&, const Tag&) = default;
};

// Shorthands for matching: ctx(3) is [3] of either form; ctxc(3) is [3] constructed.
constexpr Tag Ctx(uint32_t n, bool constructed = false) { return {TagClass::kContext, constructed, n}; }
constexpr Tag Univ(uint32_t n, bool constructed = false) { return {TagClass::kUniversal, constructed, n}; }

struct Tlv {
  Tag tag;
  Bytes value;          // content octets (for indefinite length: without the end-of-contents)
  Bytes encoding;       // the whole TLV, identifier through end-of-contents
  size_t offset = 0;    // of the identifier octet, from the start of the outermost buffer
  bool indefinite = false;

  bool Is(TagClass cls, uint32_t number) const { return tag.cls == cls && tag.number == number; }
  bool IsContext(uint32_t number) const { return Is(TagClass::kContext, number); }
};

struct Limits {
  int max_depth = 32;                      // nesting of constructed values
  uint64_t max_length = 64ull << 20;       // of any one value (64 MiB)
  uint64_t max_elements = 1u << 20;        // TLVs per decode (whole PDU)
};

// Shared by all readers of one decode: the limits and the element budget spent so far.
struct Context {
  Limits limits;
  uint64_t elements = 0;
};

class Reader {
 public:
  // Reads the TLVs of `data` in sequence; `base_offset` is where `data` starts in the outermost
  // buffer (for error messages). `ctx` must outlive the Reader.
  Reader(Bytes data, Context& ctx, size_t base_offset = 0, int depth = 0)
      : in_(data, base_offset), ctx_(&ctx), depth_(depth) {}

  bool AtEnd() const { return in_.empty(); }
  size_t offset() const { return in_.offset(); }
  Bytes rest() const { return in_.rest(); }

  // Reads the next TLV. On error the reader is left where it was.
  absl::Status Next(Tlv& out);
  // A reader over the children of a constructed TLV read by this reader (or its parent chain).
  absl::StatusOr<Reader> Enter(const Tlv& tlv) const;

 private:
  absl::Status NextAt(size_t start, Tlv& out);
  absl::Status ReadHeader(base::ByteReader& in, Tlv& out, uint64_t& length, int depth) const;
  absl::Status FindEndOfContents(base::ByteReader& in, int depth, size_t& content_len) const;

  base::ByteReader in_;
  Context* ctx_;
  int depth_;
};

// Reads exactly one TLV spanning `data` (trailing bytes are an error).
absl::StatusOr<Tlv> ReadSingle(Bytes data, Context& ctx);
// Length of the first complete TLV at the start of `data`, or 0 if more bytes are needed;
// an error if the bytes cannot start a valid TLV. For stream framing.
absl::StatusOr<size_t> CompleteTlvLength(Bytes data, Context& ctx);

// Primitive value decoders (X.690 8.2-8.23). They check the primitive form and the size.
absl::StatusOr<bool> DecodeBoolean(const Tlv& tlv);
absl::Status DecodeNull(const Tlv& tlv);
absl::StatusOr<int64_t> DecodeInteger(const Tlv& tlv);
// Non-negative INTEGER up to 2^64-1 (e.g. MicroSecondTimeStamp.seconds); negative is an error.
absl::StatusOr<uint64_t> DecodeUnsigned(const Tlv& tlv);
// OBJECT IDENTIFIER (first two arcs packed) or RELATIVE-OID as arcs.
absl::StatusOr<std::vector<uint64_t>> DecodeOid(const Tlv& tlv, bool relative);
std::string OidToString(const std::vector<uint64_t>& arcs);

// The octets of a string type (OCTET STRING, PrintableString, ...). Primitive: a view into the
// input. Constructed (BER segmented): the segments are joined into `*scratch`, which the view
// then points into, so `scratch` must outlive the result.
absl::StatusOr<Bytes> StringOctets(const Tlv& tlv, Context& ctx, std::string* scratch);

absl::Status ErrorAt(size_t offset, std::string_view what);
absl::Status TruncatedAt(size_t offset, std::string_view what);

}  // namespace tapvault::ber
