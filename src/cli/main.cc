// tapvault: one binary, one subcommand per task. Flags only; the work is done by the components.
#include <CLI/CLI.hpp>

#include "absl/synchronization/mutex.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex::Lock also runs lock-order
  // (deadlock) detection under a global lock: measurable on the ingest path, which takes several
  // mutexes per PDU. The test binaries keep the detection on; the product turns it off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"tapvault: LEMF back end for ETSI lawful-interception handover"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tapvault 0.1.0");
  std::function<int()> run;
  tapvault::cli::AddServeCommand(app, run);
  tapvault::cli::AddFeedCommand(app, run);
  tapvault::cli::AddInspectCommand(app, run);
  tapvault::cli::AddInitCommand(app, run);
  tapvault::cli::AddCommsCommand(app, run);
  tapvault::cli::AddFourEyesCommands(app, run);
  tapvault::cli::AddKeysCommand(app, run);
  tapvault::cli::AddProofCommand(app, run);
  tapvault::cli::AddVerifyCommand(app, run);
  tapvault::cli::AddAuditCommand(app, run);
  tapvault::cli::AddPrivilegedCommand(app, run);
  tapvault::cli::AddPrivilegedOversightCommands(app, run);
  tapvault::cli::AddFlagCommand(app, run);
  tapvault::cli::AddDecideCommand(app, run);
  tapvault::cli::AddWarrantCommand(app, run);
  tapvault::cli::AddUserCommand(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help / --version exit 0; every usage error exits 2, whatever CLI11's own code is.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return run ? run() : 2;
}
