#pragma once
// The Prometheus text exposition format (version 0.0.4), written: families with HELP and TYPE,
// samples with escaped label values, histograms as _bucket{le=...}/_sum/_count in seconds.
// One writer, so every endpoint (/metrics, /probe, serve --metrics) escapes the same way.

#include <nettool/core/export.hpp>
#include <nettool/core/histogram.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool::exporter {

/// A label value as the text format wants it: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view v);
/// HELP text: backslash and newline escaped.
std::string escape_help(std::string_view v);

using label = std::pair<std::string_view, std::string_view>;

/// The upper bounds (seconds) of the latency histograms nettool exposes: 25 us to 10 s, about
/// three per decade, as Prometheus's own defaults but reaching down to loopback round trips.
inline constexpr std::array<double, 19> latency_buckets_s = {
    0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,     0.1,     0.25,   0.5,     1,      2.5,   5,      10,    30};

/// Cumulative Prometheus buckets of latencies (counts per latency_buckets_s bound, +Inf = count),
/// with the exact sum. Folding a nettool histogram assigns each of its buckets (at most 0.8% wide)
/// by its midpoint.
struct latency_buckets {
    std::array<std::uint64_t, latency_buckets_s.size()> le{};  ///< not yet cumulative: per bucket
    std::uint64_t count = 0;
    double sum_s = 0;
    void add(const histogram& h) noexcept;
    void add_seconds(double s) noexcept;
    bool operator==(const latency_buckets&) const = default;
};

class exposition {
public:
    /// Starts a family: "# HELP name help" and "# TYPE name type" (counter, gauge, histogram).
    void family(std::string_view name, std::string_view type, std::string_view help);
    /// One sample line: name{l1="v1",...} value. Non-finite values are written as Prometheus
    /// spells them (NaN, +Inf, -Inf).
    void sample(std::string_view name, std::initializer_list<label> labels, double value);
    void sample(std::string_view name, const std::vector<label>& labels, double value);
    /// name_bucket{...,le="..."} for each bound and +Inf, name_sum, name_count.
    void histogram_samples(std::string_view name, const std::vector<label>& labels, const latency_buckets& b);
    const std::string& text() const noexcept { return out_; }
    std::string take() noexcept { return std::move(out_); }

private:
    std::string out_;
    std::string suffixed_;          // histogram_samples' name_bucket/_sum/_count, reused
    std::vector<label> with_le_;  // histogram_samples' labels and le, reused
};

/// The Content-Type of the text format.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace nettool::exporter
NETTOOL_API_END
