#include <fstream>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "inspect/inspect.h"

namespace tapvault::cli {

void AddInspectCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "inspect", "Decode a raw handover byte stream (file or '-' for stdin) into JSON lines");
  static std::string path = "-";
  cmd->add_option("file", path, "raw stream: back-to-back BER PS-PDUs, e.g. a --raw-capture file")
      ->default_val("-");
  cmd->callback([&run] {
    run = [] {
      std::ios::sync_with_stdio(false);
      if (path == "-") return inspect::Run(std::cin, std::cout, std::cerr);
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        std::cerr << "inspect: cannot open " << path << "\n";
        return 2;
      }
      return inspect::Run(in, std::cout, std::cerr);
    };
  });
}

}  // namespace tapvault::cli
