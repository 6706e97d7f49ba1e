#include "tlog/tiles.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tlog/internal/test_tiles.h"

namespace tapvault::tlog {
namespace {

using ::testing::ElementsAre;
using testing::TestLeafHash;

std::vector<Hash> LeafHashes(uint64_t n) {
  std::vector<Hash> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) out.push_back(TestLeafHash(i));
  return out;
}

std::string Concat(std::span<const Hash> hashes) {
  std::string out;
  for (const Hash& h : hashes) out.append(reinterpret_cast<const char*>(h.data()), h.size());
  return out;
}

TEST(TilePathTest, SpecExamples) {
  // c2sp.org/tlog-tiles: "index 1234067 will be encoded as x001/x234/067".
  EXPECT_EQ(TilePath(0, 1234067, 256), "tile/0/x001/x234/067");
  EXPECT_EQ(TilePath(0, 1234067, 8), "tile/0/x001/x234/067.p/8");
  EXPECT_EQ(TilePath(2, 0, 256), "tile/2/000");
  EXPECT_EQ(TilePath(1, 7, 255), "tile/1/007.p/255");
  EXPECT_EQ(TilePath(0, 999, 1), "tile/0/999.p/1");
  EXPECT_EQ(TilePath(0, 1000, 256), "tile/0/x001/000");
  EXPECT_EQ(TilePath(3, 1000000, 256), "tile/3/x001/x000/000");
  EXPECT_EQ(TilePath(0, UINT64_MAX, 256), "tile/0/x018/x446/x744/x073/x709/x551/615");
  EXPECT_EQ(EntriesPath(1234067, 256), "tile/entries/x001/x234/067");
  EXPECT_EQ(EntriesPath(0, 17), "tile/entries/000.p/17");
}

TEST(EntryBundleTest, RoundTripAndMalformed) {
  std::vector<std::string> entries = {"", "a", std::string(300, 'x'), std::string(65535, 'y')};
  auto bundle = EncodeEntryBundle(entries);
  ASSERT_TRUE(bundle.ok());
  EXPECT_EQ(bundle->substr(0, 5), std::string("\x00\x00\x00\x01"
                                              "a",
                                              5));
  EXPECT_EQ(bundle->substr(5, 2), "\x01\x2c");  // 300 big-endian
  auto back = DecodeEntryBundle(base::AsBytes(*bundle));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, entries);
  // Every truncation but the entry boundaries is malformed.
  std::vector<size_t> boundaries = {0, 2, 5, 307, bundle->size()};
  for (size_t cut = 0; cut <= bundle->size(); cut += (cut < 400 ? 1 : 997)) {
    auto r = DecodeEntryBundle(base::AsBytes(std::string_view(*bundle).substr(0, cut)));
    bool boundary = std::find(boundaries.begin(), boundaries.end(), cut) != boundaries.end();
    EXPECT_EQ(r.ok(), boundary) << cut;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
  EXPECT_EQ(EncodeEntryBundle({std::string(65536, 'z')}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto empty = DecodeEntryBundle({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(TreeBuilderTest, RootMatchesReferenceForEverySizeUpTo2000) {
  std::vector<Hash> leaves = LeafHashes(2000);
  TreeBuilder tree;
  EXPECT_EQ(tree.Root(), EmptyRoot());
  for (size_t n = 1; n <= leaves.size(); ++n) {
    tree.Append(leaves[n - 1], nullptr);
    ASSERT_EQ(tree.size(), n);
    ASSERT_EQ(tree.Root(), RootFromLeafHashes(std::span(leaves).first(n))) << "size " << n;
  }
}

TEST(TreeBuilderTest, EmitsFullTilesAtEveryLevel) {
  const uint64_t n = 65536 + 3 * 256 + 17;  // a full level-1 tile, a level-2 partial tile
  std::vector<Hash> leaves = LeafHashes(n);
  TreeBuilder tree;
  std::vector<TreeBuilder::FullTile> full;
  for (uint64_t i = 0; i < n; ++i) {
    size_t before = full.size();
    tree.Append(leaves[i], &full);
    uint64_t size = i + 1;
    // A tile completes exactly when the size reaches a multiple of 256^(level+1).
    size_t want = (size % 256 == 0) + (size % 65536 == 0);
    ASSERT_EQ(full.size() - before, want) << size;
    if (size == 65535 || size == 65536 || size == 65537 || size == 65536 + 256 || size == n) {
      EXPECT_EQ(tree.Root(), RootFromLeafHashes(std::span(leaves).first(size))) << size;
    }
  }
  ASSERT_EQ(full.size(), 256 + 3 + 1);
  // Level-0 tile k holds leaf hashes [256k, 256k + 256); the level-1 tile holds their roots.
  std::vector<Hash> level1;
  for (const auto& t : full) {
    if (t.level != 0) continue;
    EXPECT_EQ(t.hashes, Concat(std::span(leaves).subspan(t.index * 256, 256)));
    level1.push_back(RootFromLeafHashes(std::span(leaves).subspan(t.index * 256, 256)));
  }
  const auto& l1 = full[256];  // emitted right after level-0 tile 255
  EXPECT_EQ(l1.level, 1);
  EXPECT_EQ(l1.index, 0u);
  EXPECT_EQ(l1.hashes, Concat(std::span(level1).first(256)));
  std::vector<TreeBuilder::FullTile> partial = tree.PartialTiles();
  ASSERT_EQ(partial.size(), 3u);
  EXPECT_EQ(partial[0].level, 0);
  EXPECT_EQ(partial[0].index, n / 256);
  EXPECT_EQ(partial[0].hashes, Concat(std::span(leaves).subspan(n / 256 * 256)));
  EXPECT_EQ(partial[1].level, 1);
  EXPECT_EQ(partial[1].index, 1u);
  EXPECT_EQ(partial[1].hashes.size(), 3u * 32);
  EXPECT_EQ(partial[2].level, 2);
  EXPECT_EQ(partial[2].index, 0u);
  Hash level16 = RootFromLeafHashes(std::span(leaves).first(65536));
  EXPECT_EQ(partial[2].hashes, Concat(std::span(&level16, 1)));
  // The tiles alone give the root back.
  testing::MemTileReader tiles;
  tiles.PutAll(full);
  tiles.PutAll(partial);
  auto root = SubtreeHash(0, n, n, tiles);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(*root, tree.Root());
  EXPECT_LE(tiles.reads, 12);  // O(log n) tile reads, not O(n)
}

TEST(TreeBuilderTest, ResumeFromEncodedEdgeIsEquivalent) {
  std::vector<Hash> leaves = LeafHashes(1300);
  TreeBuilder tree;
  for (uint64_t n = 0; n < leaves.size(); ++n) {
    if (n % 97 == 0 || n % 256 == 0 || n % 256 == 255) {
      std::string edge = tree.EncodeEdge();
      EXPECT_EQ(edge.size(), 9 + 32 * (n % 256 + n / 256 % 256)) << n;
      auto resumed = TreeBuilder::Resume(n, base::AsBytes(edge));
      ASSERT_TRUE(resumed.ok()) << resumed.status();
      EXPECT_EQ(resumed->size(), n);
      EXPECT_EQ(resumed->Root(), tree.Root());
      EXPECT_EQ(resumed->EncodeEdge(), edge);
      // Both continue identically, emitted tiles included.
      TreeBuilder a = tree;
      std::vector<TreeBuilder::FullTile> fa, fb;
      for (uint64_t i = n; i < std::min<uint64_t>(n + 300, leaves.size()); ++i) {
        a.Append(leaves[i], &fa);
        resumed->Append(leaves[i], &fb);
        ASSERT_EQ(a.Root(), resumed->Root());
      }
      ASSERT_EQ(fa.size(), fb.size());
      for (size_t i = 0; i < fa.size(); ++i) {
        EXPECT_EQ(fa[i].level, fb[i].level);
        EXPECT_EQ(fa[i].index, fb[i].index);
        EXPECT_EQ(fa[i].hashes, fb[i].hashes);
      }
    }
    tree.Append(leaves[n], nullptr);
  }
}

TEST(TreeBuilderTest, ResumeRejectsInconsistentEdges) {
  TreeBuilder tree;
  for (uint64_t i = 0; i < 300; ++i) tree.Append(TestLeafHash(i), nullptr);
  std::string edge = tree.EncodeEdge();
  EXPECT_TRUE(TreeBuilder::Resume(300, base::AsBytes(edge)).ok());
  auto code = [](uint64_t size, std::string_view e) {
    return TreeBuilder::Resume(size, base::AsBytes(e)).status().code();
  };
  EXPECT_EQ(code(301, edge), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(299, edge), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(300, edge.substr(0, edge.size() - 1)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(300, edge + "x"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(300, ""), absl::StatusCode::kInvalidArgument);
  std::string bad_version = edge;
  bad_version[0] = 2;
  EXPECT_EQ(code(300, bad_version), absl::StatusCode::kInvalidArgument);
  auto empty = TreeBuilder::Resume(0, base::AsBytes(TreeBuilder().EncodeEdge()));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->Root(), EmptyRoot());
}

// A log of `n` leaves whose tiles were kept at every size along the way (full tiles plus the
// widest version of every partial one), as the store serves them.
struct Log {
  explicit Log(uint64_t n) : leaves(LeafHashes(n)) {
    TreeBuilder tree;
    std::vector<TreeBuilder::FullTile> full;
    for (const Hash& h : leaves) {
      tree.Append(h, &full);
      roots.push_back(tree.Root());
    }
    tiles.PutAll(full);
    tiles.PutAll(tree.PartialTiles());
  }
  Hash Root(uint64_t size) const { return size == 0 ? EmptyRoot() : roots[size - 1]; }
  std::vector<Hash> leaves;
  std::vector<Hash> roots;  // roots[n - 1]: root at size n
  testing::MemTileReader tiles;
};

TEST(ProofTest, InclusionProofsMatchReferenceAndVerify) {
  Log log(600);
  for (uint64_t n : {1, 2, 3, 7, 8, 9, 255, 256, 257, 511, 512, 513, 600}) {
    std::span<const Hash> d = std::span(log.leaves).first(n);
    for (uint64_t i = 0; i < n; i += (n > 64 ? 13 : 1)) {
      auto proof = InclusionProof(i, n, log.tiles);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_EQ(*proof, testing::RefInclusion(i, d)) << i << "/" << n;
      EXPECT_TRUE(VerifyInclusion(i, n, log.leaves[i], *proof, log.Root(n)));
      EXPECT_FALSE(VerifyInclusion(i, n, log.leaves[i], *proof, log.Root(n == 1 ? 2 : n - 1)));
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion((i + 1) % n, n, log.leaves[i], *proof, log.Root(n)));
        std::vector<Hash> bad = *proof;
        bad[bad.size() / 2][0] ^= 0x80;
        EXPECT_FALSE(VerifyInclusion(i, n, log.leaves[i], bad, log.Root(n)));
      }
    }
  }
  EXPECT_EQ(InclusionProof(600, 600, log.tiles).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ProofTest, ConsistencyProofsMatchReferenceAndVerify) {
  Log log(600);
  std::vector<uint64_t> sizes = {1,   2,   3,   4,   5,   7,   8,   9,   100,
                                 255, 256, 257, 300, 511, 512, 513, 599, 600};
  for (uint64_t n : sizes) {
    for (uint64_t m : sizes) {
      if (m > n) continue;
      auto proof = ConsistencyProof(m, n, log.tiles);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_EQ(*proof, testing::RefConsistency(m, std::span(log.leaves).first(n)))
          << m << "->" << n;
      EXPECT_TRUE(VerifyConsistency(m, n, log.Root(m), log.Root(n), *proof)) << m << "->" << n;
      if (m < n) {
        EXPECT_FALSE(VerifyConsistency(m, n, log.Root(m), log.Root(n - 1), *proof));
        EXPECT_FALSE(VerifyConsistency(m, n, log.Root(m - 1), log.Root(n), *proof));
        std::vector<Hash> bad = *proof;
        bad.back()[5] ^= 4;
        EXPECT_FALSE(VerifyConsistency(m, n, log.Root(m), log.Root(n), bad));
      }
    }
  }
  EXPECT_EQ(ConsistencyProof(5, 4, log.tiles).status().code(), absl::StatusCode::kInvalidArgument);
  auto none = ConsistencyProof(0, 5, log.tiles);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ProofTest, ProofsAcrossLevelTwoTiles) {
  const uint64_t n = 65536 + 1000;
  Log log(n);
  for (uint64_t size : std::vector<uint64_t>{65535, 65536, 65537, 65536 + 256, n}) {
    for (uint64_t i : std::vector<uint64_t>{0, 1, 255, 256, 40000, 65535, size - 1}) {
      if (i >= size) continue;
      auto proof = InclusionProof(i, size, log.tiles);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(VerifyInclusion(i, size, log.leaves[i], *proof, log.Root(size)))
          << i << "/" << size;
    }
    for (uint64_t m : std::vector<uint64_t>{1, 256, 1000, 65535, 65536, size - 1}) {
      if (m > size) continue;
      auto proof = ConsistencyProof(m, size, log.tiles);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(VerifyConsistency(m, size, log.Root(m), log.Root(size), *proof))
          << m << "->" << size;
    }
  }
  // The reference over all leaves agrees for one big pair.
  auto proof = ConsistencyProof(65537, n, log.tiles);
  ASSERT_TRUE(proof.ok());
  EXPECT_EQ(*proof, testing::RefConsistency(65537, log.leaves));
}

TEST(ProofTest, ExactWidthReaderSufficesAtTheCurrentSize) {
  // A static tlog-tiles server has only the full tiles and the current partial ones.
  const uint64_t n = 777;
  std::vector<Hash> leaves = LeafHashes(n);
  TreeBuilder tree;
  std::vector<TreeBuilder::FullTile> full;
  for (const Hash& h : leaves) tree.Append(h, &full);
  testing::ExactTileReader tiles;
  for (const auto& t : full) tiles.Put(t.level, t.index, t.hashes);
  for (const auto& t : tree.PartialTiles()) tiles.Put(t.level, t.index, t.hashes);
  for (uint64_t i = 0; i < n; i += 37) {
    auto proof = InclusionProof(i, n, tiles);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(VerifyInclusion(i, n, leaves[i], *proof, tree.Root()));
  }
  // An older size whose tiles are all full (512) needs nothing else.
  auto proof = ConsistencyProof(512, n, tiles);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(VerifyConsistency(512, n, RootFromLeafHashes(std::span(leaves).first(512)),
                                tree.Root(), *proof));
  // Consistency proofs only read nodes of the new tree, so any old size works.
  proof = ConsistencyProof(770, n, tiles);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(VerifyConsistency(770, n, RootFromLeafHashes(std::span(leaves).first(770)),
                                tree.Root(), *proof));
  // An inclusion proof in an old tree whose tile was partial then needs that partial tile (or
  // the full one): NotFound with this reader.
  EXPECT_EQ(InclusionProof(3, 770, tiles).status().code(), absl::StatusCode::kNotFound);
}

TEST(SubtreeHashTest, ArgumentsAndErrors) {
  Log log(300);
  EXPECT_EQ(SubtreeHash(0, 0, 300, log.tiles).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SubtreeHash(0, 301, 300, log.tiles).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SubtreeHash(1, 3, 300, log.tiles).status().code(),  // not a node of the tree
            absl::StatusCode::kInvalidArgument);
  auto h = SubtreeHash(256, 300, 300, log.tiles);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, RootFromLeafHashes(std::span(log.leaves).subspan(256, 44)));
  auto leaf = SubtreeHash(299, 300, 300, log.tiles);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(*leaf, log.leaves[299]);
  // A tile of the wrong length is DataLoss; a missing one NotFound.
  class ShortReader : public TileReader {
   public:
    absl::StatusOr<std::string> ReadTile(int, uint64_t, uint64_t width) override {
      return std::string(width * 32 - 1, 'x');
    }
  } short_reader;
  EXPECT_EQ(SubtreeHash(0, 256, 300, short_reader).status().code(), absl::StatusCode::kDataLoss);
  testing::MemTileReader empty;
  EXPECT_EQ(SubtreeHash(0, 256, 300, empty).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tapvault::tlog
