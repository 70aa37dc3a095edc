#include "cli.hpp"

#include <nettool/netclass/netclass.hpp>
#include <nettool/packet/wire_view.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <unistd.h>

namespace nettool::cli {

int fail(std::string_view what, const std::error_code& ec) {
    fmt::print(stderr, "nettool: {}: {}\n", what, ec.message());
    return is_usage_error(ec) ? exit_usage : exit_failed;
}

int fail(std::string_view message, int code) {
    fmt::print(stderr, "nettool: {}\n", message);
    return code;
}

void emit(const context& ctx, const report& r) {
    if (ctx.global.json) {
        fmt::print("{}\n", r.to_json().dump(2));
    } else {
        fmt::print("{}", r.to_text());
    }
    std::fflush(stdout);
}

bool want_progress(const context& ctx) {
    return !ctx.global.json && !ctx.global.quiet && ::isatty(STDOUT_FILENO) == 1;
}

socket_address resolve_target(const std::string& text, std::uint16_t default_port) {
    const auto addrs = resolve(parse_host_port(text, default_port));
    if (addrs.empty()) throw error(errc::resolve_failed, fmt::format("'{}' did not resolve to an address", text));
    return addrs.front();
}

void print_interval(const stream_interval& iv) {
    fmt::print("[{:6.1f}-{:6.1f} s]  {:>10}  {:>14}\n", iv.start_s, iv.end_s,
               format_bytes(static_cast<double>(iv.bytes)), format_bits_per_second(iv.bits_per_second));
    std::fflush(stdout);
}

probe_capture::probe_capture(const std::string& file, const socket_address& target) : file_(file) {
    if (file.empty()) return;
    try {
        recorder_ = wire_recorder::start(target, interface_for(target), file);
    } catch (const error& e) {
        throw error(e.code(), fmt::format("--capture {}: {}", file, e.what()));
    }
}

probe_capture::~probe_capture() = default;

void probe_capture::attach(report& rep, const wire_comparison& app) {
    if (!recorder_) return;
    wire_view w;
    try {
        w = recorder_->finish();
    } catch (const error& e) {
        throw error(e.code(), fmt::format("inspecting {}: {}", file_, e.what()));
    }
    recorder_.reset();
    recorded_ = true;
    add_wire_view(rep, w, app);
}

CLI::Validator positive_seconds() {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            try {
                const double v = std::stod(s);
                if (!(v > 0) || v > 86400) return "must be a number of seconds above 0 and at most 86400";
            } catch (const std::exception&) {
                return "must be a number of seconds";
            }
            return {};
        },
        "SECONDS");
}

}  // namespace nettool::cli
