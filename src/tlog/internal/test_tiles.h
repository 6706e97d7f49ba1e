// Test helpers for tlog (tests only): in-memory tile readers and a reference RFC 9162 proof
// generator over a plain vector of leaf hashes, independent of tiles. Thread-compatible.
#pragma once

#include <bit>
#include <map>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "base/hex.h"
#include "tlog/merkle.h"
#include "tlog/tiles.h"

namespace tapvault::tlog::testing {

inline Hash HashFromHex(std::string_view hex) {
  auto bytes = base::FromHex(hex);
  Hash h{};
  if (bytes && bytes->size() == h.size()) {
    for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>((*bytes)[i]);
  }
  return h;
}

inline std::string ToHex(const Hash& h) { return base::ToHex(std::as_bytes(std::span(h))); }

inline Hash TestLeafHash(uint64_t i) {
  std::string entry = "entry " + std::to_string(i);
  return LeafHash(base::AsBytes(entry));
}

// Keeps the widest version of each tile seen and serves any narrower width as its prefix, as a
// store that overwrites its partial tiles does. Counts reads.
class MemTileReader : public TileReader {
 public:
  void Put(int level, uint64_t index, std::string hashes) {
    std::string& t = tiles_[{level, index}];
    if (hashes.size() > t.size()) t = std::move(hashes);
  }
  void PutAll(const std::vector<TreeBuilder::FullTile>& tiles) {
    for (const auto& t : tiles) Put(t.level, t.index, t.hashes);
  }
  absl::StatusOr<std::string> ReadTile(int level, uint64_t index, uint64_t width) override {
    ++reads;
    auto it = tiles_.find({level, index});
    if (it == tiles_.end() || it->second.size() < width * 32) {
      return absl::NotFoundError("no such tile");
    }
    return it->second.substr(0, width * 32);
  }
  int reads = 0;

 private:
  std::map<std::pair<int, uint64_t>, std::string> tiles_;
};

// Serves only exactly the stored (level, index, width): what a static tlog-tiles server does.
class ExactTileReader : public TileReader {
 public:
  void Put(int level, uint64_t index, const std::string& hashes) {
    tiles_[{level, index, hashes.size() / 32}] = hashes;
  }
  absl::StatusOr<std::string> ReadTile(int level, uint64_t index, uint64_t width) override {
    auto it = tiles_.find({level, index, width});
    if (it == tiles_.end()) return absl::NotFoundError("no such tile");
    return it->second;
  }

 private:
  std::map<std::tuple<int, uint64_t, uint64_t>, std::string> tiles_;
};

// RFC 9162 2.1.3.1 and 2.1.4.1 straight from the definitions, over leaf hashes in memory.
inline void RefPath(uint64_t m, std::span<const Hash> d, std::vector<Hash>& out) {
  if (d.size() <= 1) return;
  uint64_t k = std::bit_floor(d.size() - 1);
  if (m < k) {
    RefPath(m, d.first(k), out);
    out.push_back(RootFromLeafHashes(d.subspan(k)));
  } else {
    RefPath(m - k, d.subspan(k), out);
    out.push_back(RootFromLeafHashes(d.first(k)));
  }
}
inline std::vector<Hash> RefInclusion(uint64_t m, std::span<const Hash> d) {
  std::vector<Hash> out;
  RefPath(m, d, out);
  return out;
}
inline void RefSubProof(uint64_t m, std::span<const Hash> d, bool b, std::vector<Hash>& out) {
  if (m == d.size()) {
    if (!b) out.push_back(RootFromLeafHashes(d));
    return;
  }
  uint64_t k = std::bit_floor(d.size() - 1);
  if (m <= k) {
    RefSubProof(m, d.first(k), b, out);
    out.push_back(RootFromLeafHashes(d.subspan(k)));
  } else {
    RefSubProof(m - k, d.subspan(k), false, out);
    out.push_back(RootFromLeafHashes(d.first(k)));
  }
}
inline std::vector<Hash> RefConsistency(uint64_t m, std::span<const Hash> d) {
  std::vector<Hash> out;
  if (m > 0 && m < d.size()) RefSubProof(m, d, true, out);
  return out;
}

}  // namespace tapvault::tlog::testing
