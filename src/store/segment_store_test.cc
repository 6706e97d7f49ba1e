#include "store/segment_store.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace tapvault::store {
namespace {

namespace fs = std::filesystem;

class FileSegmentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("tapvault_segstore_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    segs_ = NewFileSegmentStore(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Contents(const std::string& name) {
    auto size = segs_->Size(name);
    EXPECT_TRUE(size.ok()) << size.status();
    std::string out(size.value_or(0), '\0');
    EXPECT_TRUE(segs_->Read(name, 0, out.size(), out.data()).ok());
    return out;
  }
  std::string dir_;
  std::unique_ptr<SegmentStore> segs_;
};

TEST_F(FileSegmentStoreTest, AppendsAtTheEndAndReadsBack) {
  const std::string name = "segments/CASE-1/000001.seg";
  ASSERT_TRUE(segs_->Create(name, "HEAD").ok());
  EXPECT_EQ(Contents(name), "HEAD");
  ASSERT_TRUE(segs_->Write(name, 4, "abc").ok());
  ASSERT_TRUE(segs_->Write(name, 7, "defg").ok());
  ASSERT_TRUE(segs_->Sync(name).ok());
  EXPECT_EQ(Contents(name), "HEADabcdefg");
  std::string part(3, '\0');
  ASSERT_TRUE(segs_->Read(name, 5, 3, part.data()).ok());
  EXPECT_EQ(part, "bcd");
  // Mode 0600: segments hold ciphertext, but nobody else needs to read them.
  EXPECT_EQ(fs::status(fs::path(dir_) / name).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(segs_->Seal(name).ok());
  EXPECT_EQ(Contents(name), "HEADabcdefg");   // readable after sealing
}

TEST_F(FileSegmentStoreTest, ReadPastTheEndIsAnErrorNotShortData) {
  const std::string name = "segments/C/1.seg";
  ASSERT_TRUE(segs_->Create(name, "12345").ok());
  std::string buf(10, '\0');
  EXPECT_FALSE(segs_->Read(name, 0, 10, buf.data()).ok());
  EXPECT_FALSE(segs_->Read("segments/C/none.seg", 0, 1, buf.data()).ok());
  EXPECT_TRUE(absl::IsNotFound(segs_->Size("segments/C/none.seg").status()));
}

TEST_F(FileSegmentStoreTest, TruncateCutsAnUncommittedTailAndCreateReplaces) {
  const std::string name = "segments/C/2.seg";
  ASSERT_TRUE(segs_->Create(name, "HDR").ok());
  ASSERT_TRUE(segs_->Write(name, 3, "committed|torn").ok());
  ASSERT_TRUE(segs_->Truncate(name, 12).ok());
  EXPECT_EQ(Contents(name), "HDRcommitted");
  ASSERT_TRUE(segs_->Seal(name).ok());
  // Truncate also works on a segment not open in this run (recovery after a restart).
  auto fresh = NewFileSegmentStore(dir_);
  ASSERT_TRUE(fresh->Truncate(name, 4).ok());
  EXPECT_EQ(Contents(name), "HDRc");
  // A second Create of the same name (a batch retried after a failure) starts it over.
  ASSERT_TRUE(segs_->Create(name, "NEW").ok());
  EXPECT_EQ(Contents(name), "NEW");
}

TEST_F(FileSegmentStoreTest, ListFindsSegmentsAndRemoveDeletesThem) {
  ASSERT_TRUE(segs_->Create("segments/A/1.seg", "a").ok());
  ASSERT_TRUE(segs_->Create("segments/B/2.seg", "b").ok());
  { std::ofstream(fs::path(dir_) / "segments/B/notes.txt") << "not a segment"; }
  auto list = segs_->List();
  ASSERT_TRUE(list.ok()) << list.status();
  std::sort(list->begin(), list->end());
  EXPECT_EQ(*list, (std::vector<std::string>{"segments/A/1.seg", "segments/B/2.seg"}));
  ASSERT_TRUE(segs_->Remove("segments/A/1.seg").ok());
  EXPECT_TRUE(segs_->Remove("segments/A/1.seg").ok());   // already gone: nothing to do
  list = segs_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<std::string>{"segments/B/2.seg"}));
  EXPECT_TRUE(NewFileSegmentStore(dir_ + "/empty")->List()->empty());
}

}  // namespace
}  // namespace tapvault::store
