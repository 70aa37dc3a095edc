// The delivery traces of data/links/: each parses, has the mean rate data/links/README.md gives
// it, and is exactly what data/links/generate_traces.py writes.
#include <nettool/link/impairment.hpp>

#include "support/process.hpp"
#include "support/files.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
namespace link = nettool::link;
using namespace std::chrono_literals;

const fs::path links_dir = fs::path{NETTOOL_SOURCE_DIR} / "data" / "links";

using nettool::test::read_text;

/// The README's table: "| `NAME.trace` | opportunities | period | X.XXX Mbit/s | what |" ->
/// NAME.trace -> X.XXX (Mbit/s).
std::map<std::string, double> readme_rates() {
    std::map<std::string, double> rates;
    std::istringstream in(read_text(links_dir / "README.md"));
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with("| `")) continue;
        const auto name_end = line.find('`', 3);
        if (name_end == std::string::npos) continue;
        const std::string name = line.substr(3, name_end - 3);
        if (!name.ends_with(".trace")) continue;
        const auto unit = line.find(" Mbit/s |");
        if (unit == std::string::npos) continue;
        const auto start = line.rfind("| ", unit) + 2;
        double mbit = 0;
        const auto [end, ec] = std::from_chars(line.data() + start, line.data() + unit, mbit);
        if (ec != std::errc{} || end != line.data() + unit) continue;
        rates[name] = mbit;
    }
    return rates;
}

std::set<std::string> committed_traces() {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(links_dir))
        if (e.path().extension() == ".trace") names.insert(e.path().filename().string());
    return names;
}

TEST(LinkTraces, EveryTraceParsesAndHasTheMeanRateTheReadmeSays) {
    const auto rates = readme_rates();
    const auto names = committed_traces();
    ASSERT_GE(names.size(), 3u) << "no traces in " << links_dir;
    for (const auto& name : names) {
        SCOPED_TRACE(name);
        const auto it = rates.find(name);
        ASSERT_NE(it, rates.end()) << "data/links/README.md has no row with its mean rate";
        const auto trace = link::load_trace((links_dir / name).string());
        ASSERT_FALSE(trace.empty());
        // Each line one 1500-byte opportunity; the trace repeats with period = its last timestamp.
        const double period_s = static_cast<double>(trace.back()) / 1000.0;
        const double mean_bps = static_cast<double>(trace.size()) * 1500 * 8 / period_s;
        EXPECT_NEAR(mean_bps, it->second * 1e6, it->second * 1e6 * 0.01)
            << trace.size() << " opportunities over " << trace.back() << " ms";
    }
    for (const auto& [name, rate] : rates)
        EXPECT_TRUE(names.contains(name)) << "the README lists " << name << ", which is not in data/links";
}

TEST(LinkTraces, ConstantTracesAreOneOrTwoOpportunitiesEachMillisecond) {
    const auto twelve = link::load_trace((links_dir / "12mbit.trace").string());
    ASSERT_EQ(twelve.size(), 1000u);
    for (std::uint32_t i = 0; i < twelve.size(); ++i) ASSERT_EQ(twelve[i], i + 1);
    const auto twenty_four = link::load_trace((links_dir / "24mbit.trace").string());
    ASSERT_EQ(twenty_four.size(), 2000u);
    for (std::uint32_t i = 0; i < twenty_four.size(); ++i) ASSERT_EQ(twenty_four[i], i / 2 + 1);
}

TEST(LinkTraces, CellularTraceStaysBetweenTwoAndThirtyMbitPerSecond) {
    // Counted over each 250 ms step of the generator: 2 Mbit/s is 41.7 opportunities per 250 ms,
    // 30 Mbit/s 625; the credit carried between steps moves a count by at most one.
    const auto trace = link::load_trace((links_dir / "cellular.trace").string());
    ASSERT_EQ(trace.back(), 20000u);
    std::array<int, 80> per_step{};
    for (const auto ms : trace) ++per_step.at((ms - 1) / 250);
    const auto [lo, hi] = std::minmax_element(per_step.begin(), per_step.end());
    EXPECT_GE(*lo, 41);
    EXPECT_LE(*hi, 626);
    EXPECT_GE(*hi, 600) << "never near 30 Mbit/s";
    EXPECT_LE(*lo, 45) << "never near 2 Mbit/s";
}

// mahimahi's unit: an opportunity carries one 1500-byte packet (mm-link reads packets with the
// TUN's 4-byte header, so its PACKET_SIZE of 1504 is one 1500-byte IP packet). Through the pipe,
// the 12 Mbit/s trace must then carry exactly 1000 full-size packets per second, no more.
TEST(LinkTraces, TwelveMbitTraceCarriesOneFullSizePacketPerMillisecond) {
    link::direction_config c;
    c.trace_ms = link::load_trace((links_dir / "12mbit.trace").string());
    link::pipe p(c, 1);
    const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
    std::array<std::byte, 1500> packet{};
    for (int i = 0; i < 3000; ++i) p.offer(packet, t0);
    int out = 0;
    for (auto t = t0; t <= t0 + 2s; t += 1ms)
        while (p.pop(t)) ++out;
    EXPECT_EQ(out, 2000) << "1500-byte packets delivered in the trace's first two periods (2 s)";
}

TEST(LinkTraces, CommittedTracesAreExactlyWhatTheScriptWrites) {
    const auto dir = fs::temp_directory_path() / ("nettool-traces-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto r = nettool::test::run_process(
        {"/usr/bin/env", "python3", (links_dir / "generate_traces.py").string(), "--out", dir.string()});
    std::set<std::string> generated;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) generated.insert(e.path().filename().string());
    std::map<std::string, std::string> contents;
    for (const auto& name : generated) contents[name] = read_text(dir / name);
    fs::remove_all(dir, ec);
    if (r.exit_code == 127) GTEST_SKIP() << "python3 is not installed: cannot regenerate data/links";
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(generated, committed_traces()) << "the script and data/links hold different traces";
    for (const auto& [name, text] : contents) {
        const auto committed = read_text(links_dir / name);
        EXPECT_TRUE(text == committed) << name << " differs from what generate_traces.py writes ("
                                       << text.size() << " bytes against " << committed.size()
                                       << "); run data/links/generate_traces.py";
    }
}

}  // namespace
