// Registration of the subcommands. Each Add*Command adds its flags to `app` and, when its
// subcommand is chosen, sets `run` to the function that does the work and returns the exit code.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace tapvault::cli {

void AddServeCommand(CLI::App& app, std::function<int()>& run);
void AddFeedCommand(CLI::App& app, std::function<int()>& run);
void AddInspectCommand(CLI::App& app, std::function<int()>& run);
void AddInitCommand(CLI::App& app, std::function<int()>& run);
void AddCommsCommand(CLI::App& app, std::function<int()>& run);
// `destroy`, `retention`, `export` and `approval`: what needs a second person.
void AddFourEyesCommands(CLI::App& app, std::function<int()>& run);
void AddKeysCommand(CLI::App& app, std::function<int()>& run);
void AddProofCommand(CLI::App& app, std::function<int()>& run);
void AddVerifyCommand(CLI::App& app, std::function<int()>& run);
void AddAuditCommand(CLI::App& app, std::function<int()>& run);
void AddPrivilegedCommand(CLI::App& app, std::function<int()>& run);
// `privileged report` and `privileged policy`: after AddPrivilegedCommand.
void AddPrivilegedOversightCommands(CLI::App& app, std::function<int()>& run);
void AddFlagCommand(CLI::App& app, std::function<int()>& run);
void AddDecideCommand(CLI::App& app, std::function<int()>& run);
// `warrant add|extend|end|list|show|import`: the warrants (tap orders) of a store.
void AddWarrantCommand(CLI::App& app, std::function<int()>& run);
// `user ...`: people, roles, teams, TOTP, API tokens (access/UserStore).
void AddUserCommand(CLI::App& app, std::function<int()>& run);
// `comms read`, under the `comms` subcommand.
void AddCommsReadCommand(CLI::App& comms, std::function<int()>& run);

}  // namespace tapvault::cli
