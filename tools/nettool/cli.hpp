#pragma once
// What every subcommand shares: the global flags, the exit-code rule and the output helpers.

#include <nettool/net/endpoint.hpp>
#include <nettool/core/error.hpp>
#include <nettool/core/report.hpp>
#include <nettool/probe/tcp_probe.hpp>

#include <CLI/CLI.hpp>

#include <string_view>
#include <system_error>

namespace nettool {
class wire_recorder;
struct wire_comparison;
}  // namespace nettool

namespace nettool::cli {

/// Exit codes, documented in --help and README.
enum exit_code : int {
    exit_ok = 0,      ///< the measurement ran and succeeded
    exit_failed = 1,  ///< the measured thing failed: unreachable, timed out, nothing received
    exit_usage = 2,   ///< bad command line: syntax, range, unknown option or subcommand
};

struct global_options {
    bool json = false;   ///< one JSON document on stdout, nothing else
    bool quiet = false;  ///< no progress or interval lines, only the final result
};

/// Handed to every setup_<name>: the global flags and where the chosen command leaves its exit code.
struct context {
    global_options global;
    int exit_status = exit_ok;
};

/// Prints "nettool: <what>: <detail>" as one line on stderr and returns the exit code for ec.
int fail(std::string_view what, const std::error_code& ec);
int fail(std::string_view message, int code);

/// Renders a report as JSON or text on stdout, following --json.
void emit(const context& ctx, const report& r);

/// True when stdout is a terminal and --quiet/--json are off: interval lines are wanted.
bool want_progress(const context& ctx);

/// Parses HOST[:PORT] and resolves it to the first address. Throws nettool::error: bad syntax
/// is a usage error (exit 2); a name that does not resolve is errc::resolve_failed (exit 1).
socket_address resolve_target(const std::string& text, std::uint16_t default_port);

/// Prints one iperf3-style interval line on stdout: "[  1.0-  2.0 s]  1.18 GB  9.41 Gbit/s".
void print_interval(const stream_interval& iv);

/// --capture FILE on the probe commands: records the run on the interface that reaches the
/// target, then adds the on-wire view to the report. Without a file it does nothing. Failing to
/// start (no privilege, no interface) throws std::system_error: one line, exit 1.
class probe_capture {
public:
    probe_capture(const std::string& file, const socket_address& target);
    ~probe_capture();
    void attach(report& rep, const wire_comparison& app);
    /// True once attach() has stopped a capture: file() then holds the whole run.
    bool recorded() const noexcept { return recorded_; }
    const std::string& file() const noexcept { return file_; }

private:
    std::string file_;
    std::unique_ptr<wire_recorder> recorder_;
    bool recorded_ = false;
};

/// A CLI11 validator for durations in seconds: positive and finite.
CLI::Validator positive_seconds();

}  // namespace nettool::cli
