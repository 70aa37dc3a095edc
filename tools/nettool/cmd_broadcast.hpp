#pragma once
// nettool broadcast: announce on one segment by UDP broadcast or raw Ethernet broadcast frames.

#include "cli.hpp"

#include <optional>
#include <string>

namespace nettool::cli {

struct broadcast_options {
    std::string interface;        ///< required: where to send
    std::optional<int> udp_port;  ///< --udp PORT
    bool ether = false;           ///< --ether: raw frames to ff:ff:ff:ff:ff:ff
    std::string ethertype = "0x88b5";
    bool directed = false;  ///< UDP to the interface's directed broadcast, not 255.255.255.255
    std::string message;    ///< payload text; default names the sequence number
    int count = 1;
    double interval_s = 1.0;
    double max_rate = 10.0;  ///< messages per second; --interval must respect it
};

/// Safety limits shared by broadcast and wol.
inline constexpr int broadcast_max_count = 10000;
inline constexpr double broadcast_rate_ceiling = 1000.0;

void setup_broadcast(CLI::App& app, context& ctx);
int run_broadcast(const broadcast_options& opts, const context& ctx);

}  // namespace nettool::cli
