// entries.log framing, the sequential frame reader every part of audit/ reads the log with, the
// `state` file, and the names of the files in a log directory. Private to audit/.
// FrameReader is not thread-safe (one per scan); the rest is stateless and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tlog/merkle.h"

namespace tapvault::audit::internal {

inline constexpr std::string_view kFileHeader{"TVAUD\0\0\1", 8};
inline constexpr std::string_view kFrameMagic = "TVAE";
inline constexpr size_t kFrameOverhead = 4 + 4 + 4;  // magic, len, check

inline constexpr char kEntriesFile[] = "entries.log";
inline constexpr char kCheckpointFile[] = "checkpoint";
inline constexpr char kVerifierKeyFile[] = "verifier.vkey";
inline constexpr char kStateFile[] = "state";
inline constexpr char kCheckpointLockFile[] = "checkpoint.lock";
inline constexpr char kTornDir[] = "torn";

// "TVAE" | len | entry | first 4 bytes of leaf_hash. REQUIRES: 1 <= entry.size() <= 65535 and
// leaf_hash == tlog::LeafHash(entry).
void AppendFrame(std::string& out, std::string_view entry, const tlog::Hash& leaf_hash);

// Reads frames of entries.log sequentially from `begin` up to `end` (a file size taken earlier)
// with pread in chunks, never the whole file at once. `fd` must outlive the reader.
class FrameReader {
 public:
  FrameReader(int fd, std::string path, uint64_t begin, uint64_t end);

  enum class Kind {
    kFrame,   // a complete frame whose check matches
    kEnd,     // exactly at `end`
    kTorn,    // an incomplete frame running into `end`
    kBad,     // wrong magic, length out of range or check mismatch
  };
  struct Next {
    Kind kind = Kind::kEnd;
    uint64_t offset = 0;       // of the frame (or of the bad bytes)
    uint64_t size = 0;         // framed size (kFrame)
    std::string_view entry;    // valid until the next call
    tlog::Hash leaf_hash{};    // kFrame: SHA-256(0x00 || entry)
    std::string why;           // kTorn, kBad
    // kBad with only the check wrong: size, entry and leaf_hash are set and the reader has moved
    // past the frame, so a verifier can go on (an appender treats it as damage all the same).
    bool skippable = false;
  };
  // I/O errors as Status; everything about the bytes in Next.
  absl::StatusOr<Next> Read();
  uint64_t offset() const { return pos_; }

 private:
  // Makes at least `n` bytes from pos_ available in buf_ (fewer only at end_).
  absl::Status Fill(size_t n);

  int fd_;
  std::string path_;
  uint64_t pos_, end_;
  std::string buf_;
  size_t buf_pos_ = 0;      // buf_[buf_pos_] is the byte at pos_
};

// The index field of an encoded entry (bytes 1..8), without decoding the rest; nullopt if the
// entry is too short or of another version.
std::optional<uint64_t> PeekIndex(std::string_view entry);

// DIR/state: how far the tiles are complete and durable. JSON
// {"version":1,"size":N,"offset":O,"bundle_offset":B,"edge":"<hex of TreeBuilder::EncodeEdge>"}:
// O = byte offset in entries.log just after entry N-1, B = offset of entry N - N % 256.
struct TileState {
  uint64_t size = 0;
  uint64_t offset = kFileHeader.size();
  uint64_t bundle_offset = kFileHeader.size();
  std::string edge;  // encoded right edge; "" = the empty tree
};
std::string EncodeTileState(const TileState& s);
// nullopt if malformed (a missing or bad state only costs a longer scan).
std::optional<TileState> DecodeTileState(std::string_view text);

}  // namespace tapvault::audit::internal
