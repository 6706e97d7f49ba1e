// Writes every connection's received byte stream verbatim to its own file,
// `DIR/<hi2|hi3>_<UTC YYYYMMDDTHHMMSS>_<connection id>.raw`: the same format as the OpenLI
// captures (plain back-to-back PS-PDUs), so `tapvault inspect FILE` reads it back. Files are
// flushed and closed when the connection closes (and on Flush()). Accept() does nothing: the
// bytes are captured before framing, garbage included, exactly as received.
//
//   ASSIGN_OR_RETURN(auto raw, ingest::RawCaptureSink::Create("/var/lib/tapvault/raw"));
//   ingest::FanoutSink sink({raw.get(), store_sink});
//
// Thread-safe.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ingest/record_sink.h"

namespace tapvault::ingest {

class RawCaptureSink : public RecordSink {
 public:
  // Creates `dir` if needed. InvalidArgument if it cannot be created or written.
  static absl::StatusOr<std::unique_ptr<RawCaptureSink>> Create(const std::string& dir);
  ~RawCaptureSink() override;

  absl::Status Accept(const ReceivedPdu& pdu) override { return absl::OkStatus(); }
  void OnConnectionOpen(const ConnectionInfo& conn) override;
  void OnConnectionBytes(const ConnectionInfo& conn, base::Bytes data) override;
  void OnConnectionClose(const ConnectionInfo& conn, std::string_view reason) override;
  absl::Status Flush() override;

  // The file name a connection gets (without the directory).
  static std::string FileName(const ConnectionInfo& conn);
  uint64_t write_errors() const;

 private:
  struct File {
    absl::Mutex mu;
    std::FILE* f ABSL_GUARDED_BY(mu) = nullptr;
    std::string path;
    bool failed ABSL_GUARDED_BY(mu) = false;
  };
  explicit RawCaptureSink(std::string dir) : dir_(std::move(dir)) {}
  std::shared_ptr<File> Find(uint64_t id);

  std::string dir_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, std::shared_ptr<File>> files_ ABSL_GUARDED_BY(mu_);
  uint64_t write_errors_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tapvault::ingest
