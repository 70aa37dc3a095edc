#pragma once
#include "cli.hpp"

#include <nettool/exporter/exporter.hpp>

namespace nettool::cli {

struct exporter_cli_options {
    std::string listen = "127.0.0.1:9429";
    std::string config;
    std::size_t workers = exporter::exporter_options{}.workers;
    bool check = false;  ///< read and check the config, then exit
};

void setup_exporter(CLI::App& app, context& ctx);
int run_exporter(const exporter_cli_options& opt, const context& ctx);

}  // namespace nettool::cli
