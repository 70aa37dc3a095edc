#pragma once
#include "cli.hpp"

namespace nettool::cli {

struct tcp_vs_udp_cli_options {
    std::string target;  // empty: start a responder in-process on loopback
    std::uint32_t size = 64;
    std::uint64_t count = 1000;
    double duration_s = 2;
    std::string capture_file;  // --capture: record the run and add the on-wire view
    std::string link;          // --link SPEC: across an emulated link (nettool link's impairments)
    std::string sweep;         // --sweep KEY=V1,V2,...: one run per value
    bool count_given = false;
    std::string congestion;  // --congestion NAME for the TCP stream
};

void setup_tcp_vs_udp(CLI::App& app, context& ctx);
int run_tcp_vs_udp(const tcp_vs_udp_cli_options& opt, const context& ctx);

}  // namespace nettool::cli
