#include "store/internal/tile_writer.h"

#include <pthread.h>

#include <utility>

#include "absl/time/time.h"
#include "base/log.h"
#include "base/strings.h"

namespace tapvault::store::internal {

TileWriter::TileWriter(tlog::DirTileStore* tiles, int64_t retry_us, size_t max_queued_bytes)
    : tiles_(tiles), retry_us_(retry_us), max_queued_bytes_(max_queued_bytes) {
  thread_ = std::thread([this] { Loop(); });
  pthread_setname_np(thread_.native_handle(), "tv-tiles");
}

TileWriter::~TileWriter() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
    exit_ = true;
  }
  thread_.join();
}

void TileWriter::Stop() {
  absl::MutexLock l(&mu_);
  stop_ = true;
}

void TileWriter::Push(std::vector<Job> jobs) {
  if (jobs.empty()) return;
  absl::MutexLock l(&mu_);
  auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queued_bytes_ < max_queued_bytes_ || stop_;
  };
  mu_.Await(absl::Condition(&room));
  for (Job& j : jobs) {
    queued_bytes_ += j.data.size();
    queue_.push_back(std::move(j));
    ++pushed_;
  }
}

absl::Status TileWriter::Drain(int64_t timeout_us) {
  absl::MutexLock l(&mu_);
  const uint64_t target = pushed_;
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return written_ >= target; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&done), absl::Microseconds(timeout_us))) {
    return last_error_.ok() ? absl::DeadlineExceededError("store: tiles not written in time")
                            : last_error_;
  }
  if (gave_up_) {
    return absl::DataLossError(base::StrCat("store: tile writes given up at shutdown: ",
                                            base::View(last_error_.message())));
  }
  return absl::OkStatus();
}

void TileWriter::Loop() {
  int failures_when_stopping = 0;
  for (;;) {
    Job* job = nullptr;
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || exit_; };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;   // destroyed, nothing left
      job = &queue_.front();        // only this thread pops: the reference stays valid
    }
    absl::Status s = job->entries
                         ? tiles_->WriteEntries(job->index, job->width, base::AsBytes(job->data),
                                                /*durable=*/false)
                         : tiles_->WriteTile(job->level, job->index, job->width,
                                             base::AsBytes(job->data), /*durable=*/false);
    absl::MutexLock l(&mu_);
    if (s.ok() || (stop_ && ++failures_when_stopping > 3)) {
      // When stopping with a disk that refuses writes, give up: start-up rebuilds missing tiles.
      if (!s.ok()) gave_up_ = true;
      queued_bytes_ -= job->data.size();
      queue_.pop_front();
      ++written_;
      if (s.ok()) last_error_ = absl::OkStatus();
      continue;
    }
    if (last_error_.ok()) {
      base::Log(base::LogLevel::kWarn, "store.tile_write_failed",
                {{"reason", base::View(s.message())}, {"action", "retrying"}});
    }
    last_error_ = s;
    mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Microseconds(retry_us_));
  }
}

}  // namespace tapvault::store::internal
