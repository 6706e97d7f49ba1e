// The Merkle log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles): an incremental TreeBuilder
// that emits tiles as they fill, tile and entry-bundle paths and encoding, and RFC 9162 inclusion
// and consistency proofs computed from tiles.
//
// A tile at level L, index N holds up to 256 consecutive hashes of tree level 8*L (level 0:
// leaf hashes; level 1: roots of the full level-0 tiles; ...). A full tile never changes; the
// rightmost tile of a level is partial ("….p/<W>", W in 1..255 hashes) and grows until full.
//
//   tlog::TreeBuilder tree;                          // or TreeBuilder::Resume(size, edge)
//   std::vector<tlog::TreeBuilder::FullTile> full;
//   tree.Append(tlog::LeafHash(entry), &full);       // write `full` tiles, save EncodeEdge()
//   tlog::Hash root = tree.Root();
//   ASSIGN_OR_RETURN(auto proof, tlog::InclusionProof(index, tree.size(), tile_reader));
//
// TreeBuilder is thread-compatible; the free functions are thread-safe if the TileReader is.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/byte_reader.h"
#include "tlog/merkle.h"

namespace tapvault::tlog {

inline constexpr int kTileHeight = 8;                               // tree levels per tile (C2SP)
inline constexpr uint64_t kTileWidth = uint64_t{1} << kTileHeight;  // hashes in a full tile
inline constexpr size_t kMaxEntryBytes = 65535;                     // uint16 length prefix

// "tile/<L>/<N>[.p/<W>]": N as zero-padded 3-digit path elements, all but the last prefixed with
// "x" (1234067 -> "x001/x234/067"); the ".p/<W>" suffix only for width < 256.
// REQUIRES: 1 <= width <= 256, 0 <= level.
std::string TilePath(int level, uint64_t index, uint64_t width);
// "tile/entries/<N>[.p/<W>]", the entry bundle of leaves [256*N, 256*N + width).
std::string EntriesPath(uint64_t index, uint64_t width);

// Entry bundle: each entry as a 2-byte big-endian length followed by its bytes.
// InvalidArgument if an entry is longer than kMaxEntryBytes.
absl::StatusOr<std::string> EncodeEntryBundle(const std::vector<std::string>& entries);
// InvalidArgument if `bundle` is not a whole number of length-prefixed entries.
absl::StatusOr<std::vector<std::string>> DecodeEntryBundle(base::Bytes bundle);

// Where tiles live.
class TileReader {
 public:
  virtual ~TileReader() = default;
  // The concatenated hashes (width * 32 bytes) of tile (level, index) of `width` hashes
  // (256 = full). NotFound if absent. A reader may return a prefix of a wider tile of the same
  // (level, index): tiles of an append-only log are prefixes of each other.
  virtual absl::StatusOr<std::string> ReadTile(int level, uint64_t index, uint64_t width) = 0;
};

// Incremental appender. Holds the right edge: for each level, the hashes of its incomplete tile
// (at most 255 per level, so at most 8 * 255 * 32 bytes in all). Thread-compatible.
class TreeBuilder {
 public:
  TreeBuilder();  // the empty tree

  // Resumes from `size` and the edge produced by EncodeEdge() at that size. InvalidArgument if the
  // encoding is malformed or was made at another size.
  static absl::StatusOr<TreeBuilder> Resume(uint64_t size, base::Bytes encoded_edge);
  // Compact encoding of the right edge (for SQLite): version byte 1, the size as 8 bytes
  // big-endian, then the partial tiles' hashes from level 0 up (their widths follow from size).
  // 9 + 32 * (sum of partial widths) bytes: under 25 KiB for any size below 2^32.
  std::string EncodeEdge() const;

  struct FullTile {
    int level;
    uint64_t index;
    std::string hashes;  // width * 32 bytes (256 * 32 for a full tile)
  };
  // Appends one leaf hash. Tiles that became full (at any level: one leaf can complete tiles at
  // several levels) are appended to *completed, lowest level first. `completed` may be null.
  void Append(const Hash& leaf_hash, std::vector<FullTile>* completed);

  uint64_t size() const { return size_; }
  // The root of the whole tree now (EmptyRoot() for size 0). At most ~64 hash operations.
  Hash Root() const;
  // The non-empty partial tiles of the right edge, lowest level first; width = hashes.size() / 32.
  // These are what a tiles client reads as "tile/<L>/<N>.p/<W>" for the current size.
  std::vector<FullTile> PartialTiles() const;

 private:
  uint64_t size_ = 0;
  struct Level {
    std::vector<Hash> hashes;  // the hashes of this level's incomplete tile
    // Roots of the perfect subtrees of `hashes` by the binary digits of its size, largest first
    // (a binary counter: appending merges equal sizes), so Root() needs no re-hashing.
    std::vector<Hash> perfect;
  };
  // Pushes `h` on level `level`; returns true (and sets *tile_root) if that tile became full.
  bool Push(size_t level, const Hash& h, Hash* tile_root);

  std::vector<Level> edge_;  // edge_[L]: level L; one per L with size >> 8L > 0
};

// MTH of leaves [begin, end) of the tree of `tree_size` leaves, from tiles. The range must be a
// node of the RFC 9162 tree (perfect or not): begin < end <= tree_size and begin a multiple of the
// smallest power of two >= end - begin (every range a proof needs is). InvalidArgument otherwise.
// Reads at most one tile per perfect subtree of the range (O(log n)); caches nothing across
// calls. For each tile it asks `tiles` for the width that tile has at tree_size and falls back to
// the full tile if that is NotFound. DataLoss if a tile has the wrong length.
absl::StatusOr<Hash> SubtreeHash(uint64_t begin, uint64_t end, uint64_t tree_size,
                                 TileReader& tiles);
// RFC 9162 2.1.3.1 PATH(index, D[tree_size]). InvalidArgument if index >= tree_size. For a
// tree_size older than the log, the tiles that were partial at tree_size must be readable at
// that width (or as the prefix of a wider one; the full-tile fallback covers tiles filled since).
absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t tree_size,
                                                 TileReader& tiles);
// RFC 9162 2.1.4.1 PROOF(old_size, D[new_size]); empty when old_size is 0 or equals new_size.
// InvalidArgument if old_size > new_size. Reads only tiles of the tree of new_size.
absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size,
                                                   TileReader& tiles);

}  // namespace tapvault::tlog
