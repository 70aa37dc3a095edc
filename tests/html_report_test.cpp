// nettool/html/html_report.hpp: the page drawn from run documents. Samples are real runs under
// data/runs/ (data/runs/README.md says how each was made); each must give every plot its kind
// of run promises. Outside input is hostile: escaping, validation that names the field, and a
// truncation sweep over every sample.
#include <nettool/html/html_report.hpp>
#include "support/files.hpp"

#include <nettool/core/error.hpp>
#include <nettool/core/report.hpp>

#include "html/assets.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path runs_dir = fs::path{NETTOOL_SOURCE_DIR} / "data" / "runs";

using nettool::test::read_text;

json sample_run(const std::string& name) { return json::parse(read_text(runs_dir / (name + ".json"))); }

std::string page_of(const std::vector<json>& docs, const std::vector<std::string>& labels = {}) {
    std::vector<nettool::html::run_ref> refs;
    for (std::size_t i = 0; i < docs.size(); ++i)
        refs.push_back({.document = &docs[i], .label = i < labels.size() ? labels[i] : "run"});
    return nettool::html::render(refs);
}

std::string page_of(const json& doc) { return page_of(std::vector<json>{doc}); }

/// The chart descriptions the page hands to page.js.
json charts_of(const std::string& page) {
    const std::string open = "<script type=\"application/json\" id=\"nettool-charts\">";
    const auto at = page.find(open);
    EXPECT_NE(at, std::string::npos);
    const auto end = page.find("</script>", at);
    return json::parse(page.substr(at + open.size(), end - at - open.size()));
}

std::vector<std::string> titles_of(const std::string& page) {
    std::vector<std::string> t;
    for (const auto& c : charts_of(page)) t.push_back(c["title"].get<std::string>());
    return t;
}

/// The error check_run throws for doc, or "" when it passes.
std::string check_error(const json& doc) {
    try {
        nettool::html::check_run(doc);
    } catch (const nettool::error& e) {
        return e.what();
    }
    return {};
}

struct expected_plots {
    std::string sample;
    std::vector<std::string> titles;
};

const std::vector<expected_plots> every_sample = {
    {"tcp-vs-udp",
     {"Latency per protocol: cumulative distribution", "Latency per protocol: histogram", "Throughput per interval",
      "UDP loss and reordering", "UDP loss and reordering over time"}},
    {"tcp-connect", {"TCP connect time: cumulative distribution", "TCP connect time: histogram"}},
    {"tcp-rr", {"TCP request/response time: cumulative distribution", "TCP request/response time: histogram"}},
    {"tcp-stream", {"Throughput per interval"}},
    {"udp-rr",
     {"UDP request/response time: cumulative distribution", "UDP request/response time: histogram",
      "UDP loss and reordering", "UDP loss and reordering over time"}},
    {"udp-stream", {"Throughput per interval", "UDP loss and reordering", "UDP stream loss and reordering over time"}},
    {"dns", {"DNS lookup time per server", "DNS lookup time: cumulative distribution", "DNS lookup time: histogram"}},
    {"inspect",
     {"Protocol hierarchy", "TCP handshakes seen in the capture (SYN to ACK): cumulative distribution",
      "TCP handshakes seen in the capture (SYN to ACK): histogram"}},
    {"trace", {"Round-trip time per hop", "Loss per hop"}},
    {"link", {"The emulated link: packets per direction"}},
    {"tcp-vs-udp-link",
     {"Latency per protocol: cumulative distribution", "Latency per protocol: histogram", "Throughput per interval",
      "UDP loss and reordering", "UDP stream loss and reordering over time",
      "TCP throughput against the Mathis model", "The emulated link: packets per direction"}},
    {"tcp-vs-udp-sweep",
     {"Loss sweep: TCP throughput against the Mathis model", "Loss sweep: UDP loss against the configured loss"}},
};

TEST(HtmlReport, EverySampleGetsEveryPlotOfItsKindWithDataAndATable) {
    for (const auto& e : every_sample) {
        SCOPED_TRACE(e.sample);
        const auto doc = sample_run(e.sample);
        ASSERT_EQ(check_error(doc), "");
        const auto page = page_of(doc);
        const auto titles = titles_of(page);
        for (const auto& t : e.titles)
            EXPECT_NE(std::find(titles.begin(), titles.end(), t), titles.end()) << "no plot '" << t << "'";
        for (const auto& c : charts_of(page)) {
            SCOPED_TRACE(c["title"].get<std::string>());
            std::size_t points = 0;
            for (const auto& s : c["series"]) points += s.contains("xy") ? s["xy"].size() : s["values"].size();
            EXPECT_GT(points, 0u);
            // Axis titles carry their unit in parentheses, except a bar chart's category axis.
            EXPECT_NE(c["y_title"].get<std::string>().find('('), std::string::npos) << c["y_title"];
            if (c["kind"] == "xy") {
                EXPECT_NE(c["x_title"].get<std::string>().find('('), std::string::npos);
            }
            // The element the chart draws in has its reading and the table of its numbers.
            const auto id = c["id"].get<std::string>();
            const auto at = page.find("id=\"" + id + "\"");
            ASSERT_NE(at, std::string::npos);
            const auto end = page.find("</details>", at);
            const auto box = page.substr(at, end - at);
            EXPECT_NE(box.find("<p class=\"reading\">"), std::string::npos);
            EXPECT_NE(box.find("<table>"), std::string::npos);
            EXPECT_GT(std::count(box.begin(), box.end(), '\n'), 5);
        }
        EXPECT_LT(page.size(), nettool::html::size_budget_bytes);
    }
}

TEST(HtmlReport, PageIsSelfContainedAndCarriesTheRunsAsGiven) {
    const auto doc = sample_run("tcp-vs-udp");
    const auto page = page_of(doc);
    // The library is inlined whole, as Debian ships it.
    EXPECT_EQ(nettool::detail::chartjs_script(), read_text("/usr/share/javascript/chart.js/chart.min.js"));
    EXPECT_NE(page.find(nettool::detail::chartjs_script()), std::string::npos);
    // No attribute points anywhere: nothing to fetch. The only URLs are the two in Chart.js's
    // licence banner comments.
    EXPECT_EQ(page.find(" src="), std::string::npos);
    EXPECT_EQ(page.find(" href="), std::string::npos);
    EXPECT_EQ(page.find("url("), std::string::npos);
    std::size_t urls = 0;
    for (std::size_t at = page.find("http"); at != std::string::npos; at = page.find("http", at + 1))
        if (page.compare(at, 7, "http://") == 0 || page.compare(at, 8, "https://") == 0) ++urls;
    std::size_t library_urls = 0;
    const auto& lib = nettool::detail::chartjs_script();
    for (std::size_t at = lib.find("http"); at != std::string::npos; at = lib.find("http", at + 1))
        if (lib.compare(at, 7, "http://") == 0 || lib.compare(at, 8, "https://") == 0) ++library_urls;
    EXPECT_EQ(urls, library_urls);
    EXPECT_NE(page.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
    // The runs are in the page, whole: a report can be regenerated from it.
    const std::string open = "<script type=\"application/json\" id=\"nettool-runs\">";
    const auto at = page.find(open);
    ASSERT_NE(at, std::string::npos);
    const auto runs = json::parse(page.substr(at + open.size(), page.find("</script>", at) - at - open.size()));
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0]["run"], doc);
}

TEST(HtmlReport, TextFromARunIsEscapedInHtmlAndInScripts) {
    auto doc = sample_run("dns");
    const std::string evil = "</script><img src=x onerror=alert(1)><!--&\"'";
    doc["servers"][0]["server"] = evil;
    doc["readings"] = json::array({evil});
    const auto page = page_of(std::vector<json>{doc}, {evil});
    EXPECT_EQ(page.find("<img"), std::string::npos);
    EXPECT_EQ(page.find("onerror=alert(1)>"), std::string::npos);
    EXPECT_NE(page.find("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&lt;!--&amp;&quot;&#39;"), std::string::npos);
    // Exactly the page's own four scripts open and close.
    std::size_t opens = 0, closes = 0;
    for (auto p = page.find("<script"); p != std::string::npos; p = page.find("<script", p + 1)) ++opens;
    for (auto p = page.find("</script"); p != std::string::npos; p = page.find("</script", p + 1)) ++closes;
    EXPECT_EQ(opens, 4u);
    EXPECT_EQ(closes, 4u);
    EXPECT_EQ(page.find("<!--&"), std::string::npos);
    // The escaped JSON reads back to the same text.
    bool found = false;
    for (const auto& c : charts_of(page))
        for (const auto& cat : c["categories"]) found = found || cat.get<std::string>().find(evil) != std::string::npos;
    EXPECT_TRUE(found);
}

TEST(HtmlReport, RunsOfOneCommandShareAPlotAndOthersGetSections) {
    const std::vector<json> docs = {sample_run("tcp-vs-udp"), sample_run("tcp-vs-udp"), sample_run("inspect")};
    const auto page = page_of(docs, {"loss-0", "loss-1", "capture"});
    const auto charts = charts_of(page);
    ASSERT_FALSE(charts.empty());
    EXPECT_EQ(charts[0]["title"], "Latency per protocol: cumulative distribution");
    std::vector<std::string> labels;
    for (const auto& s : charts[0]["series"]) labels.push_back(s["label"].get<std::string>());
    EXPECT_NE(std::find(labels.begin(), labels.end(), "loss-0: TCP rr"), labels.end());
    EXPECT_NE(std::find(labels.begin(), labels.end(), "loss-1: TCP rr"), labels.end());
    EXPECT_NE(page.find("<h2>tcp-vs-udp: TCP and UDP over the same path</h2>"), std::string::npos);
    EXPECT_NE(page.find("<h2>inspect: what the capture holds</h2>"), std::string::npos);
    EXPECT_NE(page.find("Runs side by side: loss-0, loss-1."), std::string::npos);
    // The same label twice is told apart.
    const auto twice = page_of(std::vector<json>{sample_run("tcp-rr"), sample_run("tcp-rr")}, {"a", "a"});
    EXPECT_NE(twice.find("a (2): TCP rr"), std::string::npos);
}

TEST(HtmlReport, ValidationNamesTheField) {
    auto doc = sample_run("tcp-vs-udp");
    EXPECT_EQ(check_error(doc), "");

    EXPECT_EQ(check_error(json::array()), "(document): not an object");
    auto d = doc;
    d.erase("schema_version");
    EXPECT_EQ(check_error(d), "schema_version: missing");
    d = doc;
    d["schema_version"] = 2;
    EXPECT_EQ(check_error(d), "schema_version: 2 is not 1, the layout this nettool reads");
    d["schema_version"] = "1";
    EXPECT_EQ(check_error(d), "schema_version: not an integer");
    d = doc;
    d["command"] = "wol";
    EXPECT_EQ(check_error(d), "command: 'wol' is not a command nettool report draws");
    d = doc;
    d["tcp"]["rr"]["rtt"]["p50_us"] = "fast";
    EXPECT_EQ(check_error(d), "tcp.rr.rtt.p50_us: not a number");
    d = doc;
    d["tcp"]["rr"]["rtt"]["cdf"][3][0] = nullptr;
    EXPECT_EQ(check_error(d), "tcp.rr.rtt.cdf[3][0]: not a number");
    d = doc;
    d["tcp"]["rr"]["rtt"]["cdf"][1][1] = 2.5;
    EXPECT_EQ(check_error(d), "tcp.rr.rtt.cdf[1][1]: fraction outside 0..1");
    d = doc;
    d["udp"]["stream"]["intervals"] = json::object();
    EXPECT_EQ(check_error(d), "udp.stream.intervals: not an array");
    d = doc;
    d["readings"] = json::array({1});
    EXPECT_EQ(check_error(d), "readings[0]: not a string");
    d = doc;
    d["tcp"]["rr"]["rtt"]["mean_us"] = std::numeric_limits<double>::quiet_NaN();
    d["tcp"]["rr"]["rtt"]["p50_us"] = std::numeric_limits<double>::infinity();
    EXPECT_EQ(check_error(d), "tcp.rr.rtt.p50_us: not a finite number");
    d = sample_run("tcp-rr");
    d["mode"] = "flood";
    EXPECT_EQ(check_error(d), "mode: 'flood' is not a mode of tcp");
    d = sample_run("trace");
    d["trace"]["hops"][0]["ttl"] = json::array();
    EXPECT_EQ(check_error(d), "trace.hops[0].ttl: not a number");
    d = sample_run("inspect");
    d["protocol_hierarchy"]["children"][0]["name"] = 7;
    EXPECT_EQ(check_error(d), "protocol_hierarchy.children[0].name: not a string");
    // render() checks too.
    d = sample_run("dns");
    d["servers"][0]["latency"] = 3;
    EXPECT_THROW((void)page_of(d), nettool::error);
}

TEST(HtmlReport, ParseRunSaysWhereTheTextStopsBeingJson) {
    try {
        (void)nettool::html::parse_run("{\"schema_version\": 1, \"command\": ");
        FAIL() << "parsed";
    } catch (const nettool::error& e) {
        EXPECT_EQ(e.code(), nettool::errc::malformed);
        EXPECT_TRUE(std::string_view{e.what()}.starts_with("not JSON (byte 34)")) << e.what();
    }
    // A number past a double's range is not JSON nettool reads (found by html_report_fuzz).
    try {
        (void)nettool::html::parse_run(R"({"schema_version": 1, "command": "tcp", "x": 19999.5e8111})");
        FAIL() << "parsed";
    } catch (const nettool::error& e) {
        EXPECT_EQ(std::string_view{e.what()}, "not JSON nettool reads: number overflow parsing '19999.5e8111'");
    }
    std::string deep(100, '[');
    EXPECT_THROW((void)nettool::html::parse_run(deep + std::string(100, ']')), nettool::error);
}

// Every prefix of every sample: a clean nettool::error, never a crash; only the whole text (or a
// prefix ending in trailing whitespace) parses.
TEST(HtmlReport, TruncationSweepOverEverySample) {
    for (const auto& e : every_sample) {
        SCOPED_TRACE(e.sample);
        const auto text = read_text(runs_dir / (e.sample + ".json"));
        ASSERT_FALSE(text.empty());
        const auto whole = text.find_last_not_of(" \n\r\t") + 1;
        // Every prefix for the small samples; for the large ones, every byte of the first and
        // last 2 kB and 400 cuts between.
        std::vector<std::size_t> cuts;
        for (std::size_t n = 0; n < text.size(); ++n)
            if (text.size() < 20000 || n < 2048 || n + 2048 > text.size() || n % (text.size() / 400) == 0)
                cuts.push_back(n);
        for (const auto n : cuts) {
            try {
                (void)nettool::html::parse_run(std::string_view{text}.substr(0, n));
                EXPECT_GE(n, whole) << "a prefix of " << n << " bytes parsed";
            } catch (const nettool::error& err) {
                EXPECT_LT(n, whole) << err.what();
            }
        }
    }
}

TEST(HtmlReport, LatencySummaryCdfIsBoundedAndEndsAtOne) {
    nettool::histogram h;
    for (std::uint64_t i = 1; i <= 100000; ++i) h.record(i * 37 % 5'000'000 + 1000);
    const auto s = nettool::latency_summary::from(h);
    ASSERT_FALSE(s.cdf.empty());
    EXPECT_LE(s.cdf.size(), nettool::max_cdf_points);
    EXPECT_GE(s.cdf.size(), nettool::max_cdf_points / 2);
    EXPECT_DOUBLE_EQ(s.cdf.back().fraction, 1.0);
    EXPECT_DOUBLE_EQ(s.cdf.back().value_us, s.max_us);
    EXPECT_GE(s.cdf.front().value_us, s.min_us);
    for (std::size_t i = 1; i < s.cdf.size(); ++i) {
        EXPECT_GT(s.cdf[i].value_us, s.cdf[i - 1].value_us);
        EXPECT_GT(s.cdf[i].fraction, s.cdf[i - 1].fraction);
    }
    // The median read off the cdf agrees with p50 within a bucket.
    const auto mid = std::find_if(s.cdf.begin(), s.cdf.end(), [](const auto& p) { return p.fraction >= 0.5; });
    EXPECT_NEAR(mid->value_us, s.p50_us, s.p50_us * 0.02);
    EXPECT_TRUE(nettool::latency_summary::from(nettool::histogram{}).cdf.empty());
    // One sample: one point, at fraction 1.
    nettool::histogram one;
    one.record(std::uint64_t{42000});
    ASSERT_EQ(nettool::latency_summary::from(one).cdf.size(), 1u);
    EXPECT_DOUBLE_EQ(nettool::latency_summary::from(one).cdf[0].value_us, 42.0);
}

json chart_titled(const json& charts, const std::string& title) {
    for (const auto& c : charts)
        if (c["title"] == title) return c;
    return nullptr;
}

// Issue 17: the throughput plot marks each interval's retransmissions on a right axis; the marks
// are the run's intervals and sum to its total. tcp-vs-udp-link crossed a lossy link.
TEST(HtmlReport, ThroughputMarksRetransmissionsPerIntervalOnASecondAxis) {
    for (const auto* name : {"tcp-stream", "tcp-vs-udp-link"}) {
        SCOPED_TRACE(name);
        const auto doc = sample_run(name);
        const auto& stream = doc.contains("result") ? doc["result"] : doc["tcp"]["stream"];
        const auto& ivs = stream["intervals"];
        ASSERT_FALSE(ivs.empty());
        ASSERT_TRUE(ivs[0].contains("retransmits")) << "remake the sample (data/runs/README.md)";
        const auto page = page_of(doc);
        const auto c = chart_titled(charts_of(page), "Throughput per interval");
        ASSERT_TRUE(c.is_object());
        EXPECT_NE(c["y2_title"].get<std::string>().find("(count per interval"), std::string::npos);
        json marks;
        for (const auto& s : c["series"])
            if (s.value("right_axis", false)) marks = s;
        ASSERT_TRUE(marks.is_object()) << c.dump();
        ASSERT_EQ(marks["xy"].size(), ivs.size());
        double sum = 0;
        for (std::size_t i = 0; i < ivs.size(); ++i) {
            EXPECT_DOUBLE_EQ(marks["xy"][i][0].get<double>(),
                             (ivs[i]["start_s"].get<double>() + ivs[i]["end_s"].get<double>()) / 2);
            EXPECT_EQ(marks["xy"][i][1].get<double>(), ivs[i]["retransmits"].get<double>());
            sum += marks["xy"][i][1].get<double>();
        }
        EXPECT_EQ(sum, stream["kernel"]["retransmits"].get<double>());
        // The table says which unit the right-axis series is in.
        EXPECT_NE(page.find("series on the right axis: retransmitted segments"), std::string::npos);
    }
    if (const auto link = sample_run("tcp-vs-udp-link"); link["tcp"]["stream"]["kernel"]["retransmits"].get<int>() == 0)
        ADD_FAILURE() << "the lossy sample has no retransmissions: remake it (data/runs/README.md)";
    // A download carries no per-interval count (only the responder sent): no marks, no right axis.
    auto down = sample_run("tcp-stream");
    for (auto& iv : down["result"]["intervals"]) iv.erase("retransmits");
    const auto c = chart_titled(charts_of(page_of(down)), "Throughput per interval");
    EXPECT_EQ(c["y2_title"], "");
    for (const auto& s : c["series"]) EXPECT_FALSE(s.value("right_axis", false));
    // A negative count is refused, naming the field.
    down = sample_run("tcp-stream");
    down["result"]["intervals"][0]["retransmits"] = -1;
    EXPECT_NE(check_error(down).find("result.intervals[0].retransmits: negative"), std::string::npos)
        << check_error(down);
}

// UDP rr over time: per interval the % lost, reordered and duplicated of what was sent in it, and
// the count sent on the right axis; the counts behind the percentages are the run's intervals.
TEST(HtmlReport, UdpLossAndReorderingOverTimeFromTheRunsIntervals) {
    const auto doc = sample_run("udp-rr");
    const auto& ivs = doc["result"]["intervals"];
    ASSERT_GE(ivs.size(), 2u) << "remake the sample (data/runs/README.md)";
    const auto c = chart_titled(charts_of(page_of(doc)), "UDP loss and reordering over time");
    ASSERT_TRUE(c.is_object());
    std::map<std::string, json> by_label;
    for (const auto& s : c["series"]) by_label[s["label"].get<std::string>()] = s;
    std::size_t with_probes = 0;
    for (const auto& iv : ivs) with_probes += iv["sent"].get<double>() > 0 ? 1 : 0;
    // Every interval has its count sent; only those that sent something have shares.
    for (const auto* label : {"lost", "reordered", "duplicated", "sent"}) {
        ASSERT_TRUE(by_label.count(label)) << label;
        EXPECT_EQ(by_label[label]["xy"].size(), std::string_view{label} == "sent" ? ivs.size() : with_probes)
            << label;
    }
    EXPECT_TRUE(by_label["sent"].value("right_axis", false));
    double sent = 0;
    std::size_t k = 0;
    for (std::size_t i = 0; i < ivs.size(); ++i) {
        const double n = ivs[i]["sent"].get<double>();
        EXPECT_EQ(by_label["sent"]["xy"][i][1].get<double>(), n);
        sent += n;
        if (n <= 0) continue;
        EXPECT_EQ(by_label["lost"]["xy"][k][0], by_label["sent"]["xy"][i][0]);
        EXPECT_NEAR(by_label["lost"]["xy"][k][1].get<double>(), ivs[i]["lost"].get<double>() / n * 100, 1e-4);
        ++k;
    }
    EXPECT_EQ(sent, doc["result"]["sent"].get<double>());
}

// UDP stream over time: the same plot from the stream's intervals (their counts come from a
// responder that counts per interval); a run saved before those counts existed draws no such plot.
TEST(HtmlReport, UdpStreamLossOverTimeFromTheRunsIntervalsAndNoneWithoutTheirCounts) {
    for (const char* sample : {"udp-stream", "tcp-vs-udp-link"}) {
        SCOPED_TRACE(sample);
        auto doc = sample_run(sample);
        auto& stream = std::string_view{sample} == "udp-stream" ? doc["result"] : doc["udp"]["stream"];
        const auto& ivs = stream["intervals"];
        ASSERT_GE(ivs.size(), 2u) << "remake the sample (data/runs/README.md)";
        const auto c = chart_titled(charts_of(page_of(doc)), "UDP stream loss and reordering over time");
        ASSERT_TRUE(c.is_object());
        EXPECT_NE(c["y_title"].get<std::string>().find("datagrams"), std::string::npos);
        std::map<std::string, json> by_label;
        for (const auto& s : c["series"]) by_label[s["label"].get<std::string>()] = s;
        ASSERT_TRUE(by_label.count("lost") && by_label.count("sent"));
        ASSERT_EQ(by_label["sent"]["xy"].size(), ivs.size());
        double lost = 0;
        for (std::size_t i = 0; i < ivs.size(); ++i) {
            const double n = ivs[i]["sent"].get<double>();
            EXPECT_EQ(by_label["sent"]["xy"][i][1].get<double>(), n);
            EXPECT_NEAR(by_label["lost"]["xy"][i][1].get<double>(), ivs[i]["lost"].get<double>() / n * 100, 1e-4);
            lost += ivs[i]["lost"].get<double>();
        }
        EXPECT_EQ(lost, stream["lost"].get<double>()) << "the intervals' losses are the run's";

        for (auto& iv : stream["intervals"])
            for (const char* key : {"sent", "lost", "reordered", "duplicates"}) iv.erase(key);
        EXPECT_FALSE(chart_titled(charts_of(page_of(doc)), "UDP stream loss and reordering over time").is_object());
    }
}

TEST(HtmlReport, OldRunsWithoutCdfDrawFromTheirPercentiles) {
    auto doc = sample_run("tcp-rr");
    doc["result"]["rtt"].erase("cdf");
    const auto charts = charts_of(page_of(doc));
    ASSERT_FALSE(charts.empty());
    EXPECT_EQ(charts[0]["series"][0]["xy"].size(), 6u);  // min, p50, p90, p99, p99.9, max
}

}  // namespace
