#include "cli.hpp"

#include "files.hpp"

#include <nettool/core/clock.hpp>
#include <nettool/html/html_report.hpp>
#include <nettool/netclass/broadcast.hpp>
#include <nettool/netclass/netclass.hpp>
#include <nettool/packet/wire_view.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <span>
#include <unistd.h>

namespace nettool::cli {

std::string printable(std::string_view text, std::size_t max_bytes) {
    // Escape first, then cut at character boundaries: no raw control byte or broken UTF-8 can
    // come out (a cut may split an escape's text, which is harmless).
    std::string out;
    out.reserve(std::min(text.size(), max_bytes) + 16);
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    for (std::size_t i = 0; i < text.size();) {
        const unsigned char c = byte(i);
        if (c < 0x80) {  // ASCII: C0 controls and DEL escaped
            if (c == '\n') out += "\\n";
            else if (c == '\t') out += "\\t";
            else if (c == '\r') out += "\\r";
            else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
            else out += static_cast<char>(c);
            ++i;
            continue;
        }
        // A well-formed UTF-8 sequence (no overlongs, no surrogates) passes, except the C1
        // controls U+0080..U+009F; any other byte is escaped on its own (a lone 0x9b is CSI on
        // an 8-bit terminal).
        const std::size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        std::uint32_t cp = len == 4 ? c & 0x07u : len == 3 ? c & 0x0fu : c & 0x1fu;
        bool ok = len != 0 && c <= 0xf4 && i + len <= text.size();
        for (std::size_t k = 1; ok && k < len; ++k) {
            ok = (byte(i + k) & 0xc0) == 0x80;
            cp = (cp << 6) | (byte(i + k) & 0x3fu);
        }
        ok = ok && !(len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) &&
             !(len == 4 && (cp < 0x10000 || cp > 0x10ffff));
        if (!ok) {
            out += fmt::format("\\x{:02x}", c);
            ++i;
        } else if (cp < 0xa0) {
            out += fmt::format("\\u{:04x}", cp);
            i += len;
        } else {
            out.append(text.substr(i, len));
            i += len;
        }
    }
    if (out.size() <= max_bytes) return out;
    // Keep the head (what was wrong) and the tail (what to do); say how much went in between.
    const auto boundary = [&](std::size_t pos) {  // back up to the start of a UTF-8 character
        while (pos > 0 && (static_cast<unsigned char>(out[pos]) & 0xc0) == 0x80) --pos;
        return pos;
    };
    const std::size_t keep_tail = max_bytes / 3;
    const std::size_t head = boundary(max_bytes - keep_tail - 32);
    std::size_t tail = boundary(out.size() - keep_tail);
    return fmt::format("{}[... {} bytes cut ...]{}", std::string_view{out}.substr(0, head), tail - head,
                       std::string_view{out}.substr(tail));
}

int fail(std::string_view what, const std::error_code& ec) {
    return fail(fmt::format("{}: {}", what, ec.message()), is_usage_error(ec) ? exit_usage : exit_failed);
}

void log_line(std::string_view line) {
    fmt::print(stderr, "{:%Y-%m-%d %H:%M:%S} {}\n", fmt::localtime(std::time(nullptr)), line);
}

int fail(std::string_view message, int code) {
    fmt::print(stderr, "nettool: {}\n", printable(message, max_message_bytes));
    std::fflush(stderr);
    return code;
}

int input_file_status(const std::error_code& ec) noexcept {
    if (is_usage_error(ec) || ec == errc::malformed || ec == errc::unsupported_link_type || ec == errc::too_large)
        return exit_usage;
    if (ec.category() != std::system_category() && ec.category() != std::generic_category()) return exit_failed;
    switch (static_cast<std::errc>(ec.value())) {
    case std::errc::no_such_file_or_directory:
    case std::errc::permission_denied:
    case std::errc::is_a_directory:
    case std::errc::not_a_directory:
    case std::errc::filename_too_long:
    case std::errc::too_many_symbolic_link_levels:
        return exit_usage;
    default:
        return exit_failed;
    }
}

void emit(const context& ctx, const report& r) {
    if (ctx.global.json) {
        fmt::print("{}\n", r.to_json().dump(2));
    } else {
        fmt::print("{}", r.to_text());
    }
    flush_stdout();
    write_html(ctx, r);
}

std::error_code write_whole_file(const std::string& path, std::string_view text, std::size_t& written) noexcept {
    written = 0;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return {errno, std::system_category()};
    std::error_code ec;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ec = {n < 0 ? errno : EIO, std::system_category()};
            break;
        }
        written += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0 && !ec) ec = {errno, std::system_category()};
    return ec;
}

void write_html(const context& ctx, const report& r) {
    if (ctx.html_file.empty()) return;
    const auto doc = r.to_json();
    const html::run_ref run{.document = &doc, .label = r.command()};
    const std::string page = html::render(std::span{&run, 1}, {.title = fmt::format("nettool {}", r.command())});
    std::size_t written = 0;
    if (const auto ec = write_whole_file(ctx.html_file, page, written))
        throw std::system_error(ec, fmt::format("--html {}: {}: {} of {} bytes written", ctx.html_file,
                                                os_reason(ec), written, page.size()));
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
    if (iv.retransmits)
        fmt::print("[{:6.1f}-{:6.1f} s]  {:>10}  {:>14}  {:>6} retransmits\n", iv.start_s, iv.end_s,
                   format_bytes(static_cast<double>(iv.bytes)), format_bits_per_second(iv.bits_per_second),
                   *iv.retransmits);
    else
        fmt::print("[{:6.1f}-{:6.1f} s]  {:>10}  {:>14}\n", iv.start_s, iv.end_s,
                   format_bytes(static_cast<double>(iv.bytes)), format_bits_per_second(iv.bits_per_second));
    flush_stdout();
}

probe_capture::probe_capture(const std::string& file, const socket_address& target) : file_(file) {
    if (file.empty()) return;
    try {
        recorder_ = wire_recorder::start(target, interface_for(target), file);
    } catch (const error& e) {
        // pcap_writer's words already name the file: "<file>: <reason>".
        if (e.code().category() == std::system_category())
            throw error(e.code(), fmt::format("--capture {}: {}", file, os_reason(e.code())));
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
        // The OS's code: writing the file failed, and what() says how much it holds.
        if (e.code().category() == std::system_category())
            throw error(e.code(), fmt::format("--capture {}: {}: {}", file_, os_reason(e.code()), e.what()));
        throw error(e.code(), fmt::format("inspecting {}: {}", file_, e.what()));
    }
    recorder_.reset();
    recorded_ = true;
    add_wire_view(rep, w, app);
}

namespace {

// 86400, 0.001, 100000000: integers without a fraction, the rest in the shortest form.
std::string number_text(double v) {
    if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
    return fmt::format("{}", v);
}

std::string range_text(const number_spec& spec) {
    const std::string r = spec.integer
                              ? fmt::format("{} to {}", spec.imin, spec.imax)
                              : fmt::format("{} to {}", number_text(spec.min), number_text(spec.max));
    return spec.zero_meaning.empty() ? r : fmt::format("{}, or 0 for {}", r, spec.zero_meaning);
}

}  // namespace

std::string check_number(const std::string& text, const number_spec& spec) {
    const std::string range = range_text(spec);
    const std::string what = !spec.what.empty() ? spec.what
                             : spec.integer     ? fmt::format("a whole number of {}", spec.unit)
                                                : fmt::format("a number of {}", spec.unit);
    // "1 to 65535 bytes", or without a unit "1 to 65535 for a port number".
    const std::string unit = !spec.unit.empty()   ? " " + spec.unit
                             : !spec.what.empty() ? " for " + spec.what
                                                  : "";
    const auto not_number = [&] { return fmt::format("'{}' is not {}: give {}", text, what, range); };
    if (text.empty()) return fmt::format("an empty value is not {}: give {}", what, range);
    const char* first = text.data();
    const char* last = text.data() + text.size();
    const auto below = [&](const std::string& min) {
        return fmt::format("'{}' is below the minimum of {}{}: give {}", text, min, unit, range);
    };
    const auto above = [&](const std::string& max) {
        return fmt::format("'{}' is above the maximum of {}{}: give {}", text, max, unit, range);
    };

    if (spec.integer) {
        // Digits only: no sign, no fraction, no exponent, no spaces.
        for (const char c : text)
            if (c < '0' || c > '9') return not_number();
        std::uint64_t v = 0;
        const auto [ptr, ec] = std::from_chars(first, last, v);
        if (ec == std::errc::result_out_of_range) return above(fmt::format("{}", spec.imax));
        if (ec != std::errc{} || ptr != last) return not_number();
        if (v == 0 && !spec.zero_meaning.empty()) return {};
        if (v < spec.imin) return below(fmt::format("{}", spec.imin));
        if (v > spec.imax) return above(fmt::format("{}", spec.imax));
        return {};
    }

    // std::from_chars takes no leading '+' or space; "nan" and "inf" it does take: refused below.
    double v = 0;
    const auto [ptr, ec] = std::from_chars(first, last, v);
    if ((ec != std::errc{} && ec != std::errc::result_out_of_range) || ptr != last || std::isnan(v))
        return not_number();
    if (ec == std::errc::result_out_of_range) v = std::strtod(text.c_str(), nullptr);  // +-HUGE_VAL or ~0
    if (v == 0 && !spec.zero_meaning.empty()) return {};
    if (!(v >= spec.min)) return below(number_text(spec.min));
    if (!(v <= spec.max)) return above(number_text(spec.max));
    return {};
}

CLI::Validator number_option(number_spec spec) {
    std::string description =
        spec.unit.empty() ? range_text(spec) : fmt::format("{} {}", range_text(spec), spec.unit);
    return CLI::Validator([spec = std::move(spec)](std::string& s) { return check_number(s, spec); },
                          std::move(description));
}

CLI::Validator seconds_option(double min, double max, std::string zero_meaning) {
    return number_option({.unit = "seconds",
                          .min = std::max(min, min_seconds),
                          .max = max,
                          .zero_meaning = std::move(zero_meaning)});
}

CLI::Validator count_option(std::uint64_t min, std::uint64_t max, std::string unit,
                            std::string zero_meaning) {
    return number_option({.unit = std::move(unit),
                          .integer = true,
                          .imin = min,
                          .imax = max,
                          .zero_meaning = std::move(zero_meaning)});
}

CLI::Validator rate_option(double min, double max, std::string unit, std::string zero_meaning) {
    return number_option(
        {.unit = std::move(unit), .min = min, .max = max, .zero_meaning = std::move(zero_meaning)});
}

CLI::Validator port_option() {
    return number_option({.integer = true, .imin = 1, .imax = 65535, .what = "a port number"});
}

CLI::Validator ethertype_option() {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            if (parse_ethertype(s)) return {};
            return fmt::format("'{}' is not an EtherType: give 0x0600 to 0xffff (hex) or 1536 to 65535", s);
        },
        "ETHERTYPE 0x0600 to 0xffff");
}

std::chrono::milliseconds seconds_to_ms_ceil(double s) noexcept {
    return std::chrono::ceil<std::chrono::milliseconds>(seconds_to_ns(s));
}

}  // namespace nettool::cli
