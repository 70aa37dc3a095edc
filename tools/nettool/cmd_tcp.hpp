#pragma once
#include "cli.hpp"

namespace nettool::cli {

struct tcp_options {
    std::string target;
    std::string mode = "rr";
    std::uint64_t count = 0;  // 0: the mode's default
    double duration_s = 0;    // 0: the mode's default
    std::uint32_t size = 0;   // 0: the mode's default
    double interval_s = 0;
    std::string link;          // --link SPEC
    std::string capture_file;  // --capture FILE
    double timeout_s = 3;
    unsigned parallel = 1;
    bool reverse = false;
    bool bidir = false;
    std::string congestion;  // --congestion NAME (stream)
    bool iperf3 = false;     // --iperf3: the target is a stock iperf3 server
};

void setup_tcp(CLI::App& app, context& ctx);
int run_tcp(const tcp_options& opt, const context& ctx);

}  // namespace nettool::cli
