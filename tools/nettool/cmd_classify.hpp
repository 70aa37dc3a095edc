#pragma once
// nettool classify: is a destination loopback, this host, on-link, behind a router, or
// unreachable? Decided from this host's interfaces and routing table, as the kernel would.

#include "cli.hpp"

#include <string>
#include <vector>

namespace nettool::cli {

struct classify_options {
    std::vector<std::string> addresses;  ///< destinations to classify (explain mode)
    std::string file;                    ///< one address per line; "-" reads stdin (bulk mode)
    std::string pcap;                    ///< classify the endpoints of this capture's conversations (bulk mode)
    bool explain = false;                ///< force the binary explanation even in bulk mode
    bool no_explain = false;             ///< only the summary table
};

void setup_classify(CLI::App& app, context& ctx);
int run_classify(const classify_options& opts, const context& ctx);

}  // namespace nettool::cli
