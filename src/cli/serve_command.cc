#include <cstdio>

#include "cli/commands.h"

namespace tapvault::cli {

void AddServeCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("serve", "(being built: issue #2)");
  cmd->callback([&run] {
    run = [] {
      std::fprintf(stderr, "tapvault serve: not available in this build yet\n");
      return 2;
    };
  });
}

}  // namespace tapvault::cli
