#include "store/internal/tile_writer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tlog/dir_tile_store.h"

namespace tapvault::store::internal {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  std::string dir = (fs::temp_directory_path() / ("tapvault_tilewriter_" + name + "_" +
                                                  std::to_string(::getpid())))
                        .string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(TileWriterTest, DrainReturnsOnceEveryPushedTileIsOnDisk) {
  const std::string dir = TempDir("drain");
  tlog::DirTileStore tiles(dir);
  TileWriter tw(&tiles, /*retry_us=*/10000);
  std::vector<TileWriter::Job> jobs;
  for (uint64_t i = 0; i < 50; ++i) {
    jobs.push_back({false, 0, i, 256, std::string(256 * 32, static_cast<char>('a' + i % 26))});
  }
  jobs.push_back({true, 0, 7, 256, std::string(1000, 'e')});
  tw.Push(std::move(jobs));
  ASSERT_TRUE(tw.Drain(10'000'000).ok());
  for (uint64_t i = 0; i < 50; ++i) {
    auto t = tiles.ReadTile(0, i, 256);
    ASSERT_TRUE(t.ok()) << i << ": " << t.status();
    EXPECT_EQ(*t, std::string(256 * 32, static_cast<char>('a' + i % 26)));
  }
  EXPECT_TRUE(fs::exists(fs::path(dir) / "tile/entries/007"));
  fs::remove_all(dir);
}

TEST(TileWriterTest, AFailingWriteIsReportedAndRetriedUntilItSucceeds) {
  const std::string dir = TempDir("retry");
  // A plain file where the tile directory belongs: every write fails (as on a full disk, and
  // unlike permissions this holds for root too).
  { std::ofstream(fs::path(dir) / "tile") << "in the way"; }
  tlog::DirTileStore tiles(dir);
  TileWriter tw(&tiles, /*retry_us=*/5000);
  tw.Push({{false, 0, 3, 256, std::string(256 * 32, 'h')}});
  absl::Status s = tw.Drain(200'000);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("tile"), absl::string_view::npos) << s;
  fs::remove(fs::path(dir) / "tile");   // the obstacle goes away: the queued tile is written
  EXPECT_TRUE(tw.Drain(10'000'000).ok());
  EXPECT_TRUE(tiles.ReadTile(0, 3, 256).ok());
  fs::remove_all(dir);
}

TEST(TileWriterTest, PushBlocksWhileTheQueueIsFullAndResumes) {
  const std::string dir = TempDir("full");
  tlog::DirTileStore tiles(dir);
  TileWriter tw(&tiles, /*retry_us=*/5000, /*max_queued_bytes=*/20000);
  for (uint64_t i = 0; i < 40; ++i) {
    tw.Push({{false, 1, i, 256, std::string(256 * 32, 'x')}});   // 8 KiB each over a 20 kB limit
  }
  ASSERT_TRUE(tw.Drain(10'000'000).ok());
  for (uint64_t i = 0; i < 40; ++i) EXPECT_TRUE(tiles.ReadTile(1, i, 256).ok()) << i;
  fs::remove_all(dir);
}

TEST(TileWriterTest, StopUnblocksAFullQueueAndDrainThenReportsWhatWasGivenUp) {
  const std::string dir = TempDir("stop");
  { std::ofstream(fs::path(dir) / "tile") << "in the way"; }   // every tile write fails
  tlog::DirTileStore tiles(dir);
  TileWriter tw(&tiles, /*retry_us=*/2000, /*max_queued_bytes=*/5000);
  tw.Push({{false, 0, 1, 256, std::string(256 * 32, 'a')}});   // over the limit: the next waits
  std::atomic<bool> pushed{false};
  std::thread pusher([&] {
    tw.Push({{false, 0, 2, 256, std::string(256 * 32, 'b')}});
    pushed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(pushed.load());   // blocked: the queue is full and nothing can be written
  tw.Stop();
  pusher.join();
  EXPECT_TRUE(pushed.load());
  absl::Status s = tw.Drain(10'000'000);   // both given up after their retries
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  // Still usable after Stop: a write that can succeed is written.
  fs::remove(fs::path(dir) / "tile");
  tw.Push({{false, 0, 3, 256, std::string(256 * 32, 'c')}});
  EXPECT_FALSE(tw.Drain(10'000'000).ok());   // what was given up stays reported
  EXPECT_TRUE(tiles.ReadTile(0, 3, 256).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tapvault::store::internal
