// `tapvault serve`: flags only; the work is done by server::RunServe. Flags override the
// config file; see docs/formats/config.md.
#include <string>
#include <vector>

#include "cli/commands.h"
#include "server/serve.h"

namespace tapvault::cli {

void AddServeCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "serve", "Receive ETSI handover (HI2/HI3 over TCP or TLS); prints the bound addresses as "
               "one JSON line when ready; SIGTERM drains and stops");
  struct Flags {
    std::string config, data, hi2, hi3, raw_capture, metrics, tls_cert, tls_key, tls_client_ca;
    std::vector<std::string> tls_allow;
    int threads = 0;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("--config", flags->config, "TOML configuration file");
  cmd->add_option("--data", flags->data, "Data directory");
  cmd->add_option("--hi2", flags->hi2, "HI2 (IRI) listen address HOST:PORT (port 0: any free port)");
  cmd->add_option("--hi3", flags->hi3, "HI3 (CC) listen address HOST:PORT");
  cmd->add_option("--raw-capture", flags->raw_capture,
                  "Write every connection's bytes verbatim to DIR/<hi2|hi3>_<UTC>_<id>.raw");
  cmd->add_option("--tls-cert", flags->tls_cert, "PEM server certificate (chain)");
  cmd->add_option("--tls-key", flags->tls_key, "PEM server private key");
  cmd->add_option("--tls-client-ca", flags->tls_client_ca, "PEM CA for mediator certificates");
  cmd->add_option("--tls-allow", flags->tls_allow,
                  "Allowed mediator certificate: sha256:<hex> fingerprint or CN=<name> (repeatable)");
  cmd->add_option("--metrics", flags->metrics, "Prometheus endpoint HOST:PORT, or 'off'");
  cmd->add_option("--threads", flags->threads, "Network worker threads");
  cmd->callback([&run, cmd, flags] {
    run = [cmd, flags] {
      server::ServeConfig config;
      if (!flags->config.empty()) {
        absl::Status s = server::LoadConfigFile(flags->config, config);
        if (!s.ok()) {
          std::fprintf(stderr, "tapvault serve: %s\n", std::string(s.message()).c_str());
          return 2;
        }
      }
      auto given = [&](const char* name) { return cmd->count(name) > 0; };
      if (given("--data")) config.data_dir = flags->data;
      if (given("--hi2")) config.hi2 = flags->hi2;
      if (given("--hi3")) config.hi3 = flags->hi3;
      if (given("--raw-capture")) config.raw_capture_dir = flags->raw_capture;
      if (given("--tls-cert")) config.tls_cert = flags->tls_cert;
      if (given("--tls-key")) config.tls_key = flags->tls_key;
      if (given("--tls-client-ca")) config.tls_client_ca = flags->tls_client_ca;
      if (given("--tls-allow")) config.tls_allow = flags->tls_allow;
      if (given("--metrics")) config.metrics = flags->metrics;
      if (given("--threads")) config.threads = flags->threads;
      if (absl::Status s = server::Validate(config); !s.ok()) {
        std::fprintf(stderr, "tapvault serve: %s\n", std::string(s.message()).c_str());
        return 2;
      }
      return server::RunServe(config);
    };
  });
}

}  // namespace tapvault::cli
