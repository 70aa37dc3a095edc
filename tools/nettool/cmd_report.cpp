#include "cmd_report.hpp"

#include "files.hpp"

#include <nettool/core/error.hpp>
#include <nettool/html/html_report.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace nettool::cli {

namespace {

/// The whole file, at most max_run_file_bytes; the OS's error, errc::too_large past the limit.
std::string read_run_file(const std::string& path, std::error_code& ec) {
    ec.clear();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ec = {errno, std::system_category()};
        return {};
    }
    std::string text;
    struct stat st{};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        ec = std::make_error_code(std::errc::is_a_directory);
    } else {
        char buf[65536];
        for (;;) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                ec = {errno, std::system_category()};
                break;
            }
            if (n == 0) break;
            if (text.size() + static_cast<std::size_t>(n) > max_run_file_bytes) {
                ec = make_error_code(errc::too_large);
                break;
            }
            text.append(buf, static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    return text;
}

/// "runs/loss-1pct.json" -> "loss-1pct": the label of the run's series.
std::string label_of(const std::string& path) {
    std::string name = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
    if (name.size() > 5 && name.ends_with(".json")) name.resize(name.size() - 5);
    return name.empty() ? path : name;
}

}  // namespace

void setup_report(CLI::App& app, context& ctx) {
    auto opt = std::make_shared<report_options>();
    auto* sub = app.add_subcommand(
        "report",
        "Draw saved --json runs (tcp-vs-udp, tcp, udp, dns, inspect, trace, link) side by side in one "
        "self-contained HTML page with plots: nettool report a.json b.json -o report.html");
    sub->add_option("runs", opt->runs, "JSON documents printed by nettool ... --json, one run each")
        ->required()
        ->check(file_option());
    sub->add_option("-o,--output", opt->output, "The HTML file to write")->required()->check(file_option());
    sub->add_option("--title", opt->title, "The page's heading (default: nettool report)");
    sub->callback([opt, &ctx] { ctx.exit_status = run_report(*opt, ctx); });
}

int run_report(const report_options& opts, const context& ctx) {
    std::vector<nlohmann::json> docs;
    std::vector<html::run_ref> refs;
    docs.reserve(opts.runs.size());
    for (const auto& path : opts.runs) {
        std::error_code ec;
        const std::string text = read_run_file(path, ec);
        if (ec == errc::too_large)
            return fail(fmt::format("{}: larger than {} MiB: not a nettool run", path, max_run_file_bytes >> 20),
                        exit_usage);
        if (ec) return fail(fmt::format("{}: {}", path, os_reason(ec)), input_file_status(ec));
        try {
            docs.push_back(html::parse_run(text));
        } catch (const error& e) {
            // Not a run this page can draw: the user's mistake, whatever the field.
            return fail(fmt::format("{}: not a nettool run it can draw: {}", path, e.what()), exit_usage);
        }
    }
    for (std::size_t i = 0; i < docs.size(); ++i) refs.push_back({.document = &docs[i], .label = label_of(opts.runs[i])});
    const std::string page = html::render(refs, {.title = opts.title});
    std::size_t written = 0;
    if (const auto ec = write_whole_file(opts.output, page, written))
        return fail(fmt::format("{}: {}: {} of {} bytes written", opts.output, os_reason(ec), written, page.size()),
                    exit_failed);
    if (!ctx.global.quiet && !ctx.global.json)
        fmt::print(stderr, "nettool report: {}: {} run{}, {} kB\n", opts.output, docs.size(),
                   docs.size() == 1 ? "" : "s", (page.size() + 1023) / 1024);
    return exit_ok;
}

}  // namespace nettool::cli
