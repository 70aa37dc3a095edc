#pragma once
#include "cli.hpp"

namespace nettool::cli {

struct serve_options {
    std::uint16_t port = 51423;
    std::string bind;
    std::size_t max_sessions = 256;
};

void setup_serve(CLI::App& app, context& ctx);
int run_serve(const serve_options& opt, const context& ctx);

}  // namespace nettool::cli
