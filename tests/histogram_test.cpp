#include <nettool/core/histogram.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace {

using nettool::histogram;

// Nearest-rank percentile of sorted data: the definition histogram::percentile promises.
std::uint64_t exact_percentile(const std::vector<std::uint64_t>& sorted, double p) {
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

double rel_error(std::uint64_t got, std::uint64_t want) {
    return std::fabs(static_cast<double>(got) - static_cast<double>(want)) / static_cast<double>(want);
}

TEST(Histogram, EmptyReportsZeros) {
    histogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.percentile(50), 0u);
    EXPECT_EQ(h.mean(), 0.0);
    EXPECT_EQ(h.stddev(), 0.0);
}

TEST(Histogram, BucketsTileTheRangeWithoutGaps) {
    for (std::size_t i = 1; i < histogram::bucket_count; ++i) {
        ASSERT_EQ(histogram::bucket_low(i), histogram::bucket_high(i - 1) + 1) << "bucket " << i;
        ASSERT_EQ(histogram::index_of(histogram::bucket_low(i)), i);
        ASSERT_EQ(histogram::index_of(histogram::bucket_high(i)), i);
    }
}

TEST(Histogram, BucketWidthWithinOnePercentFrom100nsTo100s) {
    for (std::uint64_t v = 100; v <= 100'000'000'000ull; v = v * 11 / 10 + 1) {
        const auto i = histogram::index_of(v);
        const double width = static_cast<double>(histogram::bucket_high(i) - histogram::bucket_low(i));
        EXPECT_LE(width / static_cast<double>(v), 0.01) << v;
    }
}

// Percentiles of random data against exact percentiles, over many seeds and distributions.
TEST(Histogram, PercentilesMatchExactWithinOnePercent) {
    const double ps[] = {1, 10, 25, 50, 75, 90, 99, 99.9, 100};
    for (unsigned seed = 1; seed <= 40; ++seed) {
        std::mt19937_64 rng(seed);
        // Log-uniform over 100 ns .. 100 s covers every octave; half the seeds use a lognormal
        // shaped like real RTTs.
        std::vector<std::uint64_t> values;
        const std::size_t n = 1000 + seed * 500;
        if (seed % 2 == 0) {
            std::uniform_real_distribution<double> d(std::log(100.0), std::log(1e11));
            for (std::size_t i = 0; i < n; ++i)
                values.push_back(static_cast<std::uint64_t>(std::exp(d(rng))));
        } else {
            std::lognormal_distribution<double> d(std::log(50'000.0), 0.8);
            for (std::size_t i = 0; i < n; ++i) values.push_back(static_cast<std::uint64_t>(d(rng)) + 100);
        }
        histogram h;
        for (auto v : values) h.record(v);
        std::sort(values.begin(), values.end());
        ASSERT_EQ(h.count(), values.size());
        EXPECT_EQ(h.min(), values.front());
        EXPECT_EQ(h.max(), values.back());
        for (double p : ps) {
            const auto want = exact_percentile(values, p);
            EXPECT_LE(rel_error(h.percentile(p), want), 0.01) << "seed " << seed << " p" << p;
        }
        double sum = 0;
        for (auto v : values) sum += static_cast<double>(v);
        const double mean = sum / static_cast<double>(values.size());
        EXPECT_NEAR(h.mean(), mean, mean * 1e-9);
        double sq = 0;
        for (auto v : values) sq += (static_cast<double>(v) - mean) * (static_cast<double>(v) - mean);
        const double sd = std::sqrt(sq / static_cast<double>(values.size()));
        EXPECT_LE(std::fabs(h.stddev() - sd) / sd, 0.01) << "seed " << seed;
    }
}

TEST(Histogram, SmallValuesAreExact) {
    histogram h;
    for (std::uint64_t v = 0; v < 256; ++v) h.record(v);
    EXPECT_EQ(h.percentile(50), 127u);
    EXPECT_EQ(h.percentile(100), 255u);
    EXPECT_EQ(h.percentile(0), 0u);
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<std::uint64_t> d(100, 10'000'000);
    histogram a, b, all;
    for (int i = 0; i < 5000; ++i) {
        const auto v = d(rng);
        (i % 3 == 0 ? a : b).record(v);
        all.record(v);
    }
    histogram merged = a;
    merged.merge(b);
    EXPECT_EQ(merged, all);
    EXPECT_EQ(merged.count(), 5000u);
    EXPECT_EQ(merged.percentile(99), all.percentile(99));
    histogram empty;
    merged.merge(empty);
    EXPECT_EQ(merged, all);
}

TEST(Histogram, ValuesPastTheRangeSaturate) {
    histogram h;
    h.record(histogram::max_trackable + 12345);
    h.record(std::chrono::nanoseconds{-5});
    EXPECT_EQ(h.saturated(), 1u);
    EXPECT_EQ(h.max(), histogram::max_trackable);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.count(), 2u);
}

TEST(Histogram, ResetEmpties) {
    histogram h;
    h.record(1000);
    h.reset();
    EXPECT_EQ(h, histogram{});
}

}  // namespace
