// Counts over time across a real lossy path (issue 17): a client and a server namespace joined
// through a router namespace that drops a share of the packets towards the server with an
// nftables `numgen random` rule carrying a counter, behind a 50 Mbit/s tbf so a run is a few
// thousand segments (this kernel has no netem).
//   - TCP: `nettool tcp --mode stream` samples its socket's tcpi_total_retrans at each interval
//     boundary. The per-interval counts sum to the run's total, and agree with tshark's
//     tcp.analysis.retransmission (and, on this sender-side capture, out_of_order) flags in a
//     tcpdump capture on the client's veth, counted in the same windows (aligned on the first
//     data segment).
//   - UDP: `nettool udp --mode rr` buckets every probe's fate by send time. The per-interval
//     losses sum to the total and match the packets the nftables drop rule counted.
//   - UDP stream: each datagram names its interval, the responder counts each interval apart.
//     Captures on both sides of the router, read by tshark, count each interval's datagrams:
//     what left the client is the interval's `sent`, what reached the server its `sent - lost`.
// Root only; skipped without ip, nft, tc, tcpdump or tshark.
#include "support/child.hpp"
#include "support/netns_lab.hpp"
#include "support/routed_path.hpp"
#include "support/process.hpp"
#include "support/files.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nettool::test::child;
using nettool::test::netns_lab;
using nettool::test::run_process;

using nettool::test::read_text;

using nettool::test::have_tool;

class StreamIntervalsLossy : public nettool::test::routed_path_fixture {
protected:
    void SetUp() override {
        if (!nettool::test::is_root()) GTEST_SKIP() << "needs root to build network namespaces and capture";
        for (const char* tool : {"tshark", "tcpdump", "nft", "tc", "ip"})
            if (!have_tool(tool)) GTEST_SKIP() << tool << " not installed: the lossy-path interval checks are skipped";
        dir_ = fs::temp_directory_path() /
               fmt::format("nettool-intervals-{}-{}", ::getpid(),
                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
        ASSERT_NO_FATAL_FAILURE(build_path("si"));
        ASSERT_NO_FATAL_FAILURE(bottleneck());
    }

    /// Drops `percent` of the given protocol's packets towards the server's port, counting them.
    void drop_percent(int percent, const char* proto) {
        rule(fmt::format("ip daddr {} {} dport 51423 numgen random mod 100 < {} counter drop", server_ip, proto,
                         percent));
    }
    /// The packets the drop rule counted.
    std::uint64_t dropped() {
        auto r = lab_->exec(router_, {"nft", "list", "chain", "inet", "impair", "pass"}, 10s);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        std::smatch m;
        const std::regex re{R"(counter packets (\d+) bytes \d+ drop)"};
        if (!std::regex_search(r.out, m, re)) {
            ADD_FAILURE() << "no counter in the drop rule: " << r.out;
            return 0;
        }
        return std::stoull(m[1].str());
    }
};

TEST_F(StreamIntervalsLossy, TcpRetransmissionsPerIntervalAgreeWithTshark) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    ASSERT_NO_FATAL_FAILURE(drop_percent(2, "tcp"));
    const auto file = (dir_ / "client.pcap").string(), log = file + ".log";
    nlohmann::json doc;
    {
        // Headers are enough for tshark's sequence analysis; the client's end sees every original
        // and every retransmission (the router drops after it).
        child dump{{"ip", "netns", "exec", client_, "tcpdump", "-i", "vc", "-n", "--immediate-mode", "-s", "96",
                    "-B", "16384", "-w", file, "tcp", "port", "51423"},
                   log};
        for (int i = 0; i < 100 && read_text(log).find("listening on") == std::string::npos; ++i)
            std::this_thread::sleep_for(20ms);
        ASSERT_NE(read_text(log).find("listening on"), std::string::npos) << read_text(log);
        auto r = lab_->exec(client_, {NETTOOL_BIN, "--json", "tcp", server_ip, "-m", "stream", "-d", "3", "-t", "10"},
                            60s);  // -t 10: room for a resent SYN on the lossy path
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        doc = nlohmann::json::parse(r.out);
        std::this_thread::sleep_for(300ms);  // the last packets reach the capture
        dump.stop();                         // SIGTERM: tcpdump flushes and closes the file
    }
    const auto tcpdump_said = read_text(log);
    ASSERT_NE(tcpdump_said.find("\n0 packets dropped by kernel"), std::string::npos)
        << "tcpdump missed packets, the capture cannot be the oracle: " << tcpdump_said;

    const auto& res = doc["result"];
    const auto& ivs = res["intervals"];
    ASSERT_GE(ivs.size(), 2u) << res.dump();
    std::uint64_t sum = 0;
    for (const auto& iv : ivs) {
        ASSERT_TRUE(iv.contains("retransmits")) << iv.dump();
        sum += iv["retransmits"].get<std::uint64_t>();
    }
    const auto total = res["kernel"]["retransmits"].get<std::uint64_t>();
    EXPECT_EQ(sum, total) << res.dump();
    EXPECT_GT(total, 20u) << "2% dropped over 3 s should need retransmissions: " << res.dump();

    // tshark: the first data segment (the stream's start: the hello before it is a few bytes),
    // and the time of every segment towards the server it flags as a retransmission.
    auto first = run_process({"tshark", "-n", "-r", file, "-Y",
                              fmt::format("ip.dst=={} && tcp.dstport==51423 && tcp.len>1000", server_ip), "-T",
                              "fields", "-e", "frame.time_epoch"},
                             60s);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    ASSERT_FALSE(first.out.empty()) << "no data segment in the capture";
    const double t0 = std::stod(first.out.substr(0, first.out.find('\n')));  // tshark's -c counts packets read
    // On the sender's own wire a segment below the highest sequence sent can only be a resend, but
    // tshark does not know which end it is looking from: one that follows the previous segment
    // within its out-of-order threshold (the path's RTT, here well under a millisecond; RACK and
    // fast retransmit resend that quickly) it flags out_of_order instead. Seen in runs of this
    // test: 545 retransmission flags and 793 out_of_order flags, and TCP_INFO's count 1338.
    auto rx = run_process({"tshark", "-n", "-r", file, "-Y",
                           fmt::format("ip.dst=={} && tcp.dstport==51423 && (tcp.analysis.retransmission || "
                                       "tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission "
                                       "|| tcp.analysis.out_of_order)",
                                       server_ip),
                           "-T", "fields", "-e", "frame.time_epoch"},
                          120s);
    ASSERT_EQ(rx.exit_code, 0) << rx.err;
    std::vector<double> at;
    std::istringstream lines{rx.out};
    for (std::string line; std::getline(lines, line);)
        if (!line.empty()) at.push_back(std::stod(line) - t0);

    // The windows are the intervals', on the capture's clock from the first data segment. The first
    // also holds what came before the stream started (the set-up), the last what came after it
    // stopped sending (data still in flight), as nettool's own counts do.
    std::uint64_t tshark_total = 0;
    std::string table;
    for (std::size_t k = 0; k < ivs.size(); ++k) {
        const double lo = k == 0 ? -1e9 : ivs[k]["start_s"].get<double>();
        const double hi = k + 1 == ivs.size() ? 1e9 : ivs[k]["end_s"].get<double>();
        const auto theirs = static_cast<std::uint64_t>(
            std::count_if(at.begin(), at.end(), [&](double t) { return t >= lo && t < hi; }));
        const auto ours = ivs[k]["retransmits"].get<std::uint64_t>();
        tshark_total += theirs;
        table += fmt::format("  [{:.2f}, {:.2f}) nettool {} tshark {}\n", ivs[k]["start_s"].get<double>(),
                             ivs[k]["end_s"].get<double>(), ours, theirs);
        // Within 10% or 5 segments: the boundary is when nettool's thread woke and read TCP_INFO,
        // placed on the capture's clock through the first data segment (off by the thread's
        // wake-up, well under a millisecond), so a retransmission within that of a boundary may
        // fall on either side; and the kernel counts a few segments tshark does not flag (tail
        // loss probes it reads as new data). Measured here: 326/322, 101/100, 91/90 segments.
        const double diff = std::abs(static_cast<double>(ours) - static_cast<double>(theirs));
        EXPECT_LE(diff, std::max(5.0, 0.10 * static_cast<double>(theirs))) << "interval " << k;
    }
    const double diff = std::abs(static_cast<double>(total) - static_cast<double>(tshark_total));
    EXPECT_LE(diff, std::max(5.0, 0.05 * static_cast<double>(tshark_total)))
        << "whole run: nettool " << total << ", tshark " << tshark_total;
    std::cout << "retransmissions per interval:\n" << table;
    if (HasFailure()) ADD_FAILURE() << table;
}

TEST_F(StreamIntervalsLossy, UdpRrLossesPerIntervalSumToTheDropsNftablesCounted) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    ASSERT_NO_FATAL_FAILURE(drop_percent(10, "udp"));
    auto r = lab_->exec(client_, {NETTOOL_BIN, "--json", "udp", server_ip, "-m", "rr", "-c", "400", "-t", "0.1"}, 60s);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto res = nlohmann::json::parse(r.out)["result"];
    const auto& ivs = res["intervals"];
    // A run this short (under 10 s of sending) is cut into 10 equal stretches.
    ASSERT_EQ(ivs.size(), 10u) << res.dump();
    std::uint64_t sent = 0, lost = 0, reordered = 0, dup = 0, late = 0;
    double prev_end = 0;
    for (const auto& iv : ivs) {
        EXPECT_NEAR(iv["start_s"].get<double>(), prev_end, 1e-9) << iv.dump();
        prev_end = iv["end_s"].get<double>();
        EXPECT_LE(iv["lost"].get<std::uint64_t>(), iv["sent"].get<std::uint64_t>()) << iv.dump();
        sent += iv["sent"].get<std::uint64_t>();
        lost += iv["lost"].get<std::uint64_t>();
        reordered += iv["reordered"].get<std::uint64_t>();
        dup += iv["duplicates"].get<std::uint64_t>();
        late += iv["late"].get<std::uint64_t>();
    }
    EXPECT_EQ(sent, res["sent"].get<std::uint64_t>());
    EXPECT_EQ(lost, res["lost"].get<std::uint64_t>());
    EXPECT_EQ(reordered, res["reordered"].get<std::uint64_t>());
    EXPECT_EQ(dup, res["duplicates"].get<std::uint64_t>());
    EXPECT_EQ(late, res["late"].get<std::uint64_t>());
    EXPECT_GT(lost, 10u) << "10% of 400 dropped: " << res.dump();
    // Only requests cross the rule (answers go the other way), and nothing else loses them here: the
    // rule's count is the run's losses, plus the warm-up's datagram when the rule took that one.
    const auto counted = dropped();
    const auto warm = res["warm_up_sent"].get<std::uint64_t>();
    EXPECT_GE(counted, lost) << res.dump();
    EXPECT_LE(counted, lost + warm) << res.dump();
}

/// Datagrams of nettool's UDP stream (magic "NTU1", kind 3) towards the server in a capture, per
/// the interval their header names (offset 6), read by tshark.
std::map<unsigned, std::uint64_t> stream_datagrams_per_interval(const std::string& file, const char* to) {
    std::map<unsigned, std::uint64_t> out;
    auto r = run_process({"tshark", "-n", "-r", file, "-Y",
                          fmt::format("ip.dst=={} && udp.dstport==51423", to), "-T",
                          "fields", "-e", "udp.payload"},
                         60s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::istringstream lines(r.out);
    for (std::string hex; std::getline(lines, hex);) {
        hex.erase(std::remove(hex.begin(), hex.end(), ':'), hex.end());
        if (hex.size() < 16 || hex.compare(0, 12, "4e5455310103") != 0) continue;  // "NTU1", v1, stream
        ++out[static_cast<unsigned>(std::stoul(hex.substr(12, 4), nullptr, 16))];
    }
    return out;
}

TEST_F(StreamIntervalsLossy, UdpStreamLossesPerIntervalAgreeWithCapturesOnBothSides) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    ASSERT_NO_FATAL_FAILURE(drop_percent(10, "udp"));
    // 2000 datagrams/s of 200 B (3.2 Mbit/s, far below the 50 Mbit/s bottleneck): every loss is
    // the rule's. 3.5 s: three whole intervals and a half one.
    const auto sent_file = (dir_ / "client.pcap").string(), got_file = (dir_ / "server.pcap").string();
    nlohmann::json res;
    {
        child at_client{{"ip", "netns", "exec", client_, "tcpdump", "-i", "vc", "-n", "--immediate-mode", "-B",
                         "16384", "-w", sent_file, "udp", "port", "51423"},
                        sent_file + ".log"};
        child at_server{{"ip", "netns", "exec", server_, "tcpdump", "-i", "vs", "-n", "--immediate-mode", "-B",
                         "16384", "-w", got_file, "udp", "port", "51423"},
                        got_file + ".log"};
        for (const auto& log : {sent_file + ".log", got_file + ".log"}) {
            for (int i = 0; i < 100 && read_text(log).find("listening on") == std::string::npos; ++i)
                std::this_thread::sleep_for(20ms);
            ASSERT_NE(read_text(log).find("listening on"), std::string::npos) << read_text(log);
        }
        auto r = lab_->exec(client_,
                            {NETTOOL_BIN, "--json", "udp", server_ip, "-m", "stream", "-d", "3.5", "-s", "200",
                             "--rate", "2000"},
                            60s);
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
        res = nlohmann::json::parse(r.out)["result"];
        std::this_thread::sleep_for(300ms);
        at_client.stop();
        at_server.stop();
    }
    for (const auto& log : {sent_file + ".log", got_file + ".log"})
        ASSERT_NE(read_text(log).find("\n0 packets dropped by kernel"), std::string::npos)
            << "tcpdump missed packets, the capture cannot be the oracle: " << read_text(log);
    const auto left = stream_datagrams_per_interval(sent_file, server_ip);
    const auto arrived = stream_datagrams_per_interval(got_file, server_ip);

    const auto& ivs = res["intervals"];
    ASSERT_EQ(ivs.size(), 4u) << res.dump();
    std::uint64_t sent = 0, lost = 0;
    std::string table;
    for (unsigned k = 0; k < ivs.size(); ++k) {
        const auto& iv = ivs[k];
        ASSERT_TRUE(iv.contains("sent") && iv.contains("lost")) << iv.dump();
        const auto s = iv["sent"].get<std::uint64_t>(), l = iv["lost"].get<std::uint64_t>();
        table += fmt::format("interval {}: sent {} (capture {}), lost {}, reached the server {} (capture {})\n", k,
                             s, left.count(k) ? left.at(k) : 0, l, s - l, arrived.count(k) ? arrived.at(k) : 0);
        EXPECT_EQ(left.count(k) ? left.at(k) : 0, s) << "interval " << k;
        EXPECT_EQ(arrived.count(k) ? arrived.at(k) : 0, s - l) << "interval " << k;
        EXPECT_EQ(iv["duplicates"], 0) << iv.dump();
        EXPECT_GT(l, 0u) << "10% of every interval's datagrams dropped: " << iv.dump();
        sent += s;
        lost += l;
    }
    EXPECT_EQ(left.size(), ivs.size()) << "datagrams naming an interval the result does not have";
    EXPECT_EQ(sent, res["sent"].get<std::uint64_t>());
    EXPECT_EQ(lost, res["lost"].get<std::uint64_t>());
    EXPECT_EQ(lost, dropped()) << "the drop rule is the only loss on this path";
    std::cout << table;
    if (HasFailure()) ADD_FAILURE() << table;
}

}  // namespace
