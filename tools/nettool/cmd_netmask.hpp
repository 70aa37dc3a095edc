#pragma once
// nettool netmask: what a prefix means (ipcalc-style), with the binary view of address and mask.

#include "cli.hpp"

#include <string>

namespace nettool::cli {

struct netmask_options {
    std::string prefix;  ///< ADDR/LEN or ADDR/MASK, or ADDR with mask given separately
    std::string mask;    ///< optional second word: a prefix length or dotted netmask
};

void setup_netmask(CLI::App& app, context& ctx);
int run_netmask(const netmask_options& opts, const context& ctx);

}  // namespace nettool::cli
