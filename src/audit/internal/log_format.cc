#include "audit/internal/log_format.h"

#include <algorithm>
#include <cstring>

#include "audit/audit_log.h"
#include "base/file_util.h"
#include "base/hex.h"
#include "base/status_macros.h"
#include "nlohmann/json.hpp"

namespace tapvault::audit::internal {
namespace {

constexpr size_t kChunkBytes = 1 << 20;

void PutU32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

void AppendFrame(std::string& out, std::string_view entry, const tlog::Hash& leaf_hash) {
  out.append(kFrameMagic);
  PutU32(out, static_cast<uint32_t>(entry.size()));
  out.append(entry);
  out.append(reinterpret_cast<const char*>(leaf_hash.data()), 4);
}

FrameReader::FrameReader(int fd, std::string path, uint64_t begin, uint64_t end)
    : fd_(fd), path_(std::move(path)), pos_(begin), end_(std::max(begin, end)) {}

absl::Status FrameReader::Fill(size_t n) {
  const size_t have = buf_.size() - buf_pos_;
  if (have >= n) return absl::OkStatus();
  const uint64_t want = std::min<uint64_t>(std::max(n, kChunkBytes), end_ - pos_);
  if (want <= have) return absl::OkStatus();
  buf_.erase(0, buf_pos_);
  buf_pos_ = 0;
  const size_t old = buf_.size();
  buf_.resize(want);
  ASSIGN_OR_RETURN(size_t got, base::PReadUpTo(fd_, buf_.data() + old, want - old, pos_ + old, path_));
  buf_.resize(old + got);
  return absl::OkStatus();
}

absl::StatusOr<FrameReader::Next> FrameReader::Read() {
  Next n;
  n.offset = pos_;
  if (pos_ >= end_) return n;  // kEnd
  RETURN_IF_ERROR(Fill(8));
  const size_t have = buf_.size() - buf_pos_;
  const char* p = buf_.data() + buf_pos_;
  // What is there must be a prefix of a frame: compare the magic as far as it goes.
  if (std::memcmp(p, kFrameMagic.data(), std::min<size_t>(have, 4)) != 0) {
    n.kind = Kind::kBad;
    n.why = "no frame magic";
    return n;
  }
  if (have < 8) {
    n.kind = Kind::kTorn;
    n.why = base::StrCat("frame header cut after ", have, " bytes");
    return n;
  }
  const uint32_t len = GetU32(p + 4);
  if (len == 0 || len > kMaxEntryBytes) {
    n.kind = Kind::kBad;
    n.why = base::StrCat("frame length ", len, " out of range");
    return n;
  }
  const size_t framed = kFrameOverhead + len;
  RETURN_IF_ERROR(Fill(framed));
  p = buf_.data() + buf_pos_;
  if (buf_.size() - buf_pos_ < framed) {
    n.kind = Kind::kTorn;
    n.why = base::StrCat("frame of ", framed, " bytes cut after ", buf_.size() - buf_pos_);
    return n;
  }
  n.entry = std::string_view(p + 8, len);
  n.leaf_hash = tlog::LeafHash(base::AsBytes(n.entry));
  n.kind = Kind::kFrame;
  n.size = framed;
  if (std::memcmp(p + 8 + len, n.leaf_hash.data(), 4) != 0) {
    n.kind = Kind::kBad;
    n.why = "frame check mismatch";
    n.skippable = true;
  }
  buf_pos_ += framed;
  pos_ += framed;
  return n;
}

std::optional<uint64_t> PeekIndex(std::string_view entry) {
  if (entry.size() < 9 || static_cast<uint8_t>(entry[0]) != kEntryVersion) return std::nullopt;
  uint64_t v = 0;
  for (int i = 1; i <= 8; ++i) v = (v << 8) | static_cast<uint8_t>(entry[i]);
  return v;
}

std::string EncodeTileState(const TileState& s) {
  nlohmann::json j = {{"version", 1},
                      {"size", s.size},
                      {"offset", s.offset},
                      {"bundle_offset", s.bundle_offset},
                      {"edge", base::ToHex(base::AsBytes(s.edge))}};
  return j.dump() + "\n";
}

std::optional<TileState> DecodeTileState(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("version", 0) != 1) return std::nullopt;
  for (const char* k : {"size", "offset", "bundle_offset"}) {
    if (!j.contains(k) || !j[k].is_number_unsigned()) return std::nullopt;
  }
  if (!j.contains("edge") || !j["edge"].is_string()) return std::nullopt;
  auto edge = base::FromHex(j["edge"].get<std::string>());
  if (!edge) return std::nullopt;
  TileState s;
  s.size = j["size"].get<uint64_t>();
  s.offset = j["offset"].get<uint64_t>();
  s.bundle_offset = j["bundle_offset"].get<uint64_t>();
  s.edge.assign(reinterpret_cast<const char*>(edge->data()), edge->size());
  if (s.offset < kFileHeader.size() || s.bundle_offset < kFileHeader.size() ||
      s.bundle_offset > s.offset) {
    return std::nullopt;
  }
  return s;
}

}  // namespace tapvault::audit::internal
