#pragma once
#include "cli.hpp"

namespace nettool::cli {

struct udp_options {
    std::string target;
    std::string mode = "rr";
    std::uint64_t count = 0;  // 0: default (rr 1000)
    double duration_s = 0;    // 0: default (stream 3)
    std::uint32_t size = 0;   // 0: default (rr 64, stream 1400)
    double rate = 0;          // stream datagrams/s, 0 = as fast as possible
    double interval_s = 0;
    std::string link;          // --link SPEC
    std::string capture_file;  // --capture FILE
    double timeout_s = 0.5;
    bool no_gso = false;
    // --iperf3 (stream against a stock iperf3 -s):
    bool iperf3 = false;
    std::string bitrate;  // -b/--bitrate, iperf3's notation (10M); empty: iperf3's 1 Mbit/s
    bool reverse = false;
    bool bidir = false;
    unsigned parallel = 1;
    bool counters_64bit = false;
    bool timeout_given = false;
};

void setup_udp(CLI::App& app, context& ctx);
int run_udp(const udp_options& opt, const context& ctx);

}  // namespace nettool::cli
