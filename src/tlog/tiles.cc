#include "tlog/tiles.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "base/status_macros.h"
#include "base/strings.h"

namespace tapvault::tlog {

namespace {

constexpr size_t kHashBytes = 32;
constexpr uint8_t kEdgeVersion = 1;

// x >> bits, 0 when bits >= 64 (a plain shift would be undefined there).
uint64_t Shr(uint64_t x, int bits) { return bits >= 64 ? 0 : x >> bits; }

std::string IndexPath(uint64_t index) {
  std::string digits = base::StrCat(index);
  digits.insert(0, (3 - digits.size() % 3) % 3, '0');
  std::string out;
  for (size_t i = 0; i < digits.size(); i += 3) {
    if (i + 3 < digits.size()) {
      out += 'x';
      out.append(digits, i, 3);
      out += '/';
    } else {
      out.append(digits, i, 3);
    }
  }
  return out;
}

std::string WidthSuffix(uint64_t width) {
  if (width >= kTileWidth) return "";
  return base::StrCat(".p/", width);
}

void AppendHash(std::string& out, const Hash& h) {
  out.append(reinterpret_cast<const char*>(h.data()), h.size());
}

Hash HashAt(std::string_view hashes, size_t i) {
  Hash h;
  std::memcpy(h.data(), hashes.data() + i * kHashBytes, kHashBytes);
  return h;
}

// Root of the perfect subtree over `hashes` (a power-of-two count of sibling nodes).
Hash FoldPerfect(std::vector<Hash> hashes) {
  while (hashes.size() > 1) {
    for (size_t i = 0; i < hashes.size() / 2; ++i) {
      hashes[i] = NodeHash(hashes[2 * i], hashes[2 * i + 1]);
    }
    hashes.resize(hashes.size() / 2);
  }
  return hashes[0];
}

std::string TileBytes(const std::vector<Hash>& hashes) {
  std::string out;
  out.reserve(hashes.size() * kHashBytes);
  for (const Hash& h : hashes) AppendHash(out, h);
  return out;
}

// Number of hashes tile (level, index) has in the tree of `tree_size` leaves (0 if none).
uint64_t TileWidthAt(int level, uint64_t index, uint64_t tree_size) {
  uint64_t nodes = Shr(tree_size, kTileHeight * level);  // complete nodes at tree level 8*level
  uint64_t first = index * kTileWidth;
  if (nodes <= first) return 0;
  return std::min<uint64_t>(kTileWidth, nodes - first);
}

// Computes node hashes from tiles for one public call. It keeps the tiles it has read for the
// duration of that call only: the perfect parts of one range often share the rightmost tiles.
class TileHasher {
 public:
  TileHasher(uint64_t tree_size, TileReader& tiles) : tree_size_(tree_size), tiles_(tiles) {}

  // MTH of [begin, end); see SubtreeHash for the requirements (checked by the caller).
  absl::StatusOr<Hash> Range(uint64_t begin, uint64_t end) {
    uint64_t size = end - begin;
    if (std::has_single_bit(size)) return Perfect(begin, size);
    uint64_t k = std::bit_floor(size);  // RFC 9162 2.1.1: largest power of two < size
    ASSIGN_OR_RETURN(Hash left, Perfect(begin, k));
    ASSIGN_OR_RETURN(Hash right, Range(begin + k, end));
    return NodeHash(left, right);
  }

 private:
  // The node over the 2^h leaves [begin, begin + 2^h), begin a multiple of 2^h. It lies in one
  // tile of level h / 8, as 2^(h % 8) consecutive hashes.
  absl::StatusOr<Hash> Perfect(uint64_t begin, uint64_t size) {
    int h = std::countr_zero(size);
    int level = h / kTileHeight;
    int rest = h % kTileHeight;
    uint64_t first_node = begin >> (kTileHeight * level);
    uint64_t count = uint64_t{1} << rest;
    uint64_t index = first_node / kTileWidth;
    uint64_t offset = first_node % kTileWidth;
    ASSIGN_OR_RETURN(std::string_view tile, Tile(level, index));
    if ((offset + count) * kHashBytes > tile.size()) {
      return absl::InternalError(base::StrCat("tlog: node beyond tile ", level, "/", index));
    }
    std::vector<Hash> hashes;
    hashes.reserve(count);
    for (uint64_t i = 0; i < count; ++i) hashes.push_back(HashAt(tile, offset + i));
    return FoldPerfect(std::move(hashes));
  }

  absl::StatusOr<std::string_view> Tile(int level, uint64_t index) {
    for (const auto& t : read_) {
      if (t.level == level && t.index == index) return std::string_view(t.hashes);
    }
    uint64_t width = TileWidthAt(level, index, tree_size_);
    absl::StatusOr<std::string> tile = tiles_.ReadTile(level, index, width);
    if (absl::IsNotFound(tile.status()) && width < kTileWidth) {
      // The tile may have filled up since tree_size; its prefix is the tile we want.
      tile = tiles_.ReadTile(level, index, kTileWidth);
      if (tile.ok() && tile->size() == kTileWidth * kHashBytes) tile->resize(width * kHashBytes);
    }
    if (!tile.ok()) {
      return base::Annotate(tile.status(),
                            base::StrCat("tlog: read tile ", TilePath(level, index, width)));
    }
    if (tile->size() != width * kHashBytes) {
      return absl::DataLossError(base::StrCat("tlog: tile ", TilePath(level, index, width), " has ",
                                              tile->size(), " bytes, want ", width * kHashBytes));
    }
    read_.push_back({level, index, std::move(*tile)});
    return std::string_view(read_.back().hashes);
  }

  uint64_t tree_size_;
  TileReader& tiles_;
  // Tiles read so far in this call. Views returned by Tile() are used before the next call.
  std::vector<TreeBuilder::FullTile> read_;
};

absl::Status CheckRange(uint64_t begin, uint64_t end, uint64_t tree_size) {
  if (begin >= end || end > tree_size) {
    return absl::InvalidArgumentError(
        base::StrCat("tlog: subtree [", begin, ", ", end, ") not inside tree of size ", tree_size));
  }
  uint64_t size = end - begin;
  bool aligned = size > (uint64_t{1} << 63) ? begin == 0 : begin % std::bit_ceil(size) == 0;
  if (!aligned) {
    return absl::InvalidArgumentError(
        base::StrCat("tlog: [", begin, ", ", end, ") is not a node of the tree"));
  }
  return absl::OkStatus();
}

// RFC 9162 2.1.3.1 PATH(m, D[lo:hi]), appended leaf side first.
absl::Status Path(uint64_t m, uint64_t lo, uint64_t hi, TileHasher& hasher,
                  std::vector<Hash>& out) {
  if (hi - lo == 1) return absl::OkStatus();
  uint64_t k = std::bit_floor(hi - lo - 1);
  if (m < lo + k) {
    RETURN_IF_ERROR(Path(m, lo, lo + k, hasher, out));
    ASSIGN_OR_RETURN(Hash h, hasher.Range(lo + k, hi));
    out.push_back(h);
  } else {
    RETURN_IF_ERROR(Path(m, lo + k, hi, hasher, out));
    ASSIGN_OR_RETURN(Hash h, hasher.Range(lo, lo + k));
    out.push_back(h);
  }
  return absl::OkStatus();
}

// RFC 9162 2.1.4.1 SUBPROOF(m, D[lo:hi], b), m an absolute leaf count.
absl::Status SubProof(uint64_t m, uint64_t lo, uint64_t hi, bool b, TileHasher& hasher,
                      std::vector<Hash>& out) {
  if (m == hi) {
    if (b) return absl::OkStatus();
    ASSIGN_OR_RETURN(Hash h, hasher.Range(lo, hi));
    out.push_back(h);
    return absl::OkStatus();
  }
  uint64_t k = std::bit_floor(hi - lo - 1);
  if (m <= lo + k) {
    RETURN_IF_ERROR(SubProof(m, lo, lo + k, b, hasher, out));
    ASSIGN_OR_RETURN(Hash h, hasher.Range(lo + k, hi));
    out.push_back(h);
  } else {
    RETURN_IF_ERROR(SubProof(m, lo + k, hi, false, hasher, out));
    ASSIGN_OR_RETURN(Hash h, hasher.Range(lo, lo + k));
    out.push_back(h);
  }
  return absl::OkStatus();
}

}  // namespace

std::string TilePath(int level, uint64_t index, uint64_t width) {
  return base::StrCat("tile/", level, "/", IndexPath(index), WidthSuffix(width));
}

std::string EntriesPath(uint64_t index, uint64_t width) {
  return base::StrCat("tile/entries/", IndexPath(index), WidthSuffix(width));
}

absl::StatusOr<std::string> EncodeEntryBundle(const std::vector<std::string>& entries) {
  std::string out;
  for (const std::string& e : entries) {
    if (e.size() > kMaxEntryBytes) {
      return absl::InvalidArgumentError(
          base::StrCat("tlog: entry of ", e.size(), " bytes does not fit an entry bundle"));
    }
    out += static_cast<char>(e.size() >> 8);
    out += static_cast<char>(e.size() & 0xFF);
    out += e;
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> DecodeEntryBundle(base::Bytes bundle) {
  base::ByteReader r(bundle);
  std::vector<std::string> out;
  while (!r.empty()) {
    uint64_t len;
    base::Bytes entry;
    if (!r.ReadBigEndian(2, len) || !r.ReadSpan(len, entry)) {
      return absl::InvalidArgumentError(
          base::StrCat("tlog: entry bundle truncated at offset ", r.offset()));
    }
    out.emplace_back(base::AsString(entry));
  }
  return out;
}

TreeBuilder::TreeBuilder() = default;

absl::StatusOr<TreeBuilder> TreeBuilder::Resume(uint64_t size, base::Bytes encoded_edge) {
  base::ByteReader r(encoded_edge);
  uint64_t version, encoded_size;
  if (!r.ReadBigEndian(1, version) || !r.ReadBigEndian(8, encoded_size)) {
    return absl::InvalidArgumentError("tlog: tree edge truncated");
  }
  if (version != kEdgeVersion) {
    return absl::InvalidArgumentError(base::StrCat("tlog: tree edge version ", version));
  }
  if (encoded_size != size) {
    return absl::InvalidArgumentError(
        base::StrCat("tlog: tree edge is of size ", encoded_size, ", not ", size));
  }
  TreeBuilder t;
  t.size_ = size;
  for (int level = 0; Shr(size, kTileHeight * level) != 0; ++level) {
    uint64_t width = Shr(size, kTileHeight * level) % kTileWidth;
    base::Bytes hashes;
    if (!r.ReadSpan(width * kHashBytes, hashes)) {
      return absl::InvalidArgumentError(
          base::StrCat("tlog: tree edge of size ", size, " truncated at level ", level));
    }
    std::string_view s = base::AsString(hashes);
    t.edge_.emplace_back();
    for (uint64_t i = 0; i < width; ++i) t.Push(level, HashAt(s, i), nullptr);
  }
  if (!r.empty()) {
    return absl::InvalidArgumentError(
        base::StrCat("tlog: tree edge of size ", size, " has ", r.remaining(), " extra bytes"));
  }
  return t;
}

std::string TreeBuilder::EncodeEdge() const {
  std::string out;
  out += static_cast<char>(kEdgeVersion);
  for (int i = 7; i >= 0; --i) out += static_cast<char>((size_ >> (8 * i)) & 0xFF);
  for (const Level& level : edge_) {
    for (const Hash& h : level.hashes) AppendHash(out, h);
  }
  return out;
}

bool TreeBuilder::Push(size_t level, const Hash& h, Hash* tile_root) {
  Level& l = edge_[level];
  l.hashes.push_back(h);
  l.perfect.push_back(h);
  // The new width has k trailing zero bits: the last k + 1 perfect roots merge into one.
  for (int k = std::countr_zero(l.hashes.size()); k > 0; --k) {
    Hash right = l.perfect.back();
    l.perfect.pop_back();
    l.perfect.back() = NodeHash(l.perfect.back(), right);
  }
  if (l.hashes.size() < kTileWidth) return false;
  if (tile_root != nullptr) *tile_root = l.perfect[0];
  return true;
}

void TreeBuilder::Append(const Hash& leaf_hash, std::vector<FullTile>* completed) {
  ++size_;
  Hash carry = leaf_hash;
  for (size_t level = 0;; ++level) {
    if (level == edge_.size()) edge_.emplace_back();
    Hash tile_root;
    if (!Push(level, carry, &tile_root)) break;
    // Tile full: emit it and carry its root (a node of tree level 8 * (level + 1)) upwards.
    uint64_t index = Shr(size_, kTileHeight * static_cast<int>(level + 1)) - 1;
    if (completed != nullptr) {
      completed->push_back({static_cast<int>(level), index, TileBytes(edge_[level].hashes)});
    }
    edge_[level].hashes.clear();
    edge_[level].perfect.clear();
    carry = tile_root;
  }
}

Hash TreeBuilder::Root() const {
  // The perfect subtrees of the tree, left (largest) to right: each level's, from the top level
  // down. RFC 9162 2.1.1 folds them from the right.
  bool empty = true;
  Hash root;
  for (size_t level = 0; level < edge_.size(); ++level) {
    const auto& perfect = edge_[level].perfect;
    for (size_t i = perfect.size(); i-- > 0;) {
      root = empty ? perfect[i] : NodeHash(perfect[i], root);
      empty = false;
    }
  }
  return empty ? EmptyRoot() : root;
}

std::vector<TreeBuilder::FullTile> TreeBuilder::PartialTiles() const {
  std::vector<FullTile> out;
  for (size_t level = 0; level < edge_.size(); ++level) {
    if (edge_[level].hashes.empty()) continue;
    out.push_back({static_cast<int>(level), Shr(size_, kTileHeight * static_cast<int>(level + 1)),
                   TileBytes(edge_[level].hashes)});
  }
  return out;
}

absl::StatusOr<Hash> SubtreeHash(uint64_t begin, uint64_t end, uint64_t tree_size,
                                 TileReader& tiles) {
  RETURN_IF_ERROR(CheckRange(begin, end, tree_size));
  TileHasher hasher(tree_size, tiles);
  return hasher.Range(begin, end);
}

absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t tree_size,
                                                 TileReader& tiles) {
  if (index >= tree_size) {
    return absl::InvalidArgumentError(
        base::StrCat("tlog: leaf ", index, " is not in a tree of size ", tree_size));
  }
  TileHasher hasher(tree_size, tiles);
  std::vector<Hash> proof;
  RETURN_IF_ERROR(Path(index, 0, tree_size, hasher, proof));
  return proof;
}

absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size,
                                                   TileReader& tiles) {
  if (old_size > new_size) {
    return absl::InvalidArgumentError(
        base::StrCat("tlog: no consistency proof from size ", old_size, " to ", new_size));
  }
  std::vector<Hash> proof;
  if (old_size == 0 || old_size == new_size) return proof;
  TileHasher hasher(new_size, tiles);
  RETURN_IF_ERROR(SubProof(old_size, 0, new_size, true, hasher, proof));
  return proof;
}

}  // namespace tapvault::tlog
