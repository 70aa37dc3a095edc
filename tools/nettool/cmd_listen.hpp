#pragma once
// nettool listen: print broadcast announcements as they arrive (UDP port or raw frames).

#include "cli.hpp"

#include <optional>
#include <string>

namespace nettool::cli {

struct listen_cli_options {
    std::string interface;
    std::optional<int> udp_port;
    bool ether = false;
    std::string ethertype;  ///< raw: only this EtherType
    std::size_t count = 0;
    double timeout_s = 0;
};

void setup_listen(CLI::App& app, context& ctx);
int run_listen(const listen_cli_options& opts, const context& ctx);

}  // namespace nettool::cli
