// Helpers shared by the audit tests: temporary directories, file access, a log opened with test
// defaults, and event construction. Test-only.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "gtest/gtest.h"

namespace tapvault::audit {

inline constexpr char kOrigin[] = "test.example/audit";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "audit_test_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
inline void WriteAll(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}
inline void AppendFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}
inline std::string VerifierKeyOf(const std::string& dir) {
  std::string k = ReadAll(dir + "/verifier.vkey");
  while (!k.empty() && k.back() == '\n') k.pop_back();
  return k;
}

// A log created with the test origin and no background checkpoints.
inline std::unique_ptr<AuditLog> OpenLog(const std::string& dir, crypto::Ed25519Signer* key) {
  auto log = AuditLog::Open(
      {.dir = dir, .signer = key, .origin = kOrigin, .checkpoint_interval_ms = 0}, true);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

inline Event Ev(std::string actor, std::string action, std::string object = "") {
  Event e;
  e.actor = std::move(actor);
  e.role = "investigator";
  e.action = std::move(action);
  e.object = std::move(object);
  e.outcome = "ok";
  return e;
}

// Appends make(0..n-1) from `threads` threads at once (group commit: a few fdatasyncs instead of
// n); returns the index each got.
template <typename Make>
std::vector<uint64_t> Fill(AuditLog& log, int n, Make make, int threads = 16) {
  std::vector<uint64_t> index(static_cast<size_t>(n));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = t; i < n; i += threads) {
        auto r = log.Append(make(i));
        EXPECT_TRUE(r.ok()) << r.status();
        index[static_cast<size_t>(i)] = r.value_or(0);
      }
    });
  }
  for (auto& th : pool) th.join();
  return index;
}

}  // namespace tapvault::audit
