// Tiles and entry bundles as files under a directory, at their C2SP tlog-tiles paths
// (`<root>/tile/0/x001/234`, `<root>/tile/entries/000.p/17`, ...), so that the directory can be
// served as a static tlog-tiles log. Writes are atomic (temporary file + rename).
//
//   tlog::DirTileStore tiles(dir + "/log");
//   for (const auto& t : full) RETURN_IF_ERROR(tiles.WriteTile(t.level, t.index, 256,
//                                                              base::AsBytes(t.hashes), true));
//   ASSIGN_OR_RETURN(auto proof, tlog::InclusionProof(i, size, tiles));
//
// Reads are lenient in the way proofs need: a partial tile of width W that is not stored is
// served as the prefix of the full tile, or of the narrowest wider partial tile, of the same
// index (a log's tiles are prefixes of each other).
// Thread-safety: concurrent reads are safe; writes to different tiles are safe; RemoveBeyond
// must not run concurrently with anything else.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/byte_reader.h"
#include "tlog/tiles.h"

namespace tapvault::tlog {

class DirTileStore : public TileReader {
 public:
  // `root` is created on the first write if missing.
  explicit DirTileStore(std::string root);

  // Writes tile (level, index) of `width` hashes (1..256). When `durable`, the file is fsynced
  // before the rename and its directory (and every directory this call created) after it.
  // InvalidArgument if hashes.size() != width * 32 or width is out of range; Internal for I/O.
  absl::Status WriteTile(int level, uint64_t index, uint64_t width, base::Bytes hashes,
                         bool durable);
  // Writes entry bundle `index` of `width` entries (1..256); the bundle is not checked.
  absl::Status WriteEntries(uint64_t index, uint64_t width, base::Bytes bundle, bool durable);

  // NotFound if neither the tile nor a wider one of the same index exists; DataLoss if the file
  // has the wrong length.
  absl::StatusOr<std::string> ReadTile(int level, uint64_t index, uint64_t width) override;
  // As ReadTile; a prefix of a wider bundle is cut after `width` entries (DataLoss if it has
  // fewer or is malformed).
  absl::StatusOr<std::string> ReadEntries(uint64_t index, uint64_t width);

  // After a crash, makes the directory match a tree of `tree_size` leaves: removes full tiles and
  // bundles that are not complete at tree_size, every partial tile or bundle except the one of
  // the exact width tree_size gives its index, and leftover temporary files. Walks the whole
  // directory (cost proportional to the number of files): call it at recovery, not per append.
  absl::Status RemoveBeyond(uint64_t tree_size);

  const std::string& root() const { return root_; }

 private:
  absl::Status WriteFile(const std::string& rel_path, base::Bytes data, bool durable);
  // Reads the file of exactly this path; NotFound if absent.
  absl::StatusOr<std::string> ReadFile(const std::string& rel_path);
  // Reads (level or entries, index) at `width` or the narrowest wider version available.
  absl::StatusOr<std::pair<std::string, uint64_t>> ReadAtLeast(bool entries, int level,
                                                               uint64_t index, uint64_t width);

  std::string root_;
};

}  // namespace tapvault::tlog
