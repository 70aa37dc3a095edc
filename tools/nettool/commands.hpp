#pragma once
// The list of subcommands; each setup_<name> lives in cmd_<name>.cpp.

#include "cli.hpp"

#include <string_view>

namespace nettool::cli {

/// Registers the subcommands on app. Defined in commands.cpp, the one list to extend. When `only`
/// names one of them, only that one is built: a run pays for its own options, not for every
/// subcommand's (CLI11 building all of them was a fifth of nettool's start-up); otherwise (no
/// subcommand, --help, an unknown word) all are, so that help and errors list them.
void setup_all(CLI::App& app, context& ctx, std::string_view only = {});

}  // namespace nettool::cli
