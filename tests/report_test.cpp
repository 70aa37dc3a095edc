#include <nettool/core/report.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace {

using nettool::histogram;
using nettool::latency_summary;

TEST(Report, LatencySummaryHasExactlyTheDocumentedKeysPlusItsCdf) {
    histogram h;
    for (int i = 1; i <= 1000; ++i) h.record(static_cast<std::uint64_t>(i) * 1000);  // 1..1000 us
    nlohmann::json j = latency_summary::from(h);
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, (std::vector<std::string>{"cdf", "count", "max_us", "mean_us", "min_us", "p50_us", "p90_us",
                                              "p999_us", "p99_us", "stddev_us"}));
    // The cdf: [value_us, fraction] pairs, at most max_cdf_points, the last at the max and 1.
    ASSERT_TRUE(j["cdf"].is_array());
    EXPECT_LE(j["cdf"].size(), nettool::max_cdf_points);
    EXPECT_EQ(j["cdf"].back(), nlohmann::json::array({1000.0, 1.0}));
    // An empty summary has no cdf.
    EXPECT_FALSE(nlohmann::json(latency_summary::from(histogram{})).contains("cdf"));
    EXPECT_EQ(j["count"], 1000);
    EXPECT_DOUBLE_EQ(j["min_us"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(j["max_us"].get<double>(), 1000.0);
    EXPECT_NEAR(j["p50_us"].get<double>(), 500.0, 5.0);
    EXPECT_NEAR(j["p99_us"].get<double>(), 990.0, 9.9);
    EXPECT_NEAR(j["mean_us"].get<double>(), 500.5, 0.001);
    // Round trip through JSON gives the same summary (to the documented 1 ns precision).
    auto back = j.get<latency_summary>();
    EXPECT_EQ(back.count, 1000u);
    EXPECT_DOUBLE_EQ(back.max_us, 1000.0);
    EXPECT_EQ(back.cdf.size(), j["cdf"].size());
}

TEST(Report, JsonHasSchemaVersionAndCommandFirstClass) {
    nettool::report r{"tcp-vs-udp"};
    r.data()["bits_per_second"] = 1e9;
    r.add_reading("TCP and UDP agree.");
    const auto j = r.to_json();
    EXPECT_EQ(j["schema_version"], nettool::json_schema_version);
    EXPECT_EQ(j["command"], "tcp-vs-udp");
    EXPECT_EQ(j["bits_per_second"], 1e9);
    EXPECT_EQ(j["readings"][0], "TCP and UDP agree.");
}

TEST(Report, TableAlignsNamesLeftAndValuesRight) {
    nettool::table t{"RTT", {"metric", "TCP", "UDP"}, {}};
    t.add_row({"p50", "41.0 us", "7.5 us"});
    t.add_row({"loss", "-", "2.10%"});
    const std::string text = t.render();
    EXPECT_EQ(text,
              "RTT\n"
              "metric      TCP     UDP\n"
              "-----------------------\n"
              "p50     41.0 us  7.5 us\n"
              "loss          -   2.10%\n");
}

TEST(Report, TextHasTablesThenReadings) {
    nettool::report r{"x"};
    r.add_table({"", {"a"}, {{"1"}}});
    r.add_reading("One sentence.");
    EXPECT_EQ(r.to_text(), "a\n-\n1\n\nOne sentence.\n");
}

TEST(Report, FormatsCarryUnits) {
    EXPECT_EQ(nettool::format_duration_us(0.812), "812 ns");
    EXPECT_EQ(nettool::format_duration_us(41.33), "41.3 us");
    EXPECT_EQ(nettool::format_duration_us(4100), "4.10 ms");
    EXPECT_EQ(nettool::format_duration_us(2.5e6), "2.500 s");
    EXPECT_EQ(nettool::format_bits_per_second(941.2e6), "941.2 Mbit/s");
    EXPECT_EQ(nettool::format_bits_per_second(9.4e9), "9.40 Gbit/s");
    EXPECT_EQ(nettool::format_bytes(512), "512 B");
    EXPECT_EQ(nettool::format_rate(12345, "pkt"), "12.3 kpkt/s");
    EXPECT_EQ(nettool::format_percent(0.021), "2.10%");
}

TEST(Report, PercentileIsADurationOrADashWhenNothingWasMeasured) {
    histogram h;
    EXPECT_EQ(nettool::format_percentile(h, 50), "-");
    EXPECT_EQ(nettool::format_percentile(h, 99), "-");
    for (int i = 0; i < 10; ++i) h.record(41'300);  // 41.3 us each: every percentile is exact
    EXPECT_EQ(nettool::format_percentile(h, 50), "41.3 us");
    EXPECT_EQ(nettool::format_percentile(h, 99.9), "41.3 us");
}

TEST(Report, LatencyTableHasTheNineColumnsOfEveryLatency) {
    const std::vector<std::string> header{"count", "min", "p50",  "p90",   "p99",
                                          "p99.9", "max", "mean", "stddev"};
    histogram h;
    for (int i = 0; i < 4; ++i) h.record(2'000'000);  // 2 ms
    const auto t = nettool::latency_table("RTT to somewhere", h);
    EXPECT_EQ(t.title, "RTT to somewhere");
    EXPECT_EQ(t.header, header);
    ASSERT_EQ(t.rows.size(), 1u);
    EXPECT_EQ(t.rows[0], (std::vector<std::string>{"4", "2.00 ms", "2.00 ms", "2.00 ms", "2.00 ms", "2.00 ms",
                                                   "2.00 ms", "2.00 ms", "0 ns"}));

    // Nothing measured: no percentiles to show, the exact figures are zero.
    const auto empty = nettool::latency_table("", histogram{});
    ASSERT_EQ(empty.rows.size(), 1u);
    EXPECT_EQ(empty.rows[0],
              (std::vector<std::string>{"0", "0 ns", "-", "-", "-", "-", "0 ns", "0 ns", "0 ns"}));
}

}  // namespace
