// The byte layout of the cold store's segment files and of its Merkle log leaves (spec:
// docs/formats/store.md). Everything here is pure: no I/O, no keys.
//
// A segment file is a SegmentHeader followed by records, back to back:
//   record = u32 magic "TVR1" | u32 header_len | u32 body_len | header | body
// The header (RecordHeader, serialized) says where the record belongs (leaf index, segment and
// offset, case, communication, key) and is the AES-GCM additional data of the body, so the
// ciphertext cannot be moved to another place or communication unnoticed. The body is the raw
// BER PDU encrypted with the communication slice's data key (type kPdu) or, for the store's own
// signed system records (type kSystem: destruction records, recovery events), plain text.
//
// The Merkle log leaf of a record is   entry = header || SHA-256(body)
// so the log commits to the ciphertext and its metadata, never to plaintext: it verifies after
// the key is destroyed and reveals nothing of the content.
//
//   std::string header = store::EncodeRecordHeader(h);
//   std::string framed = store::FrameRecord(header, body);
//   ASSIGN_OR_RETURN(store::ParsedRecord r, store::ParseRecord(bytes_at_offset));
//
// Thread-safe (stateless).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "base/byte_reader.h"

namespace tapvault::store {

enum class RecordType : uint8_t { kPdu = 1, kSystem = 2 };

inline constexpr uint32_t kRecordMagic = 0x54565231;   // "TVR1"
inline constexpr size_t kRecordFrameBytes = 4 + 4 + 4;  // magic, header_len, body_len
inline constexpr uint8_t kRecordFormatVersion = 1;
inline constexpr size_t kNonceBytes = 12;               // AES-GCM nonce
inline constexpr size_t kMaxRecordHeaderBytes = 4096;
inline constexpr size_t kMaxRecordBodyBytes = 64u << 20;
inline constexpr std::string_view kSegmentMagic{"TVSEG\0\0\1", 8};

struct RecordHeader {
  RecordType type = RecordType::kPdu;
  uint64_t leaf_index = 0;
  uint64_t segment_id = 0;
  uint64_t segment_offset = 0;   // of the record's magic in its segment file
  int64_t received_us = 0;       // local clock at receipt (system records: when written)
  uint32_t run_id = 0;           // which start of the store (connection ids restart per run)
  uint64_t connection_id = 0;
  uint64_t comm_id = 0;          // 0 for system records
  uint64_t key_id = 0;           // data key; 0 = body is plain (system records)
  uint8_t handover = 0;          // 0 HI2, 1 HI3 (ingest::Handover); system: 0
  uint8_t kind = 0;              // proto::Kind of the first payload item; system: SystemKind
  uint8_t verdict = 0;           // ingest::SequenceVerdict
  std::optional<uint32_t> cin;
  uint32_t sequence_number = 0;
  std::string liid;              // the case ("" for system records)
  std::string network_id;        // "operator/element"
  std::array<uint8_t, kNonceBytes> nonce{};
  // Set on a re-encrypted copy of a record that a time-range destruction kept (the rest of its
  // key slice was destroyed): the leaf of the first original. Every field above except the
  // placement (leaf, segment, offset), key_id and nonce is the original's. Encoded only when set
  // (flags bit 1), so headers written before this field existed decode unchanged.
  std::optional<uint64_t> rewritten_from;

  friend bool operator==(const RecordHeader&, const RecordHeader&) = default;
};

// What a system record is about (RecordHeader::kind when type == kSystem).
enum class SystemKind : uint8_t {
  kDestruction = 1,   // a signed destruction record
  kRecovery = 2,      // a torn tail cut or an orphan segment removed at start-up
  kKeyRotation = 3,   // master or warrant key rotated
};

std::string EncodeRecordHeader(const RecordHeader& h);
// The same bytes appended to `out` (the store's hot path encodes into reused buffers).
void AppendRecordHeader(const RecordHeader& h, std::string& out);
// EncodeRecordHeader(h).size(), without allocating.
size_t RecordHeaderSize(const RecordHeader& h);
// InvalidArgument (naming the field) for anything malformed or with trailing bytes.
absl::StatusOr<RecordHeader> DecodeRecordHeader(base::Bytes bytes);

// magic | header_len | body_len | header | body
std::string FrameRecord(std::string_view header, std::string_view body);
// The frame's first kRecordFrameBytes (magic and both lengths), appended to `out`; the header and
// the body follow.
void AppendFrameHead(std::string& out, size_t header_len, size_t body_len);
size_t FramedSize(size_t header_len, size_t body_len);

struct ParsedRecord {
  base::Bytes header_bytes;   // views into the input
  base::Bytes body;
  RecordHeader header;
  size_t framed_size = 0;     // bytes this record occupies
};
// Parses the record at the start of `bytes`. OutOfRange if `bytes` ends inside it (a torn
// tail), DataLoss if the magic or lengths are wrong.
absl::StatusOr<ParsedRecord> ParseRecord(base::Bytes bytes);

// The Merkle leaf entry of a record: header || SHA-256(body).
std::string LeafEntry(base::Bytes header_bytes, base::Bytes body);
std::array<uint8_t, 32> Sha256(base::Bytes data);

struct SegmentHeader {
  uint64_t segment_id = 0;
  int64_t created_us = 0;
  std::string liid;           // the case this segment holds ("" = system records)
  friend bool operator==(const SegmentHeader&, const SegmentHeader&) = default;
};
// magic(8) | u32 total_len | u64 segment_id | i64 created_us | u16 liid_len | liid
std::string EncodeSegmentHeader(const SegmentHeader& h);
// The header and its encoded size. DataLoss if it is not a segment header.
absl::StatusOr<std::pair<SegmentHeader, size_t>> DecodeSegmentHeader(base::Bytes bytes);

// A file-system safe, reversible directory name for a LIID (LIIDs are operator-chosen octets):
// [A-Za-z0-9._-] kept, every other byte as %XX; "" becomes "_system".
std::string CaseDirName(std::string_view liid);

}  // namespace tapvault::store
