#pragma once
#include "cli.hpp"

namespace nettool::cli {

struct tls_cli_options {
    std::string target;
    std::string sni;
    std::string ca_file;
    bool insecure = false;
    bool tls12 = false;
    bool tls13 = false;
    std::string alpn;  // comma-separated
    std::uint64_t count = 0;  // 0: 1, or 20 with --compare
    bool resume = false;
    bool compare = false;
    std::string http_path;
    double timeout_s = 5;
    std::string capture_file;
};

void setup_tls(CLI::App& app, context& ctx);
int run_tls(const tls_cli_options& opt, const context& ctx);

}  // namespace nettool::cli
