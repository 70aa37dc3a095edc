// Small arithmetic the tests share: how far two counts are apart, and a histogram of one value.
#pragma once

#include <nettool/core/histogram.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace nettool::test {

/// |a - b| / b (b taken as at least 1): how far a count is from the one it is checked against.
inline double relative_difference(std::uint64_t a, std::uint64_t b) {
    return std::abs(static_cast<double>(a) - static_cast<double>(b)) /
           static_cast<double>(std::max<std::uint64_t>(b, 1));
}

/// A histogram holding `n` samples of `ns` nanoseconds.
inline nettool::histogram constant_histogram(std::uint64_t ns, int n) {
    nettool::histogram h;
    for (int i = 0; i < n; ++i) h.record(ns);
    return h;
}

}  // namespace nettool::test
