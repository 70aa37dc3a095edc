#pragma once
// nettool dns: time name resolution through the system resolver and directly against servers,
// or load a server with a dnsperf-style query file.

#include "cli.hpp"

#include <string>
#include <vector>

namespace nettool::cli {

struct dns_options {
    std::string name;
    std::vector<std::string> servers;
    std::string link;  // --link SPEC: query across an emulated link
    std::string type = "A";
    unsigned count = 5;
    double interval_s = 0.1;
    double timeout_s = 2.0;
    bool tcp = false;
    bool system_only = false;
    bool no_edns = false;
    unsigned edns_size = 1232;
    bool no_recurse = false;
    std::string resolv_conf = "/etc/resolv.conf";
    bool resolv_conf_given = false;  // --resolv-conf was on the command line: it must be readable
    // load mode
    std::string queries_file;
    double duration_s = 10.0;
    unsigned concurrency = 100;
    double rate = 0.0;
};

void setup_dns(CLI::App& app, context& ctx);
int run_dns(const dns_options& opts, const context& ctx);

}  // namespace nettool::cli
