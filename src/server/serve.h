// `tapvault serve`: the receiving server put together from net/ (listeners), ingest/ (sessions,
// sequence tracking, integrity checks, sinks) and metrics/ (registry + HTTP exporter), with its
// configuration (TOML file, overridden by flags). The keys are documented in
// docs/formats/config.md; examples/tapvault.toml is a complete example.
//
//   server::ServeConfig config;
//   RETURN_IF_ERROR(server::LoadConfigFile("tapvault.toml", config));
//   config.hi2 = "127.0.0.1:0";                 // a flag overrides the file
//   return server::RunServe(config);            // until SIGTERM / SIGINT; exit code
//
// When ready, RunServe prints exactly one JSON line on stdout with the bound addresses:
// {"hi2": "127.0.0.1:PORT", "hi3": "127.0.0.1:PORT", "metrics": "127.0.0.1:PORT"}
// Not thread-safe: call from main().
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tapvault::server {

struct ServeConfig {
  std::string data_dir;                  // the cold store (created if the directory is empty)
  std::string hi2 = "127.0.0.1:0";
  std::string hi3 = "127.0.0.1:0";
  std::string raw_capture_dir;           // "" = no raw capture
  std::string metrics = "127.0.0.1:0";   // "" or "off" = no metrics endpoint
  std::string tls_cert, tls_key, tls_client_ca;  // all three or none: TLS on HI2 and HI3
  std::vector<std::string> tls_allow;    // client cert allow-list (see net::TlsOptions)
  int threads = 2;
  int64_t idle_timeout_s = 600;
  int64_t max_connections = 20000;
  bool resync = true;
  int64_t max_pdu_bytes = 16 << 20;
  int64_t sequence_window = 1024;
  bool integrity = true;
  int64_t integrity_pending_timeout_s = 120;
  int64_t integrity_buffer_bytes = 64 << 20;
  std::map<std::string, std::string> signature_keys;  // network element id -> PEM file
  // The privileged-party filter ([privileged]; only with a store).
  std::string privileged_region = "NL";     // numbers without a country code, when the PDU has none
  int64_t privileged_max_age_h = 36;        // an older list is stale: alarm, new content quarantined
  int64_t privileged_review_after_s = 60;   // no readable party this long: to review
  std::string canary;                       // a test number on the list ("" = no canary)
  int64_t canary_interval_s = 3600;
  // The HTTPS JSON API ([api]; only with a store). "" or "off" = no API.
  std::string api_listen = "off";
  std::string api_cert, api_key;
  std::string api_client_ca;                // "" = no client certificates
  int64_t api_threads = 8;
  // Prosecutors keep access this long after a warrant ends when it names no retention itself.
  int64_t default_retention_days = 180;
};

// Reads a TOML file into `config` (keys absent from the file keep their value).
// InvalidArgument with the key or the parse position on error; unknown keys are errors.
absl::Status LoadConfigFile(const std::string& path, ServeConfig& config);
absl::Status LoadConfigString(std::string_view toml, ServeConfig& config);
absl::Status Validate(const ServeConfig& config);

struct HostPort {
  std::string host;
  uint16_t port = 0;
};
// "host:port", "[v6]:port" or ":port" (= 0.0.0.0).
absl::StatusOr<HostPort> ParseHostPort(std::string_view text);

// Runs the server until SIGTERM or SIGINT; returns the process exit code (0 after a clean drain).
int RunServe(const ServeConfig& config);

}  // namespace tapvault::server
