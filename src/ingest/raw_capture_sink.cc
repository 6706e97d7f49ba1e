#include "ingest/raw_capture_sink.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "base/log.h"
#include "base/strings.h"

namespace tapvault::ingest {

absl::StatusOr<std::unique_ptr<RawCaptureSink>> RawCaptureSink::Create(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(
        base::StrCat("raw capture: cannot create directory ", dir, ": ", ec.message()));
  }
  return std::unique_ptr<RawCaptureSink>(new RawCaptureSink(dir));
}

RawCaptureSink::~RawCaptureSink() {
  absl::MutexLock lock(&mu_);
  for (auto& [id, file] : files_) {
    absl::MutexLock flock(&file->mu);
    if (file->f != nullptr) std::fclose(file->f);
    file->f = nullptr;
  }
}

std::string RawCaptureSink::FileName(const ConnectionInfo& conn) {
  std::time_t secs = static_cast<std::time_t>(conn.opened.unix_us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y%m%dT%H%M%S", &tm);
  return base::StrCat(HandoverName(conn.handover), "_", std::string_view(when), "_", conn.id,
                      ".raw");
}

void RawCaptureSink::OnConnectionOpen(const ConnectionInfo& conn) {
  auto file = std::make_shared<File>();
  file->path = base::StrCat(dir_, "/", FileName(conn));
  std::FILE* f = std::fopen(file->path.c_str(), "wbx");  // never overwrite a capture
  if (f == nullptr) {
    base::Log(base::LogLevel::kError, "ingest.raw_capture_open_failed",
              {{"conn", conn.id}, {"path", file->path}, {"error", std::strerror(errno)}});
    absl::MutexLock lock(&mu_);
    ++write_errors_;
    return;
  }
  {
    absl::MutexLock flock(&file->mu);
    file->f = f;
  }
  absl::MutexLock lock(&mu_);
  files_[conn.id] = std::move(file);
}

std::shared_ptr<RawCaptureSink::File> RawCaptureSink::Find(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(id);
  return it == files_.end() ? nullptr : it->second;
}

void RawCaptureSink::OnConnectionBytes(const ConnectionInfo& conn, base::Bytes data) {
  std::shared_ptr<File> file = Find(conn.id);
  if (!file) return;
  absl::MutexLock flock(&file->mu);
  if (file->f == nullptr || file->failed) return;
  if (std::fwrite(data.data(), 1, data.size(), file->f) != data.size()) {
    file->failed = true;
    base::Log(base::LogLevel::kError, "ingest.raw_capture_write_failed",
              {{"conn", conn.id}, {"path", file->path}, {"error", std::strerror(errno)}});
    absl::MutexLock lock(&mu_);
    ++write_errors_;
  }
}

void RawCaptureSink::OnConnectionClose(const ConnectionInfo& conn, std::string_view reason) {
  std::shared_ptr<File> file;
  {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(conn.id);
    if (it == files_.end()) return;
    file = std::move(it->second);
    files_.erase(it);
  }
  absl::MutexLock flock(&file->mu);
  if (file->f != nullptr && std::fclose(file->f) != 0) {
    base::Log(base::LogLevel::kError, "ingest.raw_capture_close_failed",
              {{"conn", conn.id}, {"path", file->path}, {"error", std::strerror(errno)}});
  }
  file->f = nullptr;
}

absl::Status RawCaptureSink::Flush() {
  std::vector<std::shared_ptr<File>> files;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, f] : files_) files.push_back(f);
  }
  absl::Status result;
  for (auto& file : files) {
    absl::MutexLock flock(&file->mu);
    if (file->f != nullptr && std::fflush(file->f) != 0) {
      result = absl::DataLossError(base::StrCat("raw capture: flush ", file->path, ": ",
                                                std::strerror(errno)));
    }
  }
  return result;
}

uint64_t RawCaptureSink::write_errors() const {
  absl::MutexLock lock(&mu_);
  return write_errors_;
}

}  // namespace tapvault::ingest
