#pragma once
// `nettool inspect FILE`: summarise a pcap/pcapng capture (nettool/inspect.hpp).

#include "cli.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace nettool::cli {

struct inspect_cli_options {
    std::string file;
    std::size_t max_flows = 100000;
    std::size_t rows = 20;
    std::uint16_t dns_port = 0;
};

void setup_inspect(CLI::App& app, context& ctx);
int run_inspect(const inspect_cli_options& opts, const context& ctx);

}  // namespace nettool::cli
