#include "base/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "base/time.h"

namespace tapvault::base {
namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mu;
std::function<void(const std::string&)> g_sink;  // guarded by g_mu

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

}  // namespace

void Log(LogLevel level, std::string_view event, nlohmann::json fields) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = FormatRfc3339(Now());
  line["level"] = LevelName(level);
  line["event"] = std::string(event);
  if (fields.is_object()) {
    for (auto& [k, v] : fields.items()) line[k] = std::move(v);
  }
  // Replace invalid UTF-8 rather than throwing: messages may quote peer bytes.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lock(g_mu);
  if (g_sink) {
    g_sink(text);
    return;
  }
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

void SetMinLogLevel(LogLevel level) { g_min_level.store(static_cast<int>(level)); }

void SetLogSinkForTest(std::function<void(const std::string&)> sink) {
  std::lock_guard lock(g_mu);
  g_sink = std::move(sink);
}

}  // namespace tapvault::base
