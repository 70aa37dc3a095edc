#pragma once
// The list of subcommands; each setup_<name> lives in cmd_<name>.cpp.

#include "cli.hpp"

namespace nettool::cli {

/// Registers every subcommand on app. Defined in commands.cpp, the one list to extend.
void setup_all(CLI::App& app, context& ctx);

}  // namespace nettool::cli
