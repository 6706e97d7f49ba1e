#include <cstdio>

#include "cli/commands.h"

namespace tapvault::cli {

void AddFeedCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("feed", "(being built: issue #2)");
  cmd->callback([&run] {
    run = [] {
      std::fprintf(stderr, "tapvault feed: not available in this build yet\n");
      return 2;
    };
  });
}

}  // namespace tapvault::cli
