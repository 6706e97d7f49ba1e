// Where the cold store's segment bytes live: the narrow interface between the store and its
// content storage, so that another backend (an object store with WORM retention, e.g. S3 Object
// Lock on Ceph RGW) is an added implementation, not a rewrite. The catalog (store/catalog.h) is
// the other half: it says which segments exist and how many of their bytes are committed.
//
// A segment is an append-only byte sequence named by the catalog's relative path
// ("segments/<case>/<id>.seg"). The store writes it only at its end, makes writes durable with
// Sync before its catalog transaction, and changes written bytes only to cut a tail that was
// never committed (Truncate, after a crash or a failed commit).
//
//   auto segs = store::NewFileSegmentStore("/var/lib/tapvault");
//   RETURN_IF_ERROR(segs->Create(name, header));           // durable, with its directory entry
//   RETURN_IF_ERROR(segs->Write(name, offset, records));   // at the end, not yet durable
//   RETURN_IF_ERROR(segs->Sync(name));                     // now durable
//   RETURN_IF_ERROR(segs->Read(name, offset, n, buf));
//
// Errors carry the name; a full disk is ResourceExhausted (base/file_util.h).
// Thread-safe: writes to one segment come from one thread (the store's writer); reads may run
// concurrently with them and with each other.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tapvault::store {

class SegmentStore {
 public:
  virtual ~SegmentStore() = default;

  // Creates segment `name` holding `header`, durably. A segment of that name left by an earlier
  // attempt that never committed is replaced.
  virtual absl::Status Create(const std::string& name, std::string_view header) = 0;
  // Writes `bytes` at `offset` (the segment's current end). Not durable until Sync.
  virtual absl::Status Write(const std::string& name, uint64_t offset, std::string_view bytes) = 0;
  // Makes everything written to `name` durable.
  virtual absl::Status Sync(const std::string& name) = 0;
  // No more writes to `name`: durable, and its write handle released.
  virtual absl::Status Seal(const std::string& name) = 0;
  // Cuts `name` to `size` bytes (a tail that never committed), durably.
  virtual absl::Status Truncate(const std::string& name, uint64_t size) = 0;
  // Removes `name` (a segment its batch never committed), durably.
  virtual absl::Status Remove(const std::string& name) = 0;
  // Reads exactly `n` bytes at `offset` into `out`; OutOfRange if the segment is shorter.
  virtual absl::Status Read(const std::string& name, uint64_t offset, size_t n, char* out) = 0;
  // The segment's length; NotFound if it does not exist.
  virtual absl::StatusOr<uint64_t> Size(const std::string& name) = 0;
  // The names of all segments present (to find those no catalog row knows).
  virtual absl::StatusOr<std::vector<std::string>> List() = 0;
};

// Segments as files under `store_dir` (each name is a path relative to it), written with pwrite
// and made durable with fdatasync; new files and removals also fsync their directory.
std::unique_ptr<SegmentStore> NewFileSegmentStore(std::string store_dir);

}  // namespace tapvault::store
