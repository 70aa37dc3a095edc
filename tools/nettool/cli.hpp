#pragma once
// What every subcommand shares: the global flags, the exit-code rule and the output helpers.

#include <nettool/net/endpoint.hpp>
#include <nettool/core/error.hpp>
#include <nettool/core/report.hpp>
#include <nettool/probe/tcp_probe.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <string>
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
    /// --html FILE on the commands that take it (commands.cpp adds it; "" without): emit()
    /// writes the page of the report's JSON there too.
    std::string html_file{};
};

/// The longest error line nettool prints (after "nettool: "): a 10 kB argument quoted in a
/// message is cut in the middle, keeping what was wrong and what to do.
inline constexpr std::size_t max_message_bytes = 480;

/// `text` made safe for one terminal line: control bytes (C0, DEL, and C1 as UTF-8) escaped as
/// \n, \t, \r, \xNN or \uNNNN, and at most about max_bytes long, cut in the middle with
/// "[... N bytes cut ...]".
std::string printable(std::string_view text, std::size_t max_bytes);

/// Prints "nettool: <what>: <detail>" as one line on stderr and returns the exit code for ec.
/// Every error line of nettool goes through here, escaped and bounded by printable().
int fail(std::string_view what, const std::error_code& ec);
int fail(std::string_view message, int code);
/// One line on stderr after the local time ("2026-12-02 12:00:00 line"): the log of the
/// long-running commands (serve, exporter).
void log_line(std::string_view line);

/// The exit code for a file named on the command line that could not be used as input: missing,
/// unreadable, a directory, or not the kind of file the option takes (binary, past a limit of
/// line_reader: errc::too_large) is the user's mistake (2);
/// anything else (an I/O error part way) is 1. Every subcommand that reads a file uses this.
int input_file_status(const std::error_code& ec) noexcept;

/// Renders a report as JSON or text on stdout, following --json; with --html FILE, also writes
/// the page of the same JSON to FILE (write_html).
void emit(const context& ctx, const report& r);

/// With --html FILE: the page html::render draws from r.to_json(), written to FILE. A file that
/// cannot be written whole throws std::system_error ("--html FILE: no space left on device: 812
/// of 210934 bytes written"): exit 1. Without --html it does nothing.
void write_html(const context& ctx, const report& r);

/// Writes text to path (created or truncated, mode 0644), every write checked; returns the
/// OS's error and how many bytes reached the file.
std::error_code write_whole_file(const std::string& path, std::string_view text, std::size_t& written) noexcept;

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

// Numbers on the command line (issue 18): every numeric option of every subcommand binds one of
// the validators below and no other check, so each number is judged once, here. A value is
// accepted only if it is written as a finite number in [min, max] -- integers as plain digits --
// or is exactly 0 where the option gives 0 a meaning. Empty strings, NaN, infinities, signs on
// counts, fractions of counts and anything past the range are usage errors (exit 2) whose one
// line names the option, the value, the unit and what to give instead:
//   nettool: --timeout: 'nan' is not a number of seconds: give 0.001 to 86400 (see --help)
// The validators run on the text before CLI11 converts it, so a value they pass always fits the
// option's type.

/// What a numeric option accepts; see number_option().
struct number_spec {
    std::string unit{};          ///< plural noun for messages and --help: "seconds", "packets", "bytes"
    bool integer = false;        ///< digits only; the bounds are imin/imax
    double min = 0;              ///< real values: smallest accepted besides 0
    double max = 0;              ///< real values: largest accepted
    std::uint64_t imin = 0;      ///< integer values: smallest accepted besides 0
    std::uint64_t imax = 0;      ///< integer values: largest accepted
    std::string zero_meaning{};  ///< non-empty: 0 is accepted too and means this ("no limit")
    std::string what{};          ///< what a value is, when not "a (whole) number of <unit>": "a port number"
};

/// The one validator behind the helpers below; returns "" for an accepted text, else the message.
std::string check_number(const std::string& text, const number_spec& spec);
CLI::Validator number_option(number_spec spec);

/// The shortest duration any option takes: nettool's deadlines (socket timeouts, poll and pcap
/// timers in ms) do not honour anything finer, and below it a timeout turned into "no timeout".
inline constexpr double min_seconds = 0.001;

/// Durations and timeouts in seconds, in [min, max]; min is at least min_seconds. With
/// zero_meaning, 0 is accepted as well ("no limit", "no gap").
CLI::Validator seconds_option(double min, double max, std::string zero_meaning = {});
/// Whole numbers of `unit` (packets, requests, bytes...) in [min, max]; 0 too with zero_meaning.
CLI::Validator count_option(std::uint64_t min, std::uint64_t max, std::string unit,
                            std::string zero_meaning = {});
/// Rates ("messages per second") in [min, max]; 0 too with zero_meaning.
CLI::Validator rate_option(double min, double max, std::string unit, std::string zero_meaning = {});
/// A TCP or UDP port, 1 to 65535.
CLI::Validator port_option();
/// An EtherType, hex (0x88b5) or decimal, 0x0600 to 0xffff.
CLI::Validator ethertype_option();

/// Seconds validated by seconds_option() as a whole number of milliseconds, rounded up so that a
/// positive duration never becomes 0 ("no limit") on the way.
std::chrono::milliseconds seconds_to_ms_ceil(double s) noexcept;

}  // namespace nettool::cli
