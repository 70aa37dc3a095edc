#pragma once
// nettool trace: the path to a host hop by hop (traceroute, mtr, paris-traceroute, tracepath).

#include "cli.hpp"

#include <string>

namespace nettool::cli {

struct trace_cli_options {
    std::string host;
    std::string proto = "udp";
    std::uint16_t port = 0;
    unsigned first_hop = 1;
    unsigned max_hops = 30;
    unsigned queries = 0;  ///< 0: 3 for one round, 1 with --count
    unsigned count = 1;
    double interval_s = 1.0;
    double timeout_s = 2.0;
    unsigned paths = 1;
    bool pmtu = false;
    bool no_resolve = false;
    std::string format = "text";
};

void setup_trace(CLI::App& app, context& ctx);
int run_trace(const trace_cli_options& opt, const context& ctx);

}  // namespace nettool::cli
