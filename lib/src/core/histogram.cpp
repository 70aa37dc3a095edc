#include <nettool/core/histogram.hpp>

#include <algorithm>
#include <cmath>

namespace nettool {

namespace {
double midpoint(std::size_t i) noexcept {
    return (static_cast<double>(histogram::bucket_low(i)) + static_cast<double>(histogram::bucket_high(i))) /
           2.0;
}
}  // namespace

void histogram::merge(const histogram& other) noexcept {
    for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    saturated_ += other.saturated_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
}

double histogram::stddev() const noexcept {
    if (count_ < 2) return 0.0;
    const double m = mean();
    double acc = 0.0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        if (counts_[i] == 0) continue;
        const double v = std::clamp(midpoint(i), static_cast<double>(min_), static_cast<double>(max_));
        acc += static_cast<double>(counts_[i]) * (v - m) * (v - m);
    }
    return std::sqrt(acc / static_cast<double>(count_));
}

std::uint64_t histogram::percentile(double p) const noexcept {
    if (count_ == 0) return 0;
    if (!(p > 0.0)) return min();  // also catches NaN
    if (p >= 100.0) return max_;
    // Nearest rank: the smallest value with at least ceil(p/100 * n) values at or below it.
    auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        seen += counts_[i];
        if (seen >= rank) {
            const auto mid = static_cast<std::uint64_t>(std::llround(midpoint(i)));
            return std::clamp(mid, min(), max_);
        }
    }
    return max_;
}

}  // namespace nettool
