#include "store/record_format.h"

#include "crypto/digest.h"

#include <cstring>

#include "base/strings.h"

namespace tapvault::store {
namespace {

// Header flags (one byte). Bits not listed here are refused.
constexpr uint8_t kFlagCin = 1;         // the PDU has a communicationIdentityNumber
constexpr uint8_t kFlagRewritten = 2;   // rewritten_from (u64) follows the nonce

void PutU8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }
void PutBE(std::string& out, uint64_t v, int n) {
  char buf[8];
  for (int i = 0; i < n; ++i) buf[i] = static_cast<char>((v >> (8 * (n - 1 - i))) & 0xff);
  out.append(buf, static_cast<size_t>(n));
}
void PutStr16(std::string& out, std::string_view s) {
  PutBE(out, s.size(), 2);
  out.append(s);
}

// Reads fields in order and remembers the first failure with the field's name.
class FieldReader {
 public:
  explicit FieldReader(base::Bytes b) : r_(b) {}
  uint64_t BE(int n, const char* field) {
    uint64_t v = 0;
    if (ok() && !r_.ReadBigEndian(n, v)) failed_ = field;
    return v;
  }
  std::string Str16(const char* field) {
    uint64_t n = BE(2, field);
    base::Bytes s;
    if (ok() && !r_.ReadSpan(n, s)) failed_ = field;
    return ok() ? std::string(base::AsString(s)) : std::string();
  }
  void Raw(uint8_t* out, size_t n, const char* field) {
    base::Bytes s;
    if (ok() && !r_.ReadSpan(n, s)) failed_ = field;
    if (ok()) std::memcpy(out, s.data(), n);
  }
  bool ok() const { return failed_ == nullptr; }
  const char* failed() const { return failed_; }
  base::ByteReader& reader() { return r_; }

 private:
  base::ByteReader r_;
  const char* failed_ = nullptr;
};

}  // namespace

std::string EncodeRecordHeader(const RecordHeader& h) {
  std::string out;
  out.reserve(104 + h.liid.size() + h.network_id.size());
  AppendRecordHeader(h, out);
  return out;
}

size_t RecordHeaderSize(const RecordHeader& h) {
  thread_local std::string scratch;
  scratch.clear();
  AppendRecordHeader(h, scratch);
  return scratch.size();
}

void AppendRecordHeader(const RecordHeader& h, std::string& out) {
  PutU8(out, kRecordFormatVersion);
  PutU8(out, static_cast<uint8_t>(h.type));
  PutBE(out, h.leaf_index, 8);
  PutBE(out, h.segment_id, 8);
  PutBE(out, h.segment_offset, 8);
  PutBE(out, static_cast<uint64_t>(h.received_us), 8);
  PutBE(out, h.run_id, 4);
  PutBE(out, h.connection_id, 8);
  PutBE(out, h.comm_id, 8);
  PutBE(out, h.key_id, 8);
  PutU8(out, h.handover);
  PutU8(out, h.kind);
  PutU8(out, h.verdict);
  const uint8_t flags = static_cast<uint8_t>((h.cin.has_value() ? kFlagCin : 0) |
                                             (h.rewritten_from.has_value() ? kFlagRewritten : 0));
  PutU8(out, flags);
  PutBE(out, h.cin.value_or(0), 4);
  PutBE(out, h.sequence_number, 4);
  PutStr16(out, h.liid);
  PutStr16(out, h.network_id);
  out.append(reinterpret_cast<const char*>(h.nonce.data()), h.nonce.size());
  if (h.rewritten_from) PutBE(out, *h.rewritten_from, 8);
}

absl::StatusOr<RecordHeader> DecodeRecordHeader(base::Bytes bytes) {
  FieldReader f(bytes);
  RecordHeader h;
  uint64_t version = f.BE(1, "version");
  if (f.ok() && version != kRecordFormatVersion) {
    return absl::InvalidArgumentError(base::StrCat("record header: unknown version ", version));
  }
  uint64_t type = f.BE(1, "type");
  if (f.ok() && type != 1 && type != 2) {
    return absl::InvalidArgumentError(base::StrCat("record header: unknown type ", type));
  }
  h.type = static_cast<RecordType>(type);
  h.leaf_index = f.BE(8, "leaf_index");
  h.segment_id = f.BE(8, "segment_id");
  h.segment_offset = f.BE(8, "segment_offset");
  h.received_us = static_cast<int64_t>(f.BE(8, "received_us"));
  h.run_id = static_cast<uint32_t>(f.BE(4, "run_id"));
  h.connection_id = f.BE(8, "connection_id");
  h.comm_id = f.BE(8, "comm_id");
  h.key_id = f.BE(8, "key_id");
  h.handover = static_cast<uint8_t>(f.BE(1, "handover"));
  h.kind = static_cast<uint8_t>(f.BE(1, "kind"));
  h.verdict = static_cast<uint8_t>(f.BE(1, "verdict"));
  uint64_t flags = f.BE(1, "flags");
  uint32_t cin = static_cast<uint32_t>(f.BE(4, "cin"));
  if ((flags & ~uint64_t{kFlagCin | kFlagRewritten}) != 0) {
    return absl::InvalidArgumentError("record header: bad flags");
  }
  // One encoding per header (the log commits to these bytes): no CIN means a zero field.
  if ((flags & kFlagCin) != 0) {
    h.cin = cin;
  } else if (cin != 0) {
    return absl::InvalidArgumentError("record header: cin without its flag");
  }
  h.sequence_number = static_cast<uint32_t>(f.BE(4, "sequence_number"));
  h.liid = f.Str16("liid");
  h.network_id = f.Str16("network_id");
  f.Raw(h.nonce.data(), h.nonce.size(), "nonce");
  if ((flags & kFlagRewritten) != 0) h.rewritten_from = f.BE(8, "rewritten_from");
  if (!f.ok()) {
    return absl::InvalidArgumentError(base::StrCat("record header: truncated at ", f.failed()));
  }
  if (!f.reader().empty()) return absl::InvalidArgumentError("record header: trailing bytes");
  return h;
}

size_t FramedSize(size_t header_len, size_t body_len) {
  return kRecordFrameBytes + header_len + body_len;
}

void AppendFrameHead(std::string& out, size_t header_len, size_t body_len) {
  PutBE(out, kRecordMagic, 4);
  PutBE(out, header_len, 4);
  PutBE(out, body_len, 4);
}

std::string FrameRecord(std::string_view header, std::string_view body) {
  std::string out;
  out.reserve(FramedSize(header.size(), body.size()));
  AppendFrameHead(out, header.size(), body.size());
  out.append(header);
  out.append(body);
  return out;
}

absl::StatusOr<ParsedRecord> ParseRecord(base::Bytes bytes) {
  base::ByteReader r(bytes);
  uint64_t magic = 0, header_len = 0, body_len = 0;
  if (!r.ReadBigEndian(4, magic)) return absl::OutOfRangeError("record: torn frame");
  if (magic != kRecordMagic) return absl::DataLossError("record: bad magic");
  if (!r.ReadBigEndian(4, header_len) || !r.ReadBigEndian(4, body_len)) {
    return absl::OutOfRangeError("record: torn frame");
  }
  if (header_len > kMaxRecordHeaderBytes || body_len > kMaxRecordBodyBytes) {
    return absl::DataLossError("record: implausible length");
  }
  ParsedRecord p;
  if (!r.ReadSpan(header_len, p.header_bytes) || !r.ReadSpan(body_len, p.body)) {
    return absl::OutOfRangeError("record: torn record");
  }
  auto h = DecodeRecordHeader(p.header_bytes);
  if (!h.ok()) return absl::DataLossError(h.status().message());
  p.header = std::move(*h);
  p.framed_size = r.position();
  return p;
}

std::array<uint8_t, 32> Sha256(base::Bytes data) {
  return crypto::Sha256({{reinterpret_cast<const uint8_t*>(data.data()), data.size()}});
}

std::string LeafEntry(base::Bytes header_bytes, base::Bytes body) {
  std::string entry(base::AsString(header_bytes));
  auto digest = Sha256(body);
  entry.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return entry;
}

std::string EncodeSegmentHeader(const SegmentHeader& h) {
  std::string out(kSegmentMagic);
  size_t total = 8 + 4 + 8 + 8 + 2 + h.liid.size();
  PutBE(out, total, 4);
  PutBE(out, h.segment_id, 8);
  PutBE(out, static_cast<uint64_t>(h.created_us), 8);
  PutStr16(out, h.liid);
  return out;
}

absl::StatusOr<std::pair<SegmentHeader, size_t>> DecodeSegmentHeader(base::Bytes bytes) {
  if (bytes.size() < kSegmentMagic.size() ||
      base::AsString(bytes.first(kSegmentMagic.size())) != kSegmentMagic) {
    return absl::DataLossError("segment: bad magic");
  }
  FieldReader f(bytes.subspan(kSegmentMagic.size()));
  SegmentHeader h;
  uint64_t total = f.BE(4, "length");
  h.segment_id = f.BE(8, "segment_id");
  h.created_us = static_cast<int64_t>(f.BE(8, "created_us"));
  h.liid = f.Str16("liid");
  if (!f.ok()) return absl::DataLossError(base::StrCat("segment header: truncated at ", f.failed()));
  if (total != kSegmentMagic.size() + f.reader().position()) {
    return absl::DataLossError("segment header: length mismatch");
  }
  return std::make_pair(std::move(h), static_cast<size_t>(total));
}

std::string CaseDirName(std::string_view liid) {
  if (liid.empty()) return "_system";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : liid) {
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || ((c == '_' || c == '.') && !out.empty());
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace tapvault::store
