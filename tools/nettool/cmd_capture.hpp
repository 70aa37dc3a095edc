#pragma once
// `nettool capture`: live capture to a pcap file or to one line per packet (nettool/capture.hpp).

#include "cli.hpp"

#include <cstdint>
#include <string>

namespace nettool::cli {

struct capture_cli_options {
    std::string interface;
    std::string filter;
    std::string write;
    std::uint64_t count = 0;
    double seconds = 0;
    int snaplen = 262144;
    bool promiscuous = false;
    int buffer_kib = 4096;
};

void setup_capture(CLI::App& app, context& ctx);
int run_capture(const capture_cli_options& opts, const context& ctx);

}  // namespace nettool::cli
