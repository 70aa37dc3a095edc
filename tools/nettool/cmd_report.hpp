#pragma once
// `nettool report RUN.json... -o FILE.html`: saved --json runs drawn side by side in one HTML page
// (issue 17; nettool/html/html_report.hpp, docs/html-reports.md).

#include "cli.hpp"

#include <string>
#include <vector>

namespace nettool::cli {

struct report_options {
    std::vector<std::string> runs{};
    std::string output{};
    std::string title{};
};

/// The largest run file read: nettool's documents are kilobytes; a trace of hours is a few MB.
inline constexpr std::size_t max_run_file_bytes = 64u * 1024u * 1024u;

void setup_report(CLI::App& app, context& ctx);
int run_report(const report_options& opts, const context& ctx);

}  // namespace nettool::cli
