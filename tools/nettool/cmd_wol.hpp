#pragma once
// nettool wol: send a Wake-on-LAN magic packet on one interface.

#include "cli.hpp"

#include <string>

namespace nettool::cli {

struct wol_options {
    std::string mac;        ///< the machine to wake
    std::string interface;  ///< required
    bool udp = false;       ///< UDP broadcast instead of a raw 0x0842 frame
    int port = 9;
    bool directed = false;
    std::string password;  ///< SecureOn: 6 hex octets or 4 dotted decimal
    int count = 1;
};

void setup_wol(CLI::App& app, context& ctx);
int run_wol(const wol_options& opts, const context& ctx);

}  // namespace nettool::cli
