// Writes the log's full tiles and entry bundles (tlog-tiles files) on a thread of its own, so
// that creating two files per 256 records stays off the group commit and with it off the
// acknowledgement latency. No tile is needed for durability: the catalog holds the tree's edge,
// and tiles past the last checkpoint's are rebuilt from the segments at start-up. A checkpoint
// is signed only after Drain() has seen every tile up to its size written.
//
//   internal::TileWriter tw(&tiles, /*retry_us=*/500000);
//   tw.Push(std::move(jobs));            // after the commit that made those leaves durable
//   RETURN_IF_ERROR(tw.Drain(30000000)); // before syncfs + signing a checkpoint
//
// A failed write (disk full, no inodes) is retried until it succeeds; Drain reports the error
// meanwhile. Push blocks while more than `max_queued_bytes` wait, which passes back-pressure to
// the writer. Stop() (for shutting down) ends that blocking and gives up on writes that keep
// failing; from then on Drain reports an error if anything was given up, so that no checkpoint
// claims tiles that are not there (start-up rebuilds them). Thread-safe. The destructor stops
// and joins the thread.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "tlog/dir_tile_store.h"

namespace tapvault::store::internal {

class TileWriter {
 public:
  struct Job {
    bool entries = false;   // an entry bundle (else a hash tile at `level`)
    int level = 0;
    uint64_t index = 0;
    uint64_t width = 0;
    std::string data;
  };

  TileWriter(tlog::DirTileStore* tiles, int64_t retry_us, size_t max_queued_bytes = 64u << 20);
  ~TileWriter();
  TileWriter(const TileWriter&) = delete;
  TileWriter& operator=(const TileWriter&) = delete;

  void Push(std::vector<Job> jobs);
  // Shutting down: Push no longer blocks; a write that fails 3 more times is given up.
  void Stop();
  // OK once everything pushed before this call is written; the last write error if that has not
  // happened within `timeout_us`.
  absl::Status Drain(int64_t timeout_us);

 private:
  void Loop();

  tlog::DirTileStore* const tiles_;
  const int64_t retry_us_;
  const size_t max_queued_bytes_;
  absl::Mutex mu_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t pushed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool gave_up_ ABSL_GUARDED_BY(mu_) = false;   // a job was dropped unwritten
  bool exit_ ABSL_GUARDED_BY(mu_) = false;      // the destructor: end the thread once idle
  std::thread thread_;
};

}  // namespace tapvault::store::internal
