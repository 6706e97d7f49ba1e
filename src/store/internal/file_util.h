// POSIX file helpers of the store: every durable change goes through these so that the fsync
// discipline (file, then directory) is in one place. Errors carry errno text and the path.
// Thread-safe (stateless).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tapvault::store::internal {

// ENOSPC/EDQUOT -> ResourceExhausted, EIO -> Unavailable... so callers can tell disk-full.
absl::Status ErrnoStatus(int err, std::string_view what, std::string_view path);
// mkdir -p with `mode`; fsyncs each parent whose entry it created.
absl::Status MakeDirs(const std::string& path, int mode = 0700);
absl::Status SyncDir(const std::string& path);
// Writes `data` to `path` via a temporary file in the same directory + fsync + rename + fsync
// of the directory, with `mode`.
absl::Status WriteFileAtomic(const std::string& path, std::string_view data, int mode = 0600);
absl::StatusOr<std::string> ReadFile(const std::string& path);
// Writes all of `data` at `offset` (retrying short writes / EINTR).
absl::Status PWriteAll(int fd, std::string_view data, uint64_t offset, std::string_view path);
absl::Status PReadAll(int fd, char* out, size_t n, uint64_t offset, std::string_view path);
std::string DirName(const std::string& path);
std::string JoinPath(const std::string& a, const std::string& b);

}  // namespace tapvault::store::internal
