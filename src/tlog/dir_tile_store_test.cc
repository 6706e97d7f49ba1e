#include "tlog/dir_tile_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tlog/internal/test_tiles.h"

namespace tapvault::tlog {
namespace {

namespace fs = std::filesystem;
using testing::TestLeafHash;

class DirTileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tlog_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Appends leaves [size, n) and writes the full tiles and the current partial ones.
  void Grow(TreeBuilder& tree, DirTileStore& store, uint64_t n, bool durable = false) {
    std::vector<TreeBuilder::FullTile> full;
    while (tree.size() < n) {
      Hash h = TestLeafHash(tree.size());
      leaves_.push_back(h);
      tree.Append(h, &full);
      roots_.push_back(tree.Root());
    }
    for (const auto& t : full) {
      ASSERT_TRUE(store.WriteTile(t.level, t.index, 256, base::AsBytes(t.hashes), durable).ok());
    }
    for (const auto& t : tree.PartialTiles()) {
      ASSERT_TRUE(
          store.WriteTile(t.level, t.index, t.hashes.size() / 32, base::AsBytes(t.hashes), durable)
              .ok());
    }
  }
  Hash Root(uint64_t size) { return size == 0 ? EmptyRoot() : roots_[size - 1]; }
  bool Exists(const std::string& rel) { return fs::exists(dir_ / rel); }

  fs::path dir_;
  std::vector<Hash> leaves_;
  std::vector<Hash> roots_;
};

TEST_F(DirTileStoreTest, ProofsFromFilesForOldAndCurrentSizes) {
  DirTileStore store((dir_ / "log").string());
  TreeBuilder tree;
  Grow(tree, store, 700, /*durable=*/true);
  EXPECT_TRUE(Exists("log/tile/0/000"));
  EXPECT_TRUE(Exists("log/tile/0/001"));
  EXPECT_TRUE(Exists("log/tile/0/002.p/188"));
  EXPECT_TRUE(Exists("log/tile/1/000.p/2"));
  Grow(tree, store, 1500);
  for (uint64_t n : std::vector<uint64_t>{1, 100, 256, 700, 1000, 1500}) {
    for (uint64_t i = 0; i < n; i += 61) {
      auto proof = InclusionProof(i, n, store);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(VerifyInclusion(i, n, leaves_[i], *proof, Root(n))) << i << "/" << n;
    }
    for (uint64_t m : std::vector<uint64_t>{1, 255, 300, 699, 700}) {
      if (m > n) continue;
      auto proof = ConsistencyProof(m, n, store);
      ASSERT_TRUE(proof.ok()) << m << "->" << n << ": " << proof.status();
      EXPECT_TRUE(VerifyConsistency(m, n, Root(m), Root(n), *proof)) << m << "->" << n;
    }
  }
}

TEST_F(DirTileStoreTest, NarrowTilesAreServedAsPrefixes) {
  DirTileStore store(dir_.string());
  std::string hashes(40 * 32, '\0');
  for (size_t i = 0; i < hashes.size(); ++i) hashes[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(store.WriteTile(0, 5, 40, base::AsBytes(hashes), false).ok());
  ASSERT_TRUE(
      store.WriteTile(0, 5, 60, base::AsBytes(hashes + std::string(20 * 32, 'x')), false).ok());
  auto exact = store.ReadTile(0, 5, 40);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(*exact, hashes);
  auto narrower = store.ReadTile(0, 5, 3);  // from the 40-wide one
  ASSERT_TRUE(narrower.ok()) << narrower.status();
  EXPECT_EQ(*narrower, hashes.substr(0, 3 * 32));
  auto between = store.ReadTile(0, 5, 50);  // from the 60-wide one
  ASSERT_TRUE(between.ok()) << between.status();
  EXPECT_EQ(between->substr(0, 40 * 32), hashes);
  EXPECT_EQ(store.ReadTile(0, 5, 61).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.ReadTile(0, 6, 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.ReadTile(1, 5, 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.WriteTile(0, 5, 3, base::AsBytes(hashes), false).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.WriteTile(0, 5, 0, {}, false).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.WriteTile(0, 5, 257, base::AsBytes(std::string(257 * 32, 'a')), false).code(),
            absl::StatusCode::kInvalidArgument);
  // A corrupted file is DataLoss, not a short tile.
  std::ofstream(dir_ / "tile/0/007", std::ios::binary) << "short";
  EXPECT_EQ(store.ReadTile(0, 7, 256).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(DirTileStoreTest, EntryBundles) {
  DirTileStore store(dir_.string());
  std::vector<std::string> entries;
  for (int i = 0; i < 256; ++i)
    entries.push_back(std::string(i % 50, static_cast<char>('a' + i % 26)));
  auto full = EncodeEntryBundle(entries);
  ASSERT_TRUE(full.ok());
  ASSERT_TRUE(store.WriteEntries(1234067, 256, base::AsBytes(*full), true).ok());
  EXPECT_TRUE(Exists("tile/entries/x001/x234/067"));
  auto back = store.ReadEntries(1234067, 256);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *full);
  auto prefix = store.ReadEntries(1234067, 10);  // no partial file: cut from the full bundle
  ASSERT_TRUE(prefix.ok()) << prefix.status();
  auto decoded = DecodeEntryBundle(base::AsBytes(*prefix));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, std::vector<std::string>(entries.begin(), entries.begin() + 10));
  // A bundle with fewer entries than its name says is DataLoss.
  auto three = EncodeEntryBundle({"a", "b", "c"});
  ASSERT_TRUE(store.WriteEntries(0, 4, base::AsBytes(*three), false).ok());
  EXPECT_EQ(store.ReadEntries(0, 4).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store.ReadEntries(1, 4).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DirTileStoreTest, RemoveBeyondUndoesACrashedAppend) {
  DirTileStore store(dir_.string());
  TreeBuilder tree;
  Grow(tree, store, 600);  // committed size
  std::string edge = tree.EncodeEdge();
  TreeBuilder crashed = tree;
  Grow(crashed, store, 1100);  // written, never committed
  ASSERT_TRUE(Exists("tile/0/003"));
  ASSERT_TRUE(Exists("tile/0/004.p/76"));
  ASSERT_TRUE(Exists("tile/1/000.p/4"));
  std::ofstream(dir_ / "tile/0/005.tmp.1.2") << "half written";
  std::ofstream(dir_ / "tile/0/README") << "not a tile";
  // Also a partial bundle of the committed size, and stale ones.
  ASSERT_TRUE(store.WriteEntries(2, 88, base::AsBytes(std::string(88 * 2, '\0')), false).ok());
  ASSERT_TRUE(store.WriteEntries(2, 87, base::AsBytes(std::string(87 * 2, '\0')), false).ok());
  ASSERT_TRUE(store.WriteEntries(3, 256, base::AsBytes(std::string(256 * 2, '\0')), false).ok());

  ASSERT_TRUE(store.RemoveBeyond(600).ok());
  EXPECT_TRUE(Exists("tile/0/000"));
  EXPECT_TRUE(Exists("tile/0/001"));
  EXPECT_TRUE(Exists("tile/0/002.p/88"));  // the partial tile of size 600
  EXPECT_TRUE(Exists("tile/1/000.p/2"));
  EXPECT_FALSE(Exists("tile/0/002"));  // full tiles not complete at 600
  EXPECT_FALSE(Exists("tile/0/003"));
  EXPECT_FALSE(Exists("tile/0/004.p/76"));
  EXPECT_FALSE(Exists("tile/1/000.p/4"));
  EXPECT_FALSE(Exists("tile/0/005.tmp.1.2"));
  EXPECT_TRUE(Exists("tile/0/README"));
  EXPECT_TRUE(Exists("tile/entries/002.p/88"));
  EXPECT_FALSE(Exists("tile/entries/002.p/87"));
  EXPECT_FALSE(Exists("tile/entries/003"));

  // Resume at 600 and append other leaves: proofs verify against the new history.
  auto resumed = TreeBuilder::Resume(600, base::AsBytes(edge));
  ASSERT_TRUE(resumed.ok());
  leaves_.resize(600);
  roots_.resize(600);
  std::vector<TreeBuilder::FullTile> full;
  for (uint64_t i = 600; i < 900; ++i) {
    Hash h = LeafHash(base::AsBytes("other " + std::to_string(i)));
    leaves_.push_back(h);
    resumed->Append(h, &full);
    roots_.push_back(resumed->Root());
  }
  for (const auto& t : full) {
    ASSERT_TRUE(store.WriteTile(t.level, t.index, 256, base::AsBytes(t.hashes), false).ok());
  }
  for (const auto& t : resumed->PartialTiles()) {
    ASSERT_TRUE(
        store.WriteTile(t.level, t.index, t.hashes.size() / 32, base::AsBytes(t.hashes), false)
            .ok());
  }
  for (uint64_t i : std::vector<uint64_t>{0, 599, 600, 899}) {
    auto proof = InclusionProof(i, 900, store);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(VerifyInclusion(i, 900, leaves_[i], *proof, Root(900)));
  }
  auto proof = ConsistencyProof(600, 900, store);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(VerifyConsistency(600, 900, Root(600), Root(900), *proof));
}

TEST_F(DirTileStoreTest, RemoveBeyondOnMissingDirectoryIsOk) {
  DirTileStore store((dir_ / "nothing").string());
  EXPECT_TRUE(store.RemoveBeyond(0).ok());
}

}  // namespace
}  // namespace tapvault::tlog
