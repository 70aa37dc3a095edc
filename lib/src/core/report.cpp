#include <nettool/core/report.hpp>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <utility>

namespace nettool {

latency_summary latency_summary::from(const histogram& h) {
    auto us = [](double ns) { return ns / 1000.0; };
    latency_summary s;
    s.count = h.count();
    if (s.count == 0) return s;
    s.min_us = us(static_cast<double>(h.min()));
    s.mean_us = us(h.mean());
    s.stddev_us = us(h.stddev());
    s.p50_us = us(static_cast<double>(h.percentile(50)));
    s.p90_us = us(static_cast<double>(h.percentile(90)));
    s.p99_us = us(static_cast<double>(h.percentile(99)));
    s.p999_us = us(static_cast<double>(h.percentile(99.9)));
    s.max_us = us(static_cast<double>(h.max()));

    // The cdf: one point per non-empty bucket, thinned so that consecutive points are at least
    // 1/(max_cdf_points - 2) apart in fraction (the last always kept): at most max_cdf_points.
    const double step = 1.0 / static_cast<double>(max_cdf_points - 2);
    const double total = static_cast<double>(s.count);
    const auto lo = static_cast<double>(h.min()), hi = static_cast<double>(h.max());
    std::uint64_t seen = 0;
    double last_kept = -1.0;
    for (std::size_t i = 0; i < histogram::bucket_count && seen < s.count; ++i) {
        const std::uint64_t n = h.bucket_count_at(i);
        if (n == 0) continue;
        seen += n;
        const double fraction = seen >= s.count ? 1.0 : static_cast<double>(seen) / total;
        if (fraction < 1.0 && last_kept >= 0 && fraction - last_kept < step) continue;
        const double mid = (static_cast<double>(histogram::bucket_low(i)) +
                            static_cast<double>(histogram::bucket_high(i))) / 2.0;
        // The last point is the exact largest sample, as max_us is.
        s.cdf.push_back({.value_us = us(fraction >= 1.0 ? hi : std::clamp(mid, lo, hi)), .fraction = fraction});
        last_kept = fraction;
    }
    return s;
}

void to_json(nlohmann::json& j, const latency_summary& s) {
    // Three decimals in microseconds keeps nanosecond precision without float noise.
    auto r = [](double v) { return std::round(v * 1000.0) / 1000.0; };
    j = nlohmann::json{{"count", s.count},        {"min_us", r(s.min_us)},
                       {"mean_us", r(s.mean_us)}, {"stddev_us", r(s.stddev_us)},
                       {"p50_us", r(s.p50_us)},   {"p90_us", r(s.p90_us)},
                       {"p99_us", r(s.p99_us)},   {"p999_us", r(s.p999_us)},
                       {"max_us", r(s.max_us)}};
    if (!s.cdf.empty()) {
        auto points = nlohmann::json::array();
        for (const auto& p : s.cdf) points.push_back({r(p.value_us), std::round(p.fraction * 1e6) / 1e6});
        j["cdf"] = std::move(points);
    }
}

void from_json(const nlohmann::json& j, latency_summary& s) {
    j.at("count").get_to(s.count);
    j.at("min_us").get_to(s.min_us);
    j.at("mean_us").get_to(s.mean_us);
    j.at("stddev_us").get_to(s.stddev_us);
    j.at("p50_us").get_to(s.p50_us);
    j.at("p90_us").get_to(s.p90_us);
    j.at("p99_us").get_to(s.p99_us);
    j.at("p999_us").get_to(s.p999_us);
    j.at("max_us").get_to(s.max_us);
    s.cdf.clear();
    if (const auto it = j.find("cdf"); it != j.end())
        for (const auto& p : *it) s.cdf.push_back({.value_us = p.at(0).get<double>(), .fraction = p.at(1).get<double>()});
}

namespace {
// Display width in terminal columns: count UTF-8 lead bytes only.
std::size_t width(const std::string& s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char ch) { return (static_cast<unsigned char>(ch) & 0xC0) != 0x80; }));
}
}  // namespace

std::string table::render() const {
    std::size_t ncol = header.size();
    for (const auto& r : rows) ncol = std::max(ncol, r.size());
    std::vector<std::size_t> w(ncol, 0);
    auto measure = [&](const std::vector<std::string>& r) {
        for (std::size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], width(r[i]));
    };
    measure(header);
    for (const auto& r : rows) measure(r);

    fmt::memory_buffer out;
    auto line = [&](const std::vector<std::string>& r) {
        for (std::size_t i = 0; i < ncol; ++i) {
            const std::string empty;
            const std::string& cell = i < r.size() ? r[i] : empty;
            const std::size_t pad = w[i] - width(cell);
            // The first column names the row; the others hold values and align right.
            const bool right = i > 0;
            if (i > 0) fmt::format_to(std::back_inserter(out), "  ");
            if (right)
                fmt::format_to(std::back_inserter(out), "{:{}}{}", "", pad, cell);
            else if (i + 1 < ncol)
                fmt::format_to(std::back_inserter(out), "{}{:{}}", cell, "", pad);
            else
                fmt::format_to(std::back_inserter(out), "{}", cell);
        }
        // Trim trailing blanks so the output diffs cleanly.
        while (out.size() > 0 && out.data()[out.size() - 1] == ' ') out.resize(out.size() - 1);
        out.push_back('\n');
    };
    if (!title.empty()) fmt::format_to(std::back_inserter(out), "{}\n", title);
    if (!header.empty()) {
        line(header);
        std::size_t total = 0;
        for (std::size_t i = 0; i < ncol; ++i) total += w[i] + (i > 0 ? 2 : 0);
        fmt::format_to(std::back_inserter(out), "{:-<{}}\n", "", total);
    }
    for (const auto& r : rows) line(r);
    return fmt::to_string(out);
}

report::report(std::string command)
    : command_(std::move(command)), data_(std::make_unique<nlohmann::json>(nlohmann::json::object())) {}
report::report(const report& other)
    : command_(other.command_),
      data_(std::make_unique<nlohmann::json>(*other.data_)),
      tables_(other.tables_),
      readings_(other.readings_) {}
report& report::operator=(const report& other) {
    if (this != &other) *this = report(other);
    return *this;
}
// A moved-from report keeps an empty body, so data() stays valid.
report::report(report&& other) noexcept
    : command_(std::move(other.command_)),
      data_(std::exchange(other.data_, std::make_unique<nlohmann::json>(nlohmann::json::object()))),
      tables_(std::move(other.tables_)),
      readings_(std::move(other.readings_)) {}
report& report::operator=(report&& other) noexcept {
    command_ = std::move(other.command_);
    data_.swap(other.data_);
    tables_ = std::move(other.tables_);
    readings_ = std::move(other.readings_);
    return *this;
}
report::~report() = default;

std::string report::to_text() const {
    std::string out;
    for (std::size_t i = 0; i < tables_.size(); ++i) {
        if (i > 0) out += '\n';
        out += tables_[i].render();
    }
    if (!readings_.empty()) {
        if (!out.empty()) out += '\n';
        for (const auto& r : readings_) out += r + '\n';
    }
    return out;
}

nlohmann::json report::to_json() const {
    // nlohmann::json sorts object keys; ordered_json would keep insertion order, but consumers
    // must not depend on key order anyway. schema_version and command are always present.
    nlohmann::json j = data_->is_object() ? *data_ : nlohmann::json::object();
    j["schema_version"] = json_schema_version;
    j["command"] = command_;
    if (!readings_.empty()) j["readings"] = readings_;
    return j;
}

std::string format_duration_us(double us) {
    if (!std::isfinite(us)) return "-";
    const double a = std::fabs(us);
    if (a < 1.0) return fmt::format("{:.0f} ns", us * 1000.0);
    if (a < 10.0) return fmt::format("{:.2f} us", us);
    if (a < 1000.0) return fmt::format("{:.1f} us", us);
    if (a < 10'000.0) return fmt::format("{:.2f} ms", us / 1000.0);
    if (a < 1'000'000.0) return fmt::format("{:.1f} ms", us / 1000.0);
    return fmt::format("{:.3f} s", us / 1e6);
}

std::string format_duration(std::chrono::nanoseconds d) {
    return format_duration_us(static_cast<double>(d.count()) / 1000.0);
}

namespace {
std::string si(double v, std::string_view unit) {
    static constexpr const char* prefixes[] = {"", "k", "M", "G", "T", "P"};
    std::size_t i = 0;
    double a = std::fabs(v);
    while (a >= 1000.0 && i + 1 < std::size(prefixes)) {
        a /= 1000.0;
        v /= 1000.0;
        ++i;
    }
    if (i == 0) return fmt::format("{:.0f} {}", v, unit);
    return fmt::format("{:.{}f} {}{}", v, a < 10 ? 2 : 1, prefixes[i], unit);
}
}  // namespace

std::string format_bits_per_second(double bps) {
    return si(bps, "bit/s");
}
std::string format_bytes(double bytes) {
    return si(bytes, "B");
}
std::string format_rate(double per_second, std::string_view unit) {
    return si(per_second, fmt::format("{}/s", unit));
}
std::string format_percent(double fraction) {
    return fmt::format("{:.2f}%", fraction * 100.0);
}
std::string format_percentile(const histogram& h, double q) {
    return h.count() ? format_duration_us(static_cast<double>(h.percentile(q)) / 1000.0) : "-";
}

table latency_table(std::string title, const histogram& h) {
    table t{std::move(title), {"count", "min", "p50", "p90", "p99", "p99.9", "max", "mean", "stddev"}, {}};
    const auto s = latency_summary::from(h);
    t.add_row({std::to_string(h.count()), format_duration_us(s.min_us), format_percentile(h, 50),
               format_percentile(h, 90), format_percentile(h, 99), format_percentile(h, 99.9),
               format_duration_us(s.max_us), format_duration_us(s.mean_us), format_duration_us(s.stddev_us)});
    return t;
}

}  // namespace nettool
