// HTML reports in a real browser (issue 17): runs made by the real commands on loopback (tcp-vs-udp
// with its own responder, dns against a dnsmasq, trace to 127.0.0.1, inspect on a capture of
// data/), written with --html and with `nettool report`, opened in headless Chromium that cannot
// resolve or reach anything. For each page:
//   - the DOM after the scripts ran (--dump-dom): page.js finished, logged no error, and every
//     chart element says Chart.js laid out data marks and the canvas has ink (data-drawn);
//   - Chromium's log (--enable-logging=stderr): no console error, no refused or failed load;
//   - the screenshot (--screenshot): a PNG, decoded by python3's zlib, that is not blank.
// Skips, saying why, when chromium is not installed.
#include <nettool/html/html_report.hpp>

#include "support/process.hpp"
#include "support/files.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nettool::test::run_nettool;
using nettool::test::run_process;

std::string chromium_binary() {
    for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
        if (::access(p, X_OK) == 0) return p;
    return {};
}

using nettool::test::read_text;

void write_text(const fs::path& p, const std::string& text) {
    std::ofstream out{p, std::ios::binary};
    out << text;
}

// Decodes an 8-bit RGB(A) PNG with zlib (python3's standard library) and prints
// "WIDTH HEIGHT INKED DISTINCT": pixels that are not near-white and distinct colours (capped).
constexpr const char* png_stats = R"py(
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, w = 8, b'', 0
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        assert depth == 8 and ctype in (2, 6), 'unexpected PNG format'
        bpp = 3 if ctype == 2 else 4
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
inked, colours, i = 0, set(), 0
for y in range(h):
    f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp * 2):
        px = bytes(line[x:x + 3])
        if min(px) < 230: inked += 1
        if len(colours) < 1000: colours.add(px)
    prev = line
print(w, h, inked, len(colours))
)py";

struct page_check {
    int charts = 0;
    std::vector<std::string> drawn;  ///< data-drawn of each chart element
    std::string dom;                 ///< the DOM after the scripts ran
};

/// Opens page in headless Chromium twice (DOM, screenshot) and checks what the file comment says.
page_check check_in_browser(const std::string& chromium, const fs::path& page, const fs::path& png) {
    page_check result;
    const std::vector<std::string> common = {
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-default-apps", "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr", "--v=0", "--window-size=1200,2400",
        "--user-data-dir=" + (page.parent_path() / "chromium-profile").string()};
    auto dom_args = common;
    dom_args.push_back("--dump-dom");
    dom_args.push_back("file://" + page.string());
    const auto dom = run_process(dom_args, 60s);
    EXPECT_EQ(dom.exit_code, 0) << dom.err.substr(0, 2000);
    const std::string& d = dom.out;
    result.dom = d;
    EXPECT_NE(d.find("data-nettool=\"done\""), std::string::npos) << "page.js did not finish: " << d.substr(0, 500);
    EXPECT_NE(d.find("data-errors=\"0\""), std::string::npos)
        << "the page logged errors: " << d.substr(d.find("nettool-errors") == std::string::npos ? 0 : d.find("nettool-errors"), 800);
    const std::regex drawn_re{R"re(class="chart" id="(chart-\d+)" data-points="(\d+)" data-drawn="([^"]*)")re"};
    for (auto it = std::sregex_iterator(d.begin(), d.end(), drawn_re); it != std::sregex_iterator(); ++it) {
        ++result.charts;
        const std::string id = (*it)[1], expected = (*it)[2], drawn = (*it)[3];
        result.drawn.push_back(drawn);
        const std::regex counts{R"((\d+) points, (\d+) px)"};
        std::smatch m;
        if (!std::regex_match(drawn, m, counts)) {
            ADD_FAILURE() << id << ": data-drawn=\"" << drawn << "\"";
            continue;
        }
        EXPECT_EQ(m[1].str(), expected) << id << ": Chart.js laid out another number of marks than the page has";
        EXPECT_GT(std::stoul(m[1].str()), 0u) << id;
        EXPECT_GT(std::stoul(m[2].str()), 2000u) << id << ": the canvas is (nearly) blank";
    }
    EXPECT_GT(result.charts, 0) << "no drawn chart in the DOM";
    const std::regex charts_re{R"re(data-charts="(\d+) of (\d+)")re"};
    std::smatch m;
    EXPECT_TRUE(std::regex_search(d, m, charts_re));
    if (!m.empty()) {
        EXPECT_EQ(m[1].str(), m[2].str()) << "not every chart drew";
        EXPECT_EQ(std::stoi(m[2].str()), result.charts);
    }
    // Chromium's own log: console errors, CSP refusals, failed loads.
    for (const auto* bad : {"Uncaught", "nettool report:", "Refused to", "ERR_NAME_NOT_RESOLVED",
                            "ERR_FILE_NOT_FOUND", "Failed to load"})
        EXPECT_EQ(dom.err.find(bad), std::string::npos) << bad << " in Chromium's log:\n" << dom.err.substr(0, 3000);

    auto shot_args = common;
    shot_args.push_back("--screenshot=" + png.string());
    shot_args.push_back("file://" + page.string());
    const auto shot = run_process(shot_args, 60s);
    EXPECT_EQ(shot.exit_code, 0) << shot.err.substr(0, 2000);
    const auto stats = run_process({"/usr/bin/python3", "-c", png_stats, png.string()}, 60s);
    EXPECT_EQ(stats.exit_code, 0) << stats.err;
    std::istringstream in{stats.out};
    long w = 0, h = 0, inked = 0, colours = 0;
    in >> w >> h >> inked >> colours;
    EXPECT_EQ(w, 1200);
    EXPECT_GT(h, 0);
    // Text, axes and coloured lines: far more than a blank page (0 inked, 1 colour).
    EXPECT_GT(inked, w * h / 2 / 200) << png;
    EXPECT_GT(colours, 20) << png;
    return result;
}

class HtmlBrowser : public ::testing::Test {
protected:
    void SetUp() override {
        chromium_ = chromium_binary();
        if (chromium_.empty())
            GTEST_SKIP() << "chromium is not installed (apt-get install chromium): the HTML reports are not "
                            "checked in a browser";
        dir_ = fs::temp_directory_path() / ("nettool-html-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
    }

    /// Runs nettool with --json and --html; returns the JSON it printed, saved beside the page.
    nlohmann::json run_with_html(const std::string& name, std::vector<std::string> args) {
        const auto page = dir_ / (name + ".html");
        args.insert(args.begin(), "--json");
        args.push_back("--html");
        args.push_back(page.string());
        const auto r = run_nettool(args, 120s);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        EXPECT_TRUE(fs::exists(page));
        write_text(dir_ / (name + ".json"), r.out);
        return nlohmann::json::parse(r.out);
    }

    std::string chromium_;
    fs::path dir_;
};

std::string charts_json(const std::string& page) {
    const std::string open = "<script type=\"application/json\" id=\"nettool-charts\">";
    const auto at = page.find(open);
    if (at == std::string::npos) return {};
    return page.substr(at + open.size(), page.find("</script>", at) - at - open.size());
}

TEST_F(HtmlBrowser, TcpVsUdpPageDrawsAndReportRedrawsTheSamePlots) {
    (void)run_with_html("tcp-vs-udp", {"tcp-vs-udp", "--count", "200", "--duration", "0.5"});
    const auto checked = check_in_browser(chromium_, dir_ / "tcp-vs-udp.html", dir_ / "tcp-vs-udp.png");
    EXPECT_GE(checked.charts, 4);  // latency CDF, histogram, throughput, UDP loss

    // The same run through `nettool report`: the same plots from the saved JSON.
    const auto again = run_nettool({"report", (dir_ / "tcp-vs-udp.json").string(), "-o", (dir_ / "again.html").string()});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    const auto a = charts_json(read_text(dir_ / "tcp-vs-udp.html"));
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a, charts_json(read_text(dir_ / "again.html")));
}

TEST_F(HtmlBrowser, ReportDrawsTwoRunsSideBySideAndOtherCommandsInSections) {
    (void)run_with_html("trace", {"trace", "127.0.0.1", "--queries", "3"});
    (void)run_with_html("inspect", {"inspect", std::string{NETTOOL_SOURCE_DIR} + "/data/captures/dns-udp-tcp.pcap"});
    const auto run_a = dir_ / "short.json";
    const auto run_b = dir_ / "long.json";
    for (const auto& [file, count] : {std::pair{run_a, "50"}, {run_b, "300"}}) {
        const auto r = run_nettool({"--json", "tcp-vs-udp", "--count", count, "--duration", "0.3"}, 120s);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        write_text(file, r.out);
    }
    const auto page = dir_ / "side-by-side.html";
    const auto r = run_nettool({"report", run_a.string(), run_b.string(), (dir_ / "trace.json").string(),
                                (dir_ / "inspect.json").string(), "-o", page.string(), "--title", "<b>loopback</b>"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto text = read_text(page);
    EXPECT_NE(text.find("short: TCP rr"), std::string::npos);
    EXPECT_NE(text.find("long: TCP rr"), std::string::npos);
    EXPECT_NE(text.find("<h1>&lt;b&gt;loopback&lt;/b&gt;</h1>"), std::string::npos);
    EXPECT_LT(text.size(), nettool::html::size_budget_bytes);
    const auto checked = check_in_browser(chromium_, page, dir_ / "side-by-side.png");
    EXPECT_GE(checked.charts, 8);
    // --html wrote the single-command pages; their charts are the same as in the page above.
    EXPECT_TRUE(fs::exists(dir_ / "inspect.html"));
    EXPECT_TRUE(fs::exists(dir_ / "trace.html"));
}

/// The chart of that title in the page's descriptions (null when there is none).
nlohmann::json chart_titled(const std::string& page, const std::string& title) {
    const auto specs = nlohmann::json::parse(charts_json(page));
    for (const auto& c : specs)
        if (c["title"] == title) return c;
    return nullptr;
}

/// data-drawn of the chart element with that id, from the DOM Chromium dumped.
std::string drawn_of(const std::string& dom, const std::string& id) {
    const std::regex re{"class=\"chart\" id=\"" + id + "\" data-points=\"\\d+\" data-drawn=\"([^\"]*)\""};
    std::smatch m;
    return std::regex_search(dom, m, re) ? m[1].str() : std::string{};
}

// Issue 17's plots over time, from runs across an emulated lossy link (--link, root): TCP's
// throughput per interval with its retransmissions per interval on a second axis, and UDP's loss
// and reordering per interval, of request/response probes and of a stream. Each must be in the
// page, with marks, and draw in Chromium.
TEST_F(HtmlBrowser, RetransmissionsAndUdpLossOverTimeDrawFromLossyRuns) {
    if (!nettool::test::is_root()) GTEST_SKIP() << "needs root for --link (an emulated lossy link)";
    const auto tcp = run_with_html("tcp-lossy", {"tcp", "--link", "delay=2ms,loss=2%", "--mode", "stream",
                                                 "--duration", "3"});
    const auto udp = run_with_html("udp-lossy", {"udp", "--link", "delay=1ms,loss=5%", "--mode", "rr", "--count",
                                                 "300", "--timeout", "0.1"});
    const auto stream = run_with_html("stream-lossy", {"udp", "--link", "delay=1ms,loss=5%", "--mode", "stream",
                                                       "--duration", "2", "--rate", "2000", "--size", "200"});
    ASSERT_TRUE(tcp.contains("result") && udp.contains("result") && stream.contains("result"));

    const auto tcp_page = read_text(dir_ / "tcp-lossy.html");
    const auto thr = chart_titled(tcp_page, "Throughput per interval");
    ASSERT_TRUE(thr.is_object()) << charts_json(tcp_page);
    EXPECT_NE(thr["y2_title"].get<std::string>().find("retransmitted segments"), std::string::npos);
    std::size_t marks = 0;
    double marked = 0;
    for (const auto& s : thr["series"])
        if (s.value("right_axis", false)) {
            marks += s["xy"].size();
            for (const auto& p : s["xy"]) marked += p[1].get<double>();
        }
    EXPECT_EQ(marks, tcp["result"]["intervals"].size()) << "one retransmission mark per interval";
    // The marks are the intervals' counts, which sum to the run's total.
    EXPECT_EQ(marked, tcp["result"]["kernel"]["retransmits"].get<double>());
    EXPECT_GT(marked, 0) << "2% loss should need retransmissions: " << tcp.dump();

    // A UDP over-time plot of the page, and the sum of its "lost" shares (% per interval).
    auto over_time = [&](const char* page, const char* title) {
        const auto text = read_text(dir_ / page);
        const auto chart = chart_titled(text, title);
        double lost_pct = 0;
        if (chart.is_object())
            for (const auto& s : chart["series"])
                if (s["label"] == "lost")
                    for (const auto& p : s["xy"]) lost_pct += p[1].get<double>();
        return std::pair{chart, lost_pct};
    };
    const auto [over, lost_pct] = over_time("udp-lossy.html", "UDP loss and reordering over time");
    ASSERT_TRUE(over.is_object()) << charts_json(read_text(dir_ / "udp-lossy.html"));
    EXPECT_GT(lost_pct, 0) << "5% loss should show in some interval";
    const auto [stream_over, stream_lost_pct] =
        over_time("stream-lossy.html", "UDP stream loss and reordering over time");
    ASSERT_TRUE(stream_over.is_object()) << charts_json(read_text(dir_ / "stream-lossy.html"));
    EXPECT_GT(stream_lost_pct, 0) << "5% loss should show in some interval: " << stream.dump();

    for (const auto& [name, chart] :
         {std::pair{"tcp-lossy", &thr}, {"udp-lossy", &over}, {"stream-lossy", &stream_over}}) {
        SCOPED_TRACE(name);
        const auto checked =
            check_in_browser(chromium_, dir_ / (std::string{name} + ".html"), dir_ / (std::string{name} + ".png"));
        // The plot of issue 17 itself drew: its marks laid out and ink on its canvas.
        const auto drawn = drawn_of(checked.dom, (*chart)["id"].get<std::string>());
        std::smatch m;
        const std::regex counts{R"((\d+) points, (\d+) px)"};
        ASSERT_TRUE(std::regex_match(drawn, m, counts)) << "data-drawn=\"" << drawn << "\"";
        EXPECT_GT(std::stoul(m[1].str()), 0u);
        EXPECT_GT(std::stoul(m[2].str()), 2000u) << "the canvas is (nearly) blank";
    }

    // `nettool report` draws the same two plots from the saved JSON.
    const auto page = dir_ / "report.html";
    const auto r = run_nettool({"report", (dir_ / "tcp-lossy.json").string(), (dir_ / "udp-lossy.json").string(),
                                "-o", page.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto text = read_text(page);
    EXPECT_EQ(chart_titled(text, "Throughput per interval")["series"], thr["series"]);
    EXPECT_EQ(chart_titled(text, "UDP loss and reordering over time")["series"], over["series"]);
    EXPECT_LT(text.size(), nettool::html::size_budget_bytes);
    check_in_browser(chromium_, page, dir_ / "report.png");
}

TEST_F(HtmlBrowser, DnsPageAgainstDnsmasqDraws) {
    if (::access("/usr/sbin/dnsmasq", X_OK) != 0) GTEST_SKIP() << "dnsmasq is not installed";
    // dnsmasq takes the port for UDP and TCP: a free TCP port, as tests/dns_timer_test.cpp does.
    const auto port = nettool::test::free_port();
    const std::string server = "127.0.0.1:" + std::to_string(port);
    nettool::test::background_process dnsmasq{{"/usr/sbin/dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                                                "--port=" + std::to_string(port), "--listen-address=127.0.0.1",
                                                "--bind-interfaces", "--no-resolv", "--no-hosts",
                                                "--local=/test.example/",
                                                "--host-record=www.test.example,192.0.2.10"}};
    // dnsmasq answers within a few hundred ms of starting: one quick query until it does.
    bool answering = false;
    for (int i = 0; i < 40 && !answering; ++i) {
        const auto probe = run_nettool({"--json", "dns", "www.test.example", "--server", server, "--count", "1",
                                        "--timeout", "0.2"},
                                       10s);
        answering = probe.exit_code == 0 && nlohmann::json::parse(probe.out)["servers"][0]["answered"] == 1;
        if (!answering) std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(answering) << "dnsmasq did not start answering on " << server;
    const auto r = run_nettool({"--json", "dns", "www.test.example", "--server", server, "--count", "30",
                                "--timeout", "1", "--html", (dir_ / "dns.html").string()},
                               60s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto doc = nlohmann::json::parse(r.out);
    ASSERT_TRUE(doc.is_object()) << "dnsmasq never answered";
    const auto checked = check_in_browser(chromium_, dir_ / "dns.html", dir_ / "dns.png");
    EXPECT_GE(checked.charts, 3);
}

}  // namespace
