// `tapvault feed`: plays a handover scenario to a LEMF (or to files) as a mediator would, and
// prints a JSON summary line. Flags only; the work is in src/sim/.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "base/strings.h"
#include "base/time.h"
#include "cli/commands.h"
#include "sim/player.h"
#include "sim/scenario.h"

namespace tapvault::cli {
namespace {

struct FeedFlags {
  std::string scenario;
  std::string start;
  sim::PlayerOptions options;
};

int RunFeed(const FeedFlags& f) {
  auto fail = [](std::string_view message) {
    std::fprintf(stderr, "tapvault feed: %.*s\n", static_cast<int>(message.size()),
                 message.data());
    return 1;
  };
  absl::StatusOr<sim::Scenario> scenario = sim::LoadScenario(f.scenario);
  if (!scenario.ok()) return fail(base::View(scenario.status().message()));
  sim::PlayerOptions options = f.options;
  if (!f.start.empty()) {
    absl::StatusOr<base::Timestamp> t = base::ParseRfc3339(f.start);
    if (!t.ok()) return fail(base::StrCat("--start: ", base::View(t.status().message())));
    options.start = *t;
  }
  absl::StatusOr<sim::PlaySummary> summary = sim::PlayScenario(*scenario, options);
  if (!summary.ok()) return fail(base::View(summary.status().message()));
  std::cout << summary->ToJson().dump() << std::endl;
  return 0;
}

}  // namespace

void AddFeedCommand(CLI::App& app, std::function<int()>& run) {
  auto flags = std::make_shared<FeedFlags>();
  sim::PlayerOptions& o = flags->options;
  auto* cmd = app.add_subcommand(
      "feed", "Handover simulator and load generator: play a scenario to a LEMF's HI2/HI3");
  cmd->add_option("--scenario", flags->scenario, "scenario file (TOML, docs/formats/scenario.md)")
      ->required();
  cmd->add_option("--hi2", o.hi2, "HOST:PORT of the LEMF's HI2 (IRI) endpoint");
  cmd->add_option("--hi3", o.hi3, "HOST:PORT of the LEMF's HI3 (CC) endpoint");
  cmd->add_option("--out-hi2", o.out_hi2, "write the HI2 stream to this file instead");
  cmd->add_option("--out-hi3", o.out_hi3, "write the HI3 stream to this file instead");
  cmd->add_option("--rate", o.rate, "PDUs per second over all connections (0 = unpaced)");
  cmd->add_option("--repeat", o.repeat, "plays of the scenario per connection");
  cmd->add_option("--connections", o.connections,
                  "mediator connection pairs, each playing with distinct CINs");
  cmd->add_flag("--tls", o.tls.force, "connect with TLS");
  cmd->add_option("--tls-cert", o.tls.cert_file, "client certificate (PEM); implies --tls");
  cmd->add_option("--tls-key", o.tls.key_file, "client private key (PEM)");
  cmd->add_option("--tls-ca", o.tls.ca_file, "CA that signed the LEMF's certificate; implies --tls");
  cmd->add_option("--tls-server-name", o.tls.server_name,
                  "name the LEMF's certificate must carry (default: not checked)");
  cmd->add_option("--start", flags->start, "scenario clock start, RFC 3339 (default: the file's)");
  cmd->add_option("--connect-timeout-ms", o.connect_timeout_ms,
                  "how long to keep trying to connect");
  cmd->add_option("--ack-every", o.ack_every,
                  "request a PDU acknowledgement after every N PDUs per connection "
                  "(0 = none; default: the scenario's ack_every)");
  cmd->add_option("--acked-log", o.acked_log,
                  "append one line per acknowledged PDU: liid, operator/element, cin, seq, kind");
  cmd->add_option("--ack-timeout-ms", o.ack_timeout_ms,
                  "wait this long for the optionResponse and the final acknowledgement");
  cmd->callback([&run, flags] { run = [flags] { return RunFeed(*flags); }; });
}

}  // namespace tapvault::cli
