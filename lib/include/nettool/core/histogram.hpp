#pragma once
// A latency histogram in the manner of HdrHistogram: log-linear buckets in fixed memory.
//
// Values are nanoseconds. Below 256 ns every nanosecond has its own bucket; above, each power of
// two is split into 128 equal buckets, so a bucket is never wider than 1/128 of its lower bound
// and the midpoint reported for it is within 0.4% of any value it holds (the promise is <= 1%
// from 100 ns to 100 s). Values past max_trackable (2^41 ns, about 36 minutes) are clamped and counted
// in saturated(). Recording never allocates; histograms merge by adding counts.

#include <nettool/core/export.hpp>
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <limits>

NETTOOL_API_BEGIN
namespace nettool {

class histogram {
public:
    static constexpr unsigned sub_bucket_bits = 7;  // 128 buckets per octave
    static constexpr std::uint64_t sub_bucket_half = 1u << sub_bucket_bits;
    static constexpr unsigned max_exponent = 33;  // octaves above 256 ns
    static constexpr std::uint64_t max_trackable =
        ((2 * sub_bucket_half) << max_exponent) - 1;  // 2^41 - 1 ns, ~36.6 min
    static constexpr std::size_t bucket_count = sub_bucket_half * (max_exponent + 2);

    /// Records one value in nanoseconds. Constant time, no allocation.
    void record(std::uint64_t ns) noexcept {
        if (ns > max_trackable) {
            ns = max_trackable;
            ++saturated_;
        }
        ++counts_[index_of(ns)];
        ++count_;
        sum_ += ns;
        if (ns < min_) min_ = ns;
        if (ns > max_) max_ = ns;
    }
    void record(std::chrono::nanoseconds d) noexcept {
        record(d.count() < 0 ? 0 : static_cast<std::uint64_t>(d.count()));
    }

    /// Adds every value recorded in other to this histogram.
    void merge(const histogram& other) noexcept;
    void reset() noexcept { *this = histogram{}; }

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t saturated() const noexcept { return saturated_; }
    /// Exact sum of the recorded values (after clamping), ns.
    std::uint64_t sum() const noexcept { return sum_; }
    /// Values recorded in bucket i (0 for i out of range): to fold into coarser buckets.
    std::uint64_t count_at(std::size_t i) const noexcept { return i < bucket_count ? counts_[i] : 0; }
    /// Exact smallest and largest recorded values (0 when empty).
    std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
    std::uint64_t max() const noexcept { return max_; }
    /// Exact mean of the recorded values (after clamping).
    double mean() const noexcept { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
    /// Population standard deviation, from bucket midpoints.
    double stddev() const noexcept;
    /// The value at percentile p (0..100): the smallest recorded value v such that at least
    /// p% of values are <= v, reported as its bucket's midpoint clamped to [min, max].
    std::uint64_t percentile(double p) const noexcept;
    /// Values recorded in bucket i (0 for i past the last bucket); with bucket_low/high, the
    /// distribution itself, for reports that draw it (latency_summary's cdf).
    std::uint64_t bucket_count_at(std::size_t i) const noexcept { return i < bucket_count ? counts_[i] : 0; }

    /// Bucket index of a value; exposed for tests and benchmarks.
    static constexpr std::size_t index_of(std::uint64_t ns) noexcept {
        if (ns < 2 * sub_bucket_half) return static_cast<std::size_t>(ns);
        const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(ns));
        const unsigned e = msb - sub_bucket_bits;
        return static_cast<std::size_t>(sub_bucket_half * e + (ns >> e));
    }
    /// Lowest and highest value that map to bucket i.
    static constexpr std::uint64_t bucket_low(std::size_t i) noexcept {
        if (i < 2 * sub_bucket_half) return i;
        const std::uint64_t e = i / sub_bucket_half - 1;
        const std::uint64_t sub = i % sub_bucket_half + sub_bucket_half;
        return sub << e;
    }
    static constexpr std::uint64_t bucket_high(std::size_t i) noexcept {
        if (i < 2 * sub_bucket_half) return i;
        const std::uint64_t e = i / sub_bucket_half - 1;
        return bucket_low(i) + ((std::uint64_t{1} << e) - 1);
    }

    bool operator==(const histogram&) const = default;

private:
    std::array<std::uint64_t, bucket_count> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t saturated_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t max_ = 0;
};

static_assert(histogram::index_of(histogram::max_trackable) == histogram::bucket_count - 1);
static_assert(histogram::bucket_low(histogram::index_of(1000)) <= 1000);
static_assert(histogram::bucket_high(histogram::index_of(1000)) >= 1000);

}  // namespace nettool
NETTOOL_API_END
