#include <nettool/exporter/exposition.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace {

using namespace nettool;
using namespace nettool::exporter;

TEST(ExporterExposition, LabelValuesAndHelpAreEscaped) {
    EXPECT_EQ(escape_label_value(R"(a"b\c)" "\n" "d"), R"(a\"b\\c\nd)");
    EXPECT_EQ(escape_help("x\\y\nz\"q"), "x\\\\y\\nz\"q");
    exposition e;
    e.family("nettool_x", "gauge", "Help with a\nnewline.");
    e.sample("nettool_x", {{"target", "host\"1"}, {"module", "m"}}, 1.5);
    e.sample("nettool_x", {}, std::numeric_limits<double>::quiet_NaN());
    e.sample("nettool_x", {}, std::numeric_limits<double>::infinity());
    EXPECT_EQ(e.text(),
              "# HELP nettool_x Help with a\\nnewline.\n# TYPE nettool_x gauge\n"
              "nettool_x{target=\"host\\\"1\",module=\"m\"} 1.5\nnettool_x NaN\nnettool_x +Inf\n");
}

TEST(ExporterExposition, HistogramIsCumulativeWithSumAndCount) {
    latency_buckets b;
    b.add_seconds(0.00004);  // <= 50 us
    b.add_seconds(0.0003);   // <= 500 us
    b.add_seconds(0.0003);
    b.add_seconds(100);      // only +Inf
    exposition e;
    e.histogram_samples("nettool_l_seconds", {{"target", "t"}}, b);
    const auto& t = e.text();
    EXPECT_NE(t.find("nettool_l_seconds_bucket{target=\"t\",le=\"2.5e-05\"} 0\n"), std::string::npos) << t;
    EXPECT_NE(t.find("nettool_l_seconds_bucket{target=\"t\",le=\"5e-05\"} 1\n"), std::string::npos) << t;
    EXPECT_NE(t.find("nettool_l_seconds_bucket{target=\"t\",le=\"0.00025\"} 1\n"), std::string::npos) << t;
    EXPECT_NE(t.find("nettool_l_seconds_bucket{target=\"t\",le=\"0.0005\"} 3\n"), std::string::npos) << t;
    EXPECT_NE(t.find("nettool_l_seconds_bucket{target=\"t\",le=\"30\"} 3\n"), std::string::npos) << t;
    EXPECT_NE(t.find("nettool_l_seconds_bucket{target=\"t\",le=\"+Inf\"} 4\n"), std::string::npos) << t;
    EXPECT_NE(t.find("nettool_l_seconds_count{target=\"t\"} 4\n"), std::string::npos) << t;
    EXPECT_NE(t.find("nettool_l_seconds_sum{target=\"t\"} 100.00064"), std::string::npos) << t;
}

TEST(ExporterExposition, NonFiniteOrNegativeSecondsAreNotObserved) {
    latency_buckets b;
    b.add_seconds(std::numeric_limits<double>::quiet_NaN());
    b.add_seconds(-1);
    EXPECT_EQ(b.count, 0u);
}

// A nettool histogram folds into the same buckets as its values one by one would.
TEST(ExporterExposition, FoldingAHistogramAgreesWithTheValues) {
    histogram h;
    latency_buckets direct;
    for (std::uint64_t ns : {30'000u, 45'000u, 120'000u, 900'000u, 2'000'000u, 40'000'000u}) {
        h.record(ns);
        direct.add_seconds(static_cast<double>(ns) / 1e9);
    }
    latency_buckets folded;
    folded.add(h);
    EXPECT_EQ(folded.le, direct.le);
    EXPECT_EQ(folded.count, direct.count);
    EXPECT_NEAR(folded.sum_s, direct.sum_s, 1e-12);
}

}  // namespace
