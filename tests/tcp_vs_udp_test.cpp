// The side-by-side report of `nettool tcp-vs-udp`, from results built by hand (the run itself is
// exercised end to end in probe_cli_test.cpp).
#include <nettool/probe/tcp_vs_udp.hpp>
#include "support/numbers.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace {

using namespace std::chrono_literals;
using namespace nettool;

using nettool::test::constant_histogram;

const std::vector<std::string>* row(const table& t, std::string_view name) {
    const auto it =
        std::find_if(t.rows.begin(), t.rows.end(), [&](const auto& r) { return r.at(0) == name; });
    return it == t.rows.end() ? nullptr : &*it;
}

tcp_vs_udp_result sample() {
    std::error_code ec;
    const auto target = socket_address::from_numeric("127.0.0.1", 51423, ec);
    tcp_vs_udp_result r;
    r.connect.target = target;
    r.connect.attempts = r.connect.established = 10;
    r.connect.connect_time = constant_histogram(12'800, 10);
    r.tcp_rr.target = target;
    r.tcp_rr.sent = r.tcp_rr.completed = 100;
    r.tcp_rr.rtt = constant_histogram(18'500, 100);
    r.tcp_rr.first_reply = 6710us;
    r.udp_rr.target = target;
    r.udp_rr.sent = r.udp_rr.received = 100;
    r.udp_rr.rtt = constant_histogram(153'100, 100);
    r.udp_rr.first_reply = 508us;
    r.tcp_stream.bytes_received = 1000;
    r.tcp_stream.bits_per_second = 9.66e9;
    r.udp_stream.sent = r.udp_stream.received = 1000;
    r.udp_stream.bits_per_second = 36.4e9;
    return r;
}

TEST(TcpVsUdpReport, TableSetsTheProtocolsSideBySide) {
    const auto rep = make_report(sample());
    EXPECT_EQ(rep.command(), "tcp-vs-udp");
    ASSERT_EQ(rep.tables().size(), 1u);
    const auto& t = rep.tables()[0];
    EXPECT_EQ(t.title, "TCP vs UDP to 127.0.0.1:51423");
    EXPECT_EQ(t.header, (std::vector<std::string>{"", "TCP", "UDP"}));
    ASSERT_NE(row(t, "setup: TCP handshake (p50)"), nullptr);
    EXPECT_EQ(*row(t, "setup: TCP handshake (p50)"),
              (std::vector<std::string>{"setup: TCP handshake (p50)", "12.8 us", "none"}));
    ASSERT_NE(row(t, "RTT p99"), nullptr);
    EXPECT_EQ(*row(t, "RTT p99"), (std::vector<std::string>{"RTT p99", "18.5 us", "153.1 us"}));
    ASSERT_NE(row(t, "throughput (received)"), nullptr);
    EXPECT_EQ(row(t, "throughput (received)")->at(1), "9.66 Gbit/s");
    ASSERT_GE(rep.readings().size(), 3u);
    EXPECT_EQ(
        rep.readings()[0],
        "TCP spent 12.8 us (p50) on its three-way handshake before any data could flow; its first reply "
        "took 6.71 ms from connect() (handshake, then one round trip), while UDP's first reply took 508.0 us "
        "with no setup at all.");
}

TEST(TcpVsUdpReport, NothingMeasuredShowsADashNotAZero) {
    auto r = sample();
    r.udp_rr.rtt = {};
    r.connect.connect_time = {};
    const auto rep = make_report(r);
    const auto& t = rep.tables().at(0);
    ASSERT_NE(row(t, "RTT p50"), nullptr);
    EXPECT_EQ(row(t, "RTT p50")->at(2), "-");
    EXPECT_EQ(row(t, "setup p99")->at(1), "-");
    // Without both figures the handshake sentence has nothing to compare.
    EXPECT_EQ(rep.readings()[0].rfind("TCP spent", 0), std::string::npos);
}

TEST(TcpVsUdpReport, JsonHasEveryPartAndSaysWhoRanTheResponder) {
    const auto j = make_report(sample(), true).to_json();
    EXPECT_EQ(j["command"], "tcp-vs-udp");
    EXPECT_EQ(j["target"], "127.0.0.1:51423");
    EXPECT_EQ(j["in_process_responder"], true);
    for (const char* part : {"connect", "rr", "stream", "retransmits"})
        EXPECT_TRUE(j["tcp"].contains(part)) << part;
    for (const char* part : {"rr", "stream"}) EXPECT_TRUE(j["udp"].contains(part)) << part;
    EXPECT_FALSE(j["readings"].empty());
    EXPECT_EQ(make_report(sample()).to_json()["in_process_responder"], false);
}

}  // namespace
