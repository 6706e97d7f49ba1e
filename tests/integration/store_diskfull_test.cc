// Disk full, end to end: the cold store lives on a small tmpfs (mounted by the test, so it runs
// as root, as CI does). `tapvault feed` streams more than fits; serve must stall instead of
// failing: stop reading the sockets (back-pressure), raise the alarm (store.stalled log line,
// tapvault_store_stalled = 1, tapvault_store_write_errors_total > 0), corrupt nothing, and resume
// by itself when space returns (the tmpfs grown with a remount, or a filler file removed), after
// which every acknowledged PDU is in the store and `tapvault verify` finds it intact.
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <map>

#include "gtest/gtest.h"
#include "harness.h"
#include "store_keys.h"
#include "proto/record/record.h"
#include "store/catalog.h"
#include "store/store.h"

namespace {

using namespace tapvault::itest;
namespace store = tapvault::store;

// A tmpfs of a given size on a fresh directory; unmounted (lazily, so a process still holding a
// file cannot keep it) and removed on destruction, also when the test fails.
class TmpfsMount {
 public:
  explicit TmpfsMount(const std::string& size) : dir_(TempPath("tv_diskfull_")) {
    fs::create_directories(dir_);
    const std::string opts = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::string("mount -t tmpfs -o ") + opts + " " + dir_.string() + ": " +
               std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove(dir_, ec);
  }
  bool ok() const { return mounted_; }
  const std::string& error() const { return error_; }
  const fs::path& dir() const { return dir_; }
  // Grows (or shrinks) the filesystem in place, as an operator freeing space would.
  bool Resize(const std::string& size) {
    const std::string opts = "size=" + size + ",mode=0700";
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, opts.c_str()) == 0;
  }
  uint64_t FreeBytes() const {
    struct statvfs s {};
    if (::statvfs(dir_.c_str(), &s) != 0) return 0;
    return static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
  }

 private:
  fs::path dir_;
  bool mounted_ = false;
  std::string error_;
};

void WriteScenario(const fs::path& file, const std::string& liid, int packets,
                   const std::string& caller = "+31612345678") {
  std::ofstream out(file);
  out << "[scenario]\nname = \"" << liid << "\"\nstart = \"2026-03-01T10:00:00Z\"\n"
      << "operator_id = \"FULLOP\"\nnetwork_element = \"med-full\"\n\n"
      << "[[warrant]]\nliid = \"" << liid << "\"\n\n"
      << "[[event]]\ntype = \"sip-call\"\nliid = \"" << liid << "\"\n"
      << "caller = \"" << caller << "\"\ncallee = \"+31201111111\"\n"
      << "packets = " << packets << "\ngap_s = 0.0\n";
}

// Takes all free space of the filesystem at `dir` but `leave` bytes, with a file that the test
// deletes to give the space back (as an operator cleaning up would).
bool FillLeaving(const TmpfsMount& mnt, const fs::path& file, uint64_t leave) {
  const uint64_t free_bytes = mnt.FreeBytes();
  if (free_bytes <= leave) return true;
  uint64_t todo = free_bytes - leave;
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return false;
  std::string chunk(1 << 20, '\0');
  while (todo > 0) {
    ssize_t n = ::write(fd, chunk.data(), std::min<uint64_t>(todo, chunk.size()));
    if (n <= 0) break;
    todo -= static_cast<uint64_t>(n);
  }
  ::close(fd);
  return todo == 0;
}

class StoreDiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u)
        << "store_diskfull_test mounts a size-limited tmpfs and must run as root (CI does); "
           "run it with sudo or in the CI container";
    work_ = TempPath("tv_diskfull_work_");
    fs::create_directories(work_);
  }
  void TearDown() override {
    if (serve_) {
      serve_->Kill(SIGKILL);
      serve_->Wait(5000);
      if (HasFailure()) std::printf("serve stderr (tail):\n%s\n", Tail(serve_->Stderr()).c_str());
    }
    serve_.reset();
    std::error_code ec;
    fs::remove_all(work_, ec);
  }
  static std::string Tail(const std::string& s) {
    return s.size() > 6000 ? s.substr(s.size() - 6000) : s;
  }

  void StartServe(const fs::path& data) {
    serve_ = std::make_unique<Child>(std::vector<std::string>{
        "serve", "--data", data.string(), "--hi2", "127.0.0.1:0", "--hi3", "127.0.0.1:0",
        "--metrics", "127.0.0.1:0"});
    ready_ = serve_->WaitReady(30000);
    ASSERT_TRUE(ready_.is_object()) << "serve did not come up: " << serve_->Stderr();
    metrics_ = ready_["metrics"];
  }
  double M(const std::string& series) const { return Metric(metrics_, series); }
  double PdusIn() const {
    return M("tapvault_pdus_total{handover=\"hi2\",kind=\"iri-begin\"}") +
           M("tapvault_pdus_total{handover=\"hi2\",kind=\"iri-continue\"}") +
           M("tapvault_pdus_total{handover=\"hi2\",kind=\"iri-end\"}") +
           M("tapvault_pdus_total{handover=\"hi3\",kind=\"cc\"}");
  }

  std::unique_ptr<Child> Feed(const fs::path& scenario, const fs::path& acked_log,
                              std::vector<std::string> extra) {
    std::vector<std::string> args = {"feed",          "--scenario",      scenario.string(),
                                     "--hi2",         ready_["hi2"],     "--hi3",
                                     ready_["hi3"],   "--acked-log",     acked_log.string(),
                                     "--ack-timeout-ms", "60000"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Child>(args);
  }

  // After the feed finished (exit 0): every IRI/CC PDU it sent (`expected`) was acknowledged, and
  // each acknowledged PDU is in the store exactly once.
  void CheckAllAckedStored(Child& feed, const fs::path& acked_log, const fs::path& data,
                           const std::string& liid, size_t expected) {
    const std::string out = feed.Stdout();
    auto summary = nlohmann::json::parse(LastLine(out), nullptr, false);
    ASSERT_TRUE(summary.is_object()) << out << feed.Stderr();
    EXPECT_EQ(summary["pdus_acked"].get<size_t>(), expected) << out;
    std::vector<std::string> acked = Lines(acked_log);
    EXPECT_EQ(acked.size(), expected);
    ASSERT_NO_FATAL_FAILURE(CheckStored(acked, data, liid));
  }
  // Each line of `acked` is in the store exactly once.
  void CheckStored(const std::vector<std::string>& acked, const fs::path& data,
                   const std::string& liid) {
    std::string error;
    std::map<std::string, int> stored = StoredKeys(data, liid, &error);
    ASSERT_TRUE(error.empty()) << error;
    int missing = 0, duplicated = 0;
    for (const std::string& line : acked) {
      auto it = stored.find(line);
      if (it == stored.end()) {
        if (++missing <= 5) ADD_FAILURE() << "acknowledged but not stored: " << line;
      } else if (it->second > 1) {
        ++duplicated;
      }
    }
    EXPECT_EQ(missing, 0) << "of " << acked.size();
    EXPECT_EQ(duplicated, 0) << "records stored twice (a retried batch must not duplicate)";
  }
  // The reason of serve's store.stalled log lines.
  std::vector<std::string> StallReasons() const {
    std::vector<std::string> out;
    std::istringstream in(serve_->Stderr());
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("event", "") == "store.stalled") {
        out.push_back(j.value("reason", ""));
      }
    }
    return out;
  }

  fs::path work_;
  std::unique_ptr<Child> serve_;
  nlohmann::json ready_;
  std::string metrics_;
};

TEST_F(StoreDiskFull, StallsWithBackPressureAndResumesWhenSpaceReturns) {
  TmpfsMount mnt("4m");
  ASSERT_TRUE(mnt.ok()) << mnt.error();
  const fs::path data = mnt.dir() / "data";
  RunResult init = RunTapvault({"init", "--data", data.string()});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ASSERT_NO_FATAL_FAILURE(StartServe(data));

  // ~12,000 PDUs of ~200 bytes, unpaced: about three times what the filesystem holds once the
  // segments, the Merkle tiles and entry bundles and the catalog are counted.
  const fs::path scenario = work_ / "fill.toml";
  const fs::path acked_log = work_ / "fill.log";
  WriteScenario(scenario, "FULL-0001", 1500);
  std::unique_ptr<Child> feed = Feed(scenario, acked_log, {"--ack-every", "50", "--repeat", "4"});

  // The alarm: metric, counter, log line.
  ASSERT_TRUE(WaitUntil([&] { return M("tapvault_store_stalled") == 1; }, 30000))
      << "the store never stalled; free bytes " << mnt.FreeBytes() << "; feed exit "
      << feed->Wait(0) << " " << feed->Stdout() << feed->Stderr();
  EXPECT_GT(M("tapvault_store_write_errors_total"), 0);
  EXPECT_TRUE(WaitUntil([&] { return CountOf(serve_->Stderr(), "store.stalled") > 0; }, 2000));

  // Back-pressure: serve stays up, ingest stops taking PDUs, the feed is held (not failed).
  // A read already in flight when the store stalled may still deliver its buffer (seen under ASan
  // on a busy machine, also after one quiet half second), so wait until the count has stood still
  // for three half seconds in a row before watching it stand still.
  double settled = PdusIn();
  int still_for = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        const double now = PdusIn();
        still_for = now == settled ? still_for + 1 : 0;
        settled = now;
        return still_for >= 3;
      },
      20000))
      << "ingest never stopped reading while the store was stalled";
  const double pdus_before = PdusIn();
  const double records_before = M("tapvault_store_records_total");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(serve_->Running()) << serve_->Stderr();
  EXPECT_TRUE(feed->Running()) << "feed ended while the store was stalled: " << feed->Stdout()
                               << feed->Stderr();
  EXPECT_EQ(M("tapvault_store_stalled"), 1);
  EXPECT_EQ(PdusIn(), pdus_before) << "ingest kept reading while the store was stalled";
  EXPECT_EQ(M("tapvault_store_records_total"), records_before);
  const double errors_stalled = M("tapvault_store_write_errors_total");
  EXPECT_GT(errors_stalled, 1) << "the writer retries while stalled";
  // Nothing acknowledged is lost or damaged while stalled: verify reads the store as it is.
  // The checkpoint cannot be written on a full disk, so it lags the committed log: the tiles after
  // it are not written yet, which verify reports as notes, not problems.
  RunResult during = RunTapvault({"verify", "--data", data.string(), "--json"});
  auto report = nlohmann::json::parse(LastLine(during.out), nullptr, false);
  ASSERT_TRUE(report.is_object()) << during.out << during.err;
  EXPECT_EQ(during.exit_code, 0) << during.out;
  EXPECT_TRUE(report["problems"].empty()) << report.dump();

  // Space returns: ingest resumes by itself.
  ASSERT_TRUE(mnt.Resize("64m")) << std::strerror(errno);
  EXPECT_TRUE(WaitUntil([&] { return M("tapvault_store_stalled") == 0; }, 10000));
  EXPECT_TRUE(WaitUntil([&] { return CountOf(serve_->Stderr(), "store.resumed") > 0; }, 2000));
  ASSERT_EQ(feed->Wait(120000), 0) << feed->Stdout() << feed->Stderr();
  // 4 plays of a call: 7 IRI + 2 x 1500 CC each.
  ASSERT_NO_FATAL_FAILURE(CheckAllAckedStored(*feed, acked_log, data, "FULL-0001", 4 * 3007));
  EXPECT_EQ(M("tapvault_store_stalled"), 0);

  // Stopped cleanly, and intact.
  serve_->Kill(SIGTERM);
  EXPECT_EQ(serve_->Wait(20000), 0) << Tail(serve_->Stderr());
  serve_.reset();
  RunResult v = RunTapvault({"verify", "--data", data.string(), "--json"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  auto final_report = nlohmann::json::parse(LastLine(v.out), nullptr, false);
  ASSERT_TRUE(final_report.is_object()) << v.out;
  // The checkpoints that failed on the full disk caught up.
  EXPECT_EQ(final_report["checkpoint_size"], final_report["tree_size"]);
  // No temporary file of a failed tile, bundle or checkpoint write was left behind.
  for (const auto& e : fs::recursive_directory_iterator(data)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  }
}

// The catalog is what runs out of space: the segment append of a batch still fits, the SQLite
// commit does not (SQLITE_FULL in the WAL). Space returns by deleting a file; then the same store
// runs out again and serve is killed while stalled, and recovers on restart.
TEST_F(StoreDiskFull, CatalogFullThenSpaceReturnsAndCrashWhileStalled) {
  TmpfsMount mnt("16m");
  ASSERT_TRUE(mnt.ok()) << mnt.error();
  const fs::path data = mnt.dir() / "data";
  const fs::path filler = mnt.dir() / "filler";
  RunResult init = RunTapvault({"init", "--data", data.string()});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ASSERT_NO_FATAL_FAILURE(StartServe(data));

  // The case and its segment exist (so the next records append to a segment page already there).
  const fs::path warm = work_ / "warm.toml", warm_log = work_ / "warm.log";
  WriteScenario(warm, "FULL-0002", 2);
  std::unique_ptr<Child> feed = Feed(warm, warm_log, {"--ack-every", "1"});
  ASSERT_EQ(feed->Wait(30000), 0) << feed->Stderr();
  ASSERT_NO_FATAL_FAILURE(CheckAllAckedStored(*feed, warm_log, data, "FULL-0002", 11));

  // 8 KiB left: room for a batch's segment append (a record or two), not for the WAL frames of
  // its catalog commit (several 4 KiB pages).
  ASSERT_TRUE(FillLeaving(mnt, filler, 8192));
  const fs::path more = work_ / "more.toml", more_log = work_ / "more.log";
  WriteScenario(more, "FULL-0002", 20, "+31622222222");
  feed = Feed(more, more_log, {"--ack-every", "1"});
  ASSERT_TRUE(WaitUntil([&] { return M("tapvault_store_stalled") == 1; }, 20000))
      << "free " << mnt.FreeBytes() << "; " << feed->Stdout() << feed->Stderr();
  EXPECT_GT(M("tapvault_store_write_errors_total"), 0);
  ASSERT_TRUE(WaitUntil([&] { return !StallReasons().empty(); }, 2000));
  const std::string reason = StallReasons().front();
  EXPECT_NE(reason.find("catalog"), std::string::npos) << reason;
  EXPECT_NE(reason.find("full"), std::string::npos) << "SQLITE_FULL expected: " << reason;
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // a few failed retries
  EXPECT_TRUE(serve_->Running());
  EXPECT_TRUE(feed->Running()) << feed->Stdout() << feed->Stderr();

  fs::remove(filler);
  EXPECT_TRUE(WaitUntil([&] { return M("tapvault_store_stalled") == 0; }, 10000));
  ASSERT_EQ(feed->Wait(60000), 0) << feed->Stdout() << feed->Stderr();
  ASSERT_NO_FATAL_FAILURE(CheckAllAckedStored(*feed, more_log, data, "FULL-0002", 47));
  ASSERT_TRUE(WaitCheckpointed(data, 5000));
  RunResult v = RunTapvault({"verify", "--data", data.string()});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;

  // Full again, now for a new case (a new segment file in the failing batch), and serve dies
  // while stalled: the restart (with space back) cleans up and loses nothing acknowledged.
  ASSERT_TRUE(FillLeaving(mnt, filler, 8192));
  const fs::path last = work_ / "last.toml", last_log = work_ / "last.log";
  WriteScenario(last, "FULL-0004", 20, "+31633333333");
  feed = Feed(last, last_log, {"--ack-every", "1"});
  ASSERT_TRUE(WaitUntil([&] { return M("tapvault_store_stalled") == 1; }, 20000));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  serve_->Kill(SIGKILL);
  ASSERT_EQ(serve_->Wait(10000), 128 + SIGKILL);
  EXPECT_NE(feed->Wait(30000), 0) << "feed cannot finish against a dead server";
  fs::remove(filler);
  ASSERT_NO_FATAL_FAILURE(StartServe(data));
  std::vector<std::string> acked = Lines(warm_log), more_acked = Lines(more_log);
  acked.insert(acked.end(), more_acked.begin(), more_acked.end());
  ASSERT_NO_FATAL_FAILURE(CheckStored(acked, data, "FULL-0002"));
  ASSERT_NO_FATAL_FAILURE(CheckStored(Lines(last_log), data, "FULL-0004"));
  ASSERT_TRUE(WaitCheckpointed(data, 5000));
  v = RunTapvault({"verify", "--data", data.string()});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;

  // And it takes data again.
  const fs::path after = work_ / "after.toml", after_log = work_ / "after.log";
  WriteScenario(after, "FULL-0003", 2);
  feed = Feed(after, after_log, {"--ack-every", "1"});
  ASSERT_EQ(feed->Wait(30000), 0) << feed->Stderr();
  ASSERT_NO_FATAL_FAILURE(CheckAllAckedStored(*feed, after_log, data, "FULL-0003", 11));
  serve_->Kill(SIGTERM);
  EXPECT_EQ(serve_->Wait(20000), 0) << Tail(serve_->Stderr());
  serve_.reset();
  v = RunTapvault({"verify", "--data", data.string()});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

}  // namespace
