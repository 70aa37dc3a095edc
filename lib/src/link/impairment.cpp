// The parsers of the link emulator's option values, and describe(). The engine is in pipe.cpp.
//
// Every number goes through parse_decimal(): std::from_chars, then a finiteness check (from_chars
// accepts "inf" and "nan"), then the caller's range check. Errors are nettool::error with
// errc::bad_argument and a sentence that names the option, the offending text and the valid range;
// the trace reader's errors are errc::malformed with the 1-based line number.
#include <nettool/link/impairment.hpp>

#include <nettool/core/error.hpp>
#include <nettool/core/line_reader.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

namespace nettool::link {
namespace {

using namespace std::chrono_literals;

[[noreturn]] void bad(std::string sentence) {
    throw nettool::error(errc::bad_argument, std::move(sentence));
}

char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

/// Splits "12.5mbit" into the number "12.5" and the unit "mbit". The number is the longest
/// prefix made of digits, '.', '-', '+', 'e' followed by a digit or sign (so "1e3ms" works
/// but "1ms" keeps its unit), and the letters of "inf"/"nan" so those are rejected by name.
std::pair<std::string_view, std::string_view> split_unit(std::string_view text) noexcept {
    std::size_t i = 0;
    auto is_num = [](char c) { return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+'; };
    while (i < text.size()) {
        const char c = text[i];
        if (is_num(c)) {
            ++i;
        } else if ((c == 'e' || c == 'E') && i > 0 && i + 1 < text.size() && is_num(text[i + 1])) {
            i += 2;
        } else {
            break;
        }
    }
    if (i == 0) {
        // "inf", "nan", "infinity": let the number parser see them, so the error says "not finite".
        for (std::string_view word : {"infinity", "inf", "nan"})
            if (text.size() >= word.size() && iequals(text.substr(0, word.size()), word))
                return {text.substr(0, word.size()), text.substr(word.size())};
    }
    return {text.substr(0, i), text.substr(i)};
}

/// A finite decimal number, all of `text`; nullopt for anything else (empty, junk, inf, nan).
std::optional<double> parse_decimal(std::string_view text) noexcept {
    if (text.empty()) return std::nullopt;
    if (text.front() == '+') text.remove_prefix(1);
    double v = 0;
    const auto* first = text.data();
    const auto* last = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(first, last, v, std::chars_format::general);
    if (ec != std::errc{} || ptr != last || !std::isfinite(v)) return std::nullopt;
    return v;
}

/// An unsigned decimal integer, all of `text`.
std::optional<std::uint64_t> parse_unsigned(std::string_view text) noexcept {
    if (text.empty()) return std::nullopt;
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 10);
    if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
    return v;
}

std::string quoted(std::string_view text) {
    return fmt::format("'{}'", text);
}

// ---- the value parsers, labelled with the option they serve ("--rate", "--link up-rate") ----

std::uint64_t rate_value(std::string_view text, std::string_view label) {
    if (text.empty()) bad(fmt::format("{}: empty value: give a rate such as 10mbit or 1.5gbit", label));
    const auto [num, unit_text] = split_unit(text);
    const std::string_view unit = unit_text;
    auto v = parse_decimal(num);
    if (!v)
        bad(fmt::format("{}: {} is not a rate: give a finite number and a unit, such as 10mbit or 1.5gbit",
                        label, quoted(text)));
    struct unit_row {
        std::string_view name;
        double bits;
    };
    static constexpr std::array<unit_row, 10> units{{{"bit", 1.0},
                                                     {"kbit", 1e3},
                                                     {"mbit", 1e6},
                                                     {"gbit", 1e9},
                                                     {"tbit", 1e12},
                                                     {"bps", 8.0},
                                                     {"kbps", 8e3},
                                                     {"mbps", 8e6},
                                                     {"gbps", 8e9},
                                                     {"tbps", 8e12}}};
    if (unit.empty())
        bad(fmt::format("{}: {} has no unit: write e.g. {}kbit or {}mbit (bit/s), or mbps for bytes/s", label,
                        quoted(text), num, num));
    const auto row =
        std::find_if(units.begin(), units.end(), [&](const unit_row& r) { return iequals(r.name, unit); });
    if (row == units.end())
        bad(
            fmt::format("{}: {} has an unknown unit '{}': give bit, kbit, mbit, gbit or tbit (bit/s), "
                        "or bps, kbps, mbps, gbps (bytes/s)",
                        label, quoted(text), unit));
    const double bps = *v * row->bits;
    if (!(bps >= 1e3 && bps <= 400e9))
        bad(fmt::format("{}: {} is out of range: give 1kbit to 400gbit", label, quoted(text)));
    return static_cast<std::uint64_t>(std::llround(bps));
}

double percent_value(std::string_view text, std::string_view label) {
    if (text.empty()) bad(fmt::format("{}: empty value: give a percentage from 0 to 100%", label));
    std::string_view num = text;
    if (num.back() == '%') num.remove_suffix(1);
    auto v = parse_decimal(num);
    if (!v)
        bad(fmt::format("{}: {} is not a percentage: give a number from 0 to 100, e.g. 1% or 0.5%", label,
                        quoted(text)));
    if (*v < 0.0 || *v > 100.0)
        bad(fmt::format("{}: {} is out of range: give 0 to 100%", label, quoted(text)));
    return *v / 100.0;
}

/// A duration in [min, max]; a bare number is milliseconds.
std::chrono::nanoseconds duration_value(std::string_view text, std::string_view label,
                                        std::chrono::nanoseconds min, std::chrono::nanoseconds max,
                                        std::string_view range_text) {
    if (text.empty()) bad(fmt::format("{}: empty value: give a duration such as 20ms, 250us or 1s", label));
    const auto [num, unit_text] = split_unit(text);
    const std::string_view unit = unit_text;
    auto v = parse_decimal(num);
    if (!v)
        bad(fmt::format(
            "{}: {} is not a duration: give a finite number and a unit, such as 20ms, 250us or 1s", label,
            quoted(text)));
    double ns_per_unit = 0;
    if (unit.empty() || iequals(unit, "ms") || iequals(unit, "msec")) {
        ns_per_unit = 1e6;
    } else if (iequals(unit, "us") || iequals(unit, "usec")) {
        ns_per_unit = 1e3;
    } else if (iequals(unit, "ns") || iequals(unit, "nsec")) {
        ns_per_unit = 1.0;
    } else if (iequals(unit, "s") || iequals(unit, "sec")) {
        ns_per_unit = 1e9;
    } else {
        bad(fmt::format("{}: {} has an unknown unit '{}': give ns, us, ms or s (a bare number is ms)", label,
                        quoted(text), unit));
    }
    const double ns = *v * ns_per_unit;
    if (!(ns >= static_cast<double>(min.count()) && ns <= static_cast<double>(max.count())))
        bad(fmt::format("{}: {} is out of range: give {}", label, quoted(text), range_text));
    return std::chrono::nanoseconds{std::llround(ns)};
}

std::chrono::nanoseconds delay_value(std::string_view text, std::string_view label) {
    return duration_value(text, label, 0ns, 60s, "0 to 60s");
}

jitter_distribution distribution_value(std::string_view text, std::string_view label) {
    if (text == "uniform") return jitter_distribution::uniform;
    if (text == "normal") return jitter_distribution::normal;
    if (text == "pareto") return jitter_distribution::pareto;
    bad(fmt::format("{}: {} is not a distribution: give uniform, normal or pareto", label, quoted(text)));
}

gilbert_elliott loss_model_value(std::string_view text, std::string_view label) {
    constexpr std::string_view usage = "give ge:p,r[,1-h[,1-k]] in percent, e.g. ge:1%,30%";
    if (text.size() < 3 || !iequals(text.substr(0, 3), "ge:"))
        bad(fmt::format("{}: {} is not a loss model: {}", label, quoted(text), usage));
    std::string_view rest = text.substr(3);
    std::array<double, 4> values{0.0, 1.0, 1.0, 0.0};
    static constexpr std::array<std::string_view, 4> names{"p", "r", "1-h", "1-k"};
    std::size_t n = 0;
    while (true) {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        if (n == values.size())
            bad(fmt::format("{}: {} has more than four values: {}", label, quoted(text), usage));
        values[n] = percent_value(item, fmt::format("{} ({})", label, names[n]));
        ++n;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    if (n < 2) bad(fmt::format("{}: {} needs at least p and r: {}", label, quoted(text), usage));
    return {.p = values[0], .r = values[1], .loss_in_bad = values[2], .loss_in_good = values[3]};
}

queue_config queue_value(std::string_view text, std::string_view label) {
    constexpr std::string_view usage =
        "give droptail[:packets=N][,bytes=N] or codel[:target=5ms][,interval=100ms][,packets=N][,bytes=N]";
    queue_config q;
    const auto colon = text.find(':');
    const std::string_view name = text.substr(0, colon);
    if (name == "droptail") {
        q.discipline = queue_discipline::droptail;
    } else if (name == "codel") {
        q.discipline = queue_discipline::codel;
    } else {
        bad(fmt::format("{}: {} is not a queue: {}", label, quoted(text), usage));
    }
    if (colon == std::string_view::npos) return q;
    std::string_view rest = text.substr(colon + 1);
    while (true) {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        const auto eq = item.find('=');
        const std::string_view key = item.substr(0, eq);
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
        if (eq == std::string_view::npos)
            bad(fmt::format("{}: {} in {} is not NAME=VALUE: {}", label, quoted(item), quoted(text), usage));
        if (key == "packets" || key == "bytes") {
            const bool packets = key == "packets";
            const std::uint64_t max = packets ? 10'000'000 : 10'000'000'000;
            auto v = parse_unsigned(value);
            if (!v || *v < 1 || *v > max)
                bad(fmt::format("{}: {}={} is out of range: give {}=1 to {}", label, key, quoted(value), key,
                                max));
            (packets ? q.max_packets : q.max_bytes) = *v;
        } else if ((key == "target" || key == "interval") && q.discipline == queue_discipline::codel) {
            auto d = duration_value(value, fmt::format("{} {}", label, key), 1us, 60s, "1us to 60s");
            (key == "target" ? q.codel_target : q.codel_interval) = d;
        } else {
            bad(fmt::format("{}: unknown queue parameter {} in {}: {}", label, quoted(key), quoted(text),
                            usage));
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return q;
}

// ---- the trace reader ----

constexpr std::size_t max_trace_lines = 10'000'000;

[[noreturn]] void bad_trace(std::size_t line, std::string what) {
    throw nettool::error(errc::malformed, fmt::format("trace line {}: {}", line, what));
}

std::string printable(std::span<const std::byte> bytes) {
    std::string s;
    for (auto b : bytes.first(std::min<std::size_t>(bytes.size(), 40))) {
        const auto c = std::to_integer<unsigned char>(b);
        s += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    }
    if (bytes.size() > 40) s += "...";
    return s;
}

// ---- describe() helpers ----

std::string duration_text(std::chrono::nanoseconds d) {
    const auto ns = static_cast<double>(d.count());
    if (d >= 1s) return fmt::format("{:g} s", ns / 1e9);
    if (d >= 1ms) return fmt::format("{:g} ms", ns / 1e6);
    if (d >= 1us) return fmt::format("{:g} us", ns / 1e3);
    return fmt::format("{} ns", d.count());
}

std::string rate_text(std::uint64_t bps) {
    const auto v = static_cast<double>(bps);
    if (bps >= 1'000'000'000) return fmt::format("{:g} Gbit/s", v / 1e9);
    if (bps >= 1'000'000) return fmt::format("{:g} Mbit/s", v / 1e6);
    if (bps >= 1'000) return fmt::format("{:g} kbit/s", v / 1e3);
    return fmt::format("{} bit/s", bps);
}

std::string percent_text(double fraction) {
    return fmt::format("{:g}%", fraction * 100.0);
}

// ---- the --link spec ----

constexpr std::array<std::string_view, 12> spec_keys{"delay",      "jitter",  "distribution", "loss",
                                                     "loss-model", "reorder", "duplicate",    "corrupt",
                                                     "rate",       "queue",   "trace",        "seed"};

/// The key of "up-delay" without its prefix, and which directions it names.
struct spec_key {
    std::string_view name;
    bool up = true;
    bool down = true;
};

std::optional<spec_key> known_key(std::string_view key) noexcept {
    spec_key k{.name = key};
    if (key.starts_with("up-")) {
        k = {.name = key.substr(3), .up = true, .down = false};
    } else if (key.starts_with("down-")) {
        k = {.name = key.substr(5), .up = false, .down = true};
    }
    if (std::find(spec_keys.begin(), spec_keys.end(), k.name) == spec_keys.end()) return std::nullopt;
    if (k.name == "seed" && !(k.up && k.down)) return std::nullopt;  // one seed for the link
    return k;
}

void apply_key(direction_config& d, std::string_view name, std::string_view value, std::string_view label) {
    if (name == "delay") {
        d.delay = delay_value(value, label);
    } else if (name == "jitter") {
        d.jitter = delay_value(value, label);
    } else if (name == "distribution") {
        d.distribution = distribution_value(value, label);
    } else if (name == "loss") {
        d.loss = percent_value(value, label);
    } else if (name == "loss-model") {
        d.burst_loss = loss_model_value(value, label);
    } else if (name == "reorder") {
        d.reorder = percent_value(value, label);
    } else if (name == "duplicate") {
        d.duplicate = percent_value(value, label);
    } else if (name == "corrupt") {
        d.corrupt = percent_value(value, label);
    } else if (name == "rate") {
        d.rate_bps = rate_value(value, label);
    } else if (name == "queue") {
        d.queue = queue_value(value, label);
    } else if (name == "trace") {
        if (value.empty()) bad(fmt::format("{}: empty value: give the path of a mahimahi trace file", label));
        // A trace file the spec names that cannot be read or is not a trace is a bad value of the
        // spec (errc::bad_argument, as every other error of the spec), whatever the OS said.
        try {
            d.trace_ms = load_trace(std::string{value});
        } catch (const nettool::error& e) {
            bad(fmt::format("{}: {}", label, e.what()));
        }
    }
}

void check_direction(const direction_config& d, std::string_view which) {
    if (d.rate_bps != 0 && !d.trace_ms.empty())
        bad(fmt::format("--link: the {} has both a rate and a trace: give one of them", which));
}

}  // namespace

std::uint64_t parse_rate(std::string_view text, std::string_view option) {
    return rate_value(text, option);
}

double parse_percent(std::string_view text, std::string_view option) {
    return percent_value(text, option);
}

std::chrono::nanoseconds parse_delay(std::string_view text, std::string_view option) {
    return delay_value(text, option);
}

gilbert_elliott parse_loss_model(std::string_view text, std::string_view option) {
    return loss_model_value(text, option);
}

queue_config parse_queue(std::string_view text, std::string_view option) {
    return queue_value(text, option);
}

jitter_distribution parse_distribution(std::string_view text, std::string_view option) {
    return distribution_value(text, option);
}

namespace {

// What a trace file may hold: the line cap itself is parse_trace's (its error names the line), so
// the reader allows one line more; a valid line is at most 10 digits and CRLF.
constexpr line_limits trace_limits{.max_line_bytes = 64,
                                   .max_lines = max_trace_lines + 1,
                                   .max_bytes = (max_trace_lines + 1) * 12};

std::vector<std::uint32_t> parse_trace_lines(line_reader& in) {
    std::vector<std::uint32_t> out;
    std::size_t line = 0;
    while (auto text = in.next()) {
        line = in.line_number();
        if (line > max_trace_lines)
            bad_trace(line, fmt::format("the trace has over {} lines", max_trace_lines));
        std::uint64_t ms = 0;
        bool too_big = false;
        bool bad_char = text->empty();
        for (const char ch : *text) {
            if (ch >= '0' && ch <= '9') {
                ms = ms * 10 + static_cast<std::uint64_t>(ch - '0');
                if (ms > std::numeric_limits<std::uint32_t>::max()) {
                    too_big = true;
                    ms = 0;
                }
            } else {
                bad_char = true;
            }
        }
        if (text->empty()) bad_trace(line, "empty line: give one millisecond timestamp per line");
        if (bad_char)
            bad_trace(line, fmt::format("'{}' is not a millisecond timestamp (a non-negative integer)",
                                        printable(std::as_bytes(std::span{text->data(), text->size()}))));
        if (too_big)
            bad_trace(line,
                      fmt::format("timestamp is over {} ms", std::numeric_limits<std::uint32_t>::max()));
        const auto v = static_cast<std::uint32_t>(ms);
        if (!out.empty() && v < out.back())
            bad_trace(line,
                      fmt::format("timestamp {} ms is before the previous one ({} ms): timestamps must not "
                                  "decrease",
                                  v, out.back()));
        out.push_back(v);
    }
    if (out.empty())
        throw nettool::error(errc::malformed, "trace: empty: give one millisecond timestamp per line");
    if (out.back() == 0)
        throw nettool::error(errc::malformed,
                             fmt::format("trace line {}: the last timestamp is 0: the trace needs a non-zero "
                                         "period (its last timestamp)",
                                         line));
    return out;
}

}  // namespace

std::vector<std::uint32_t> parse_trace(std::span<const std::byte> text) {
    auto in = line_reader::from_text(text, "trace", trace_limits);
    return parse_trace_lines(in);
}

std::vector<std::uint32_t> parse_trace(std::span<const std::byte> text, std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return parse_trace(text); });
}

std::vector<std::uint32_t> load_trace(const std::string& path) {
    // Streamed through the bounded line reader: an endless file (/dev/zero) is an error after a
    // bounded read, and the file is never held in memory, only its timestamps.
    std::optional<line_reader> in;
    try {
        in.emplace(line_reader::open(path, trace_limits));
    } catch (const nettool::error& e) {
        throw nettool::error(e.code(), fmt::format("{}: cannot open the trace: {}", path, e.code().message()));
    }
    try {
        return parse_trace_lines(*in);
    } catch (const nettool::error& e) {
        // The reader's own errors already name the file ("<path> line 1: a NUL byte ...").
        if (std::string_view{e.what()}.starts_with(path)) throw;
        throw nettool::error(e.code(), fmt::format("{}: {}", path, e.what()));
    }
}

link_config parse_link_spec(std::string_view text) {
    constexpr std::string_view usage =
        "give KEY=VALUE[,KEY=VALUE...] with KEY one of delay, jitter, distribution, loss, loss-model, "
        "reorder, "
        "duplicate, corrupt, rate, queue, trace, seed (prefix up- or down- for one direction)";
    if (text.empty()) bad(fmt::format("--link: empty: {}", usage));

    // Split on ',' into KEY=VALUE items. The values of loss-model and queue contain commas of their
    // own ("loss-model=ge:1%,30%", "queue=codel:target=5ms,interval=100ms"): a piece that does not
    // start with a known KEY= continues the previous item when that item's key is one of those two.
    struct item {
        std::string_view key;  // as written, with its prefix
        spec_key which;
        std::size_t begin;  // value's span in text
        std::size_t end;
    };
    std::vector<item> items;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const auto comma = text.find(',', pos);
        const std::size_t piece_end = comma == std::string_view::npos ? text.size() : comma;
        const std::string_view piece = text.substr(pos, piece_end - pos);
        const auto eq = piece.find('=');
        const std::string_view key = piece.substr(0, eq);
        const auto which = eq == std::string_view::npos ? std::nullopt : known_key(key);
        if (which) {
            items.push_back({.key = key, .which = *which, .begin = pos + eq + 1, .end = piece_end});
        } else if (!items.empty() &&
                   (items.back().which.name == "queue" || items.back().which.name == "loss-model")) {
            items.back().end = piece_end;
        } else if (eq == std::string_view::npos) {
            bad(fmt::format("--link: {} is not KEY=VALUE: {}", quoted(piece), usage));
        } else {
            bad(fmt::format("--link: unknown key {}: {}", quoted(key), usage));
        }
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    for (std::size_t i = 0; i < items.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (items[i].key == items[j].key)
                bad(fmt::format("--link: {} is given twice", quoted(items[i].key)));

    // Keys for both directions first, then the up-/down- ones, whatever the order they were written in.
    link_config config;
    for (const bool prefixed : {false, true}) {
        for (const auto& it : items) {
            const bool is_prefixed = !(it.which.up && it.which.down);
            if (is_prefixed != prefixed) continue;
            const std::string_view value = text.substr(it.begin, it.end - it.begin);
            const std::string label = fmt::format("--link {}", it.key);
            if (it.which.name == "seed") {
                auto v = parse_unsigned(value);
                if (!v)
                    bad(fmt::format("{}: {} is not a seed: give an integer from 0 to {}", label,
                                    quoted(value), std::numeric_limits<std::uint64_t>::max()));
                config.seed = *v;
                continue;
            }
            if (it.which.up) apply_key(config.uplink, it.which.name, value, label);
            if (it.which.down) apply_key(config.downlink, it.which.name, value, label);
        }
    }
    check_direction(config.uplink, "uplink");
    check_direction(config.downlink, "downlink");
    return config;
}

std::string describe(const direction_config& c) {
    std::string out;
    auto add = [&](std::string part) {
        if (!out.empty()) out += ", ";
        out += part;
    };
    if (c.delay.count() != 0 || c.jitter.count() != 0) {
        std::string d = fmt::format("delay {}", duration_text(c.delay));
        if (c.jitter.count() != 0) {
            static constexpr std::array<std::string_view, 3> names{"uniform", "normal", "pareto"};
            d += fmt::format(" +- {} ({})", duration_text(c.jitter),
                             names[static_cast<std::size_t>(c.distribution)]);
        }
        add(std::move(d));
    }
    if (c.burst_loss) {
        const auto& g = *c.burst_loss;
        add(fmt::format("burst loss ge {}/{}/{}/{}", percent_text(g.p), percent_text(g.r),
                        percent_text(g.loss_in_bad), percent_text(g.loss_in_good)));
    } else if (c.loss != 0.0) {
        add(fmt::format("loss {}", percent_text(c.loss)));
    }
    if (c.reorder != 0.0) add(fmt::format("reorder {}", percent_text(c.reorder)));
    if (c.duplicate != 0.0) add(fmt::format("duplicate {}", percent_text(c.duplicate)));
    if (c.corrupt != 0.0) add(fmt::format("corrupt {}", percent_text(c.corrupt)));
    const bool bottleneck = c.rate_bps != 0 || !c.trace_ms.empty();
    if (bottleneck) {
        std::string q = c.queue.discipline == queue_discipline::codel ? "codel" : "droptail";
        if (c.queue.max_packets != 0) q += fmt::format(" {} packets", c.queue.max_packets);
        if (c.queue.max_bytes != 0) q += fmt::format(" {} bytes", c.queue.max_bytes);
        if (c.rate_bps != 0) {
            add(fmt::format("rate {} ({})", rate_text(c.rate_bps), q));
        } else {
            add(fmt::format("trace {} opportunities per {} ms ({})", c.trace_ms.size(), c.trace_ms.back(),
                            q));
        }
    }
    return out.empty() ? std::string{"no impairment"} : out;
}

}  // namespace nettool::link
