#pragma once
#include "cli.hpp"

#include <nettool/link/impairment.hpp>

#include <array>
#include <string>
#include <vector>

namespace nettool::cli {

/// The impairment options as typed: [0] both directions, [1] --uplink-*, [2] --downlink-*.
struct impairment_options {
    std::array<std::string, 3> delay, jitter, distribution, loss, loss_model, reorder, duplicate, corrupt, rate,
        queue, trace;
    std::uint64_t seed = 1;
    /// Parses every value; a per-direction option overrides the one for both. Throws nettool::error.
    link::link_config to_config() const;
};

struct link_options {
    impairment_options impair;
    std::size_t mtu = 1500;
    std::string capture;
    std::string log;
    std::string host_command;
    std::vector<std::string> command;
};

void setup_link(CLI::App& app, context& ctx);
int run_link(const link_options& opt, const context& ctx);

}  // namespace nettool::cli
