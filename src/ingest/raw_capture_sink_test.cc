#include "ingest/raw_capture_sink.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "gtest/gtest.h"

namespace tapvault::ingest {
namespace {

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(RawCaptureSinkTest, WritesEachConnectionVerbatimToItsOwnFile) {
  auto dir = std::filesystem::temp_directory_path() /
             ("tv_raw_" + std::to_string(::getpid()) + "_" + std::to_string(base::Now().unix_us));
  auto sink = RawCaptureSink::Create(dir.string());
  ASSERT_TRUE(sink.ok());
  ConnectionInfo a{.id = 1, .handover = Handover::kHi2, .opened = {1795898602000000}};
  ConnectionInfo b{.id = 2, .handover = Handover::kHi3, .opened = {1795898602000000}};
  (*sink)->OnConnectionOpen(a);
  (*sink)->OnConnectionOpen(b);
  (*sink)->OnConnectionBytes(a, base::AsBytes(std::string_view("abc\0", 4)));
  (*sink)->OnConnectionBytes(b, base::AsBytes("xyz"));
  (*sink)->OnConnectionBytes(a, base::AsBytes("def"));
  ASSERT_TRUE((*sink)->Flush().ok());
  (*sink)->OnConnectionClose(a, "eof");
  (*sink)->OnConnectionClose(b, "eof");
  EXPECT_EQ(RawCaptureSink::FileName(a), "hi2_20261128T204322_1.raw");
  EXPECT_EQ(Slurp(dir / "hi2_20261128T204322_1.raw"), std::string("abc\0def", 7));
  EXPECT_EQ(Slurp(dir / "hi3_20261128T204322_2.raw"), "xyz");
  EXPECT_EQ((*sink)->write_errors(), 0u);
  std::filesystem::remove_all(dir);
}

TEST(RawCaptureSinkTest, UnwritableDirectoryIsAnError) {
  EXPECT_FALSE(RawCaptureSink::Create("/proc/definitely/not/here").ok());
}

}  // namespace
}  // namespace tapvault::ingest
