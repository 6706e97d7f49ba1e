// Structured logging: one JSON object per line on stderr (or a sink set for tests).
//
//   base::Log(base::LogLevel::kWarn, "ingest.frame_dropped",
//             {{"conn", id}, {"offset", off}, {"reason", status.ToString()}});
//
// Every line has "ts" (RFC 3339 UTC), "level" and "event"; fields are merged in. Never pass key
// material, content or party identities in clear: logs leave the secure zone. Thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace tapvault::base {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void Log(LogLevel level, std::string_view event, nlohmann::json fields = nlohmann::json::object());
void SetMinLogLevel(LogLevel level);
// Replaces the output (default: stderr) for tests; an empty function restores stderr.
void SetLogSinkForTest(std::function<void(const std::string& line)> sink);

}  // namespace tapvault::base
