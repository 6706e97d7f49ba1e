// POSIX file helpers for everything durable (the cold store, the audit log): the fsync discipline
// (file, then directory) in one place. Errors carry the operation, the path and errno's text, and
// map errno to a status code so that callers can tell a full disk from a broken one.
//
//   RETURN_IF_ERROR(base::WriteFileAtomic(dir + "/checkpoint", note));   // temp, fsync, rename, fsync dir
//
// Thread-safe (stateless).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tapvault::base {

// ENOSPC/EDQUOT -> ResourceExhausted, ENOENT -> NotFound, EACCES/EPERM/EROFS -> PermissionDenied,
// anything else -> Unavailable, so callers can tell a full disk from a broken one.
absl::Status ErrnoStatus(int err, std::string_view what, std::string_view path);
// mkdir -p with `mode`; fsyncs each parent whose entry it created.
absl::Status MakeDirs(const std::string& path, int mode = 0700);
absl::Status SyncDir(const std::string& path);
// Writes `data` to `path` via a temporary file in the same directory + fsync + rename + fsync of
// the directory, with `mode`.
absl::Status WriteFileAtomic(const std::string& path, std::string_view data, int mode = 0600);
// NotFound if absent.
absl::StatusOr<std::string> ReadFile(const std::string& path);
// Writes all of `data` at `offset` (retrying short writes and EINTR).
absl::Status PWriteAll(int fd, std::string_view data, uint64_t offset, std::string_view path);
// Reads up to `n` bytes at `offset`; returns how many were read (fewer only at end of file).
// Exactly n bytes at offset; OutOfRange on a short read.
absl::Status PReadAll(int fd, char* out, size_t n, uint64_t offset, std::string_view path);
absl::StatusOr<size_t> PReadUpTo(int fd, char* out, size_t n, uint64_t offset,
                                 std::string_view path);
// flock() that retries EINTR. `op` is LOCK_EX, LOCK_SH or LOCK_UN.
absl::Status Flock(int fd, int op, std::string_view path);
std::string DirName(const std::string& path);
std::string JoinPath(const std::string& a, const std::string& b);

}  // namespace tapvault::base
