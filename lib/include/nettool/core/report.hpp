#pragma once
// The result model every command fills, and its two renderings: a human table (fmt) and one JSON
// document (nlohmann-json). docs/JSON.md is the contract for the JSON side.
//
// A report carries the command name, a JSON body built from value-type results (each result
// type provides to_json in its own header), tables for people, and a few plain sentences that
// read the numbers ("readings").

#include <nettool/core/export.hpp>
#include <nettool/core/histogram.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <memory>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

/// Version of the JSON document layout; bumped on any incompatible change (docs/JSON.md).
inline constexpr int json_schema_version = 1;

/// One point of a latency distribution: the fraction of samples at or below value_us.
struct cdf_point {
    double value_us = 0;
    double fraction = 0;
    bool operator==(const cdf_point&) const = default;
};

/// The most points latency_summary::cdf holds, whatever the number of samples.
inline constexpr std::size_t max_cdf_points = 200;

/// A latency summary in microseconds: the one shape every latency takes in JSON.
struct latency_summary {
    std::uint64_t count = 0;
    double min_us = 0, mean_us = 0, stddev_us = 0;
    double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
    /// The distribution behind the percentiles, from the histogram's buckets (each value its
    /// bucket's midpoint clamped to [min, max], as percentiles are): at most max_cdf_points
    /// points, increasing in both members, the last [max_us, 1]. Empty when count is 0.
    std::vector<cdf_point> cdf{};

    /// Allocates (the cdf): call it when the report is made, not per sample.
    static latency_summary from(const histogram& h);
    bool operator==(const latency_summary&) const = default;
};
void to_json(nlohmann::json& j, const latency_summary& s);
void from_json(const nlohmann::json& j, latency_summary& s);

/// A table for people: a title, a header row and string cells. The first column (row names)
/// aligns left, the value columns align right.
struct table {
    std::string title;
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;

    void add_row(std::vector<std::string> r) { rows.push_back(std::move(r)); }
    std::string render() const;
};

class report {
public:
    explicit report(std::string command);
    report(const report& other);
    report& operator=(const report& other);
    report(report&&) noexcept;
    report& operator=(report&&) noexcept;
    ~report();

    const std::string& command() const noexcept { return command_; }
    /// The JSON body; its members appear after schema_version and command.
    nlohmann::json& data() noexcept { return *data_; }
    const nlohmann::json& data() const noexcept { return *data_; }

    void add_table(table t) { tables_.push_back(std::move(t)); }
    /// One plain sentence that reads the numbers for a person.
    void add_reading(std::string sentence) { readings_.push_back(std::move(sentence)); }

    const std::vector<table>& tables() const noexcept { return tables_; }
    const std::vector<std::string>& readings() const noexcept { return readings_; }

    /// Tables then readings, for a terminal.
    std::string to_text() const;
    /// {"schema_version": N, "command": "...", ...data}; readings under "readings" when any.
    nlohmann::json to_json() const;

private:
    std::string command_;
    // Held by pointer so this header needs only <nlohmann/json_fwd.hpp>; never null.
    std::unique_ptr<nlohmann::json> data_;
    std::vector<table> tables_;
    std::vector<std::string> readings_;
};

// Number formatting with units, shared by every renderer.
/// "812 ns", "41.3 us", "4.10 ms", "2.500 s".
std::string format_duration_us(double us);
std::string format_duration(std::chrono::nanoseconds d);
/// "941.2 Mbit/s" (SI, as iperf3 prints).
std::string format_bits_per_second(double bps);
/// "1.23 MB" (SI) for byte totals.
std::string format_bytes(double bytes);
/// "12.3 k/s" style rates for packets or queries.
std::string format_rate(double per_second, std::string_view unit);
/// "2.10%".
std::string format_percent(double fraction);
/// Percentile q of a latency histogram (ns) as a duration ("41.3 us"), or "-" when it is empty.
std::string format_percentile(const histogram& h, double q);

// Pieces of reports that several commands share.
/// The one latency table: a title, then count, min, p50, p90, p99, p99.9, max, mean and stddev
/// of a histogram of nanoseconds (percentiles "-" when it is empty).
table latency_table(std::string title, const histogram& h);

}  // namespace nettool
NETTOOL_API_END
