#include <nettool/probe/tcp_probe.hpp>

#include "support/process.hpp"
#include "support/responder_fixture.hpp"
#include "support/numbers.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using namespace std::chrono_literals;
using namespace nettool;

using TcpProbe = nettool::test::responder_fixture;

// A loopback port with nothing listening.
socket_address closed_port() {
    std::error_code ec;
    return socket_address::from_numeric("127.0.0.1", nettool::test::free_port(), ec);
}

TEST_F(TcpProbe, ConnectTimesEveryHandshake) {
    const auto r = tcp_connect_probe(target_, {25, {}, 2s});
    EXPECT_EQ(r.attempts, 25u);
    EXPECT_EQ(r.established, 25u);
    EXPECT_EQ(r.connect_time.count(), 25u);
    EXPECT_EQ(r.failures.total(), 0u);
    EXPECT_EQ(r.kernel.connections, 25u);
    EXPECT_GT(r.connect_time.min(), 0u);
}

TEST(TcpProbeFailures, RefusedConnectsAreCountedNotThrown) {
    const auto r = tcp_connect_probe(closed_port(), {3, {}, 2s});
    EXPECT_EQ(r.established, 0u);
    EXPECT_EQ(r.failures.refused, 3u);
    EXPECT_EQ(r.connect_time.count(), 0u);
}

TEST(TcpProbeFailures, RrAgainstNothingReportsWhy) {
    const auto r = tcp_rr_probe(closed_port(), {});
    EXPECT_EQ(r.completed, 0u);
    EXPECT_NE(r.error.find("refused"), std::string::npos) << r.error;
}

TEST_F(TcpProbe, RequestResponseEchoesEveryByte) {
    tcp_rr_options o;
    o.size = 300;
    o.count = 200;
    const auto r = tcp_rr_probe(target_, o);
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.sent, 200u);
    EXPECT_EQ(r.completed, 200u);
    EXPECT_EQ(r.corrupted, 0u);
    EXPECT_EQ(r.rtt.count(), 200u);
    EXPECT_GE(r.first_reply, r.connect_time);
    nlohmann::json j = r;
    EXPECT_EQ(j["rtt"]["count"], 200);
}

// One untimed session before the timed one; the first request rides with the hello, so a single
// request is answered on a session that otherwise only connected.
TEST_F(TcpProbe, RequestResponseWarmsUpOnAnUntimedSessionFirst) {
    tcp_rr_options o;
    o.count = 1;
    auto r = tcp_rr_probe(target_, o);
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_TRUE(r.warmed_up);
    EXPECT_EQ(r.completed, 1u);
    EXPECT_EQ(r.corrupted, 0u);
    EXPECT_NE(r.local.port(), 0);
    EXPECT_NE(r.local.port(), target_.port());
    EXPECT_GT(r.first_reply, r.connect_time);
    EXPECT_EQ(resp_->stats().sessions, 2u);
    o.warm_up = false;
    r = tcp_rr_probe(target_, o);
    EXPECT_FALSE(r.warmed_up);
    EXPECT_EQ(r.completed, 1u);
    EXPECT_EQ(resp_->stats().sessions, 3u);
}

TEST_F(TcpProbe, RequestResponseStopsAtDuration) {
    tcp_rr_options o;
    o.count = 0;
    o.duration = 200ms;
    const auto r = tcp_rr_probe(target_, o);
    EXPECT_GT(r.completed, 0u);
    EXPECT_EQ(r.completed, r.rtt.count());
}

TEST_F(TcpProbe, UploadIsCountedByTheReceiver) {
    tcp_stream_options o;
    o.duration = 1200ms;
    std::vector<stream_interval> seen;
    const auto r = tcp_stream_probe(target_, o, [&](const stream_interval& iv) { seen.push_back(iv); });
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_GT(r.bytes_sent, 0u);
    // Everything written before the half-close reaches the sink: TCP loses nothing.
    EXPECT_EQ(r.bytes_received, r.bytes_sent);
    EXPECT_GT(r.bits_per_second, 0);
    EXPECT_EQ(seen, r.intervals);
    ASSERT_GE(r.intervals.size(), 2u);
    std::uint64_t sum = 0, retransmits = 0;
    for (const auto& iv : r.intervals) {
        sum += iv.bytes;
        // This host sends: every interval has its count of the socket's retransmissions.
        ASSERT_TRUE(iv.retransmits.has_value());
        retransmits += *iv.retransmits;
    }
    EXPECT_LE(sum, r.bytes_sent);
    EXPECT_EQ(retransmits, r.kernel.retransmits);
    nlohmann::json j = r;
    EXPECT_EQ(j["intervals"][0]["retransmits"], r.intervals[0].retransmits.value());
}

TEST_F(TcpProbe, DownloadBidirAndParallelStreams) {
    tcp_stream_options o;
    o.duration = 500ms;
    o.direction = stream_direction::download;
    auto r = tcp_stream_probe(target_, o);
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.bytes_sent, 0u);
    EXPECT_GT(r.bytes_received, 0u);
    // Only the responder sends, and only the sender knows its retransmissions: no count.
    for (const auto& iv : r.intervals) EXPECT_FALSE(iv.retransmits.has_value());
    if (!r.intervals.empty()) {
        EXPECT_FALSE(nlohmann::json(r)["intervals"][0].contains("retransmits"));
    }

    o.direction = stream_direction::bidir;
    o.parallel = 2;
    r = tcp_stream_probe(target_, o);
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.streams, 4u);
    EXPECT_GT(r.bytes_sent, 0u);
    EXPECT_GT(r.bytes_received, r.bytes_sent);  // upload bytes arrive, plus everything downloaded
    std::uint64_t retransmits = 0;
    for (const auto& iv : r.intervals) retransmits += iv.retransmits.value_or(0);
    EXPECT_EQ(retransmits, r.kernel.retransmits);  // the two sending streams' counts
    nlohmann::json j = r;
    EXPECT_EQ(j["direction"], "bidir");
    EXPECT_TRUE(j.contains("bits_per_second"));
}

// ---------------------------------------------------------------------------------------------
// Reports: results built by hand, so every line a user reads is checked without a network.

socket_address documentation_target() {
    std::error_code ec;
    return socket_address::from_numeric("192.0.2.1", 51423, ec);
}

using nettool::test::constant_histogram;

const std::vector<std::string> latency_columns{"count", "min", "p50",  "p90",   "p99",
                                               "p99.9", "max", "mean", "stddev"};

TEST(TcpReport, ConnectHasLatencyFailuresAndTheKernelsReading) {
    tcp_connect_result r;
    r.target = documentation_target();
    r.attempts = 10;
    r.established = 7;
    r.connect_time = constant_histogram(41'300, 7);
    r.failures.refused = 2;
    r.failures.timed_out = 1;
    r.kernel.rtt_us = 40.6;
    r.kernel.retransmits = 1;
    const auto rep = make_report(r);

    EXPECT_EQ(rep.command(), "tcp");
    ASSERT_EQ(rep.tables().size(), 2u);
    EXPECT_EQ(rep.tables()[0].title, "TCP connect to 192.0.2.1:51423: 7 of 10 established");
    EXPECT_EQ(rep.tables()[0].header, latency_columns);
    EXPECT_EQ(rep.tables()[0].rows.at(0).at(2), "41.3 us");
    EXPECT_EQ(rep.tables()[1].title, "failures");
    EXPECT_EQ(rep.tables()[1].header,
              (std::vector<std::string>{"refused", "timed out", "unreachable", "other"}));
    EXPECT_EQ(rep.tables()[1].rows.at(0), (std::vector<std::string>{"2", "1", "0", "0"}));
    EXPECT_EQ(rep.readings(),
              (std::vector<std::string>{
                  "Kernel (TCP_INFO): handshake RTT 41 us on average, 1 retransmitted SYNs."}));

    const auto j = rep.to_json();
    EXPECT_EQ(j["command"], "tcp");
    EXPECT_EQ(j["mode"], "connect");
    EXPECT_EQ(j["result"], nlohmann::json(r));
    EXPECT_EQ(j["result"]["failures"]["total"], 3);

    // Every connect established: no failures table.
    r.established = 10;
    r.failures = {};
    EXPECT_EQ(make_report(r).tables().size(), 1u);
}

TEST(TcpReport, RequestResponseNamesTheSizeAndReadsSetupAndFirstReply) {
    tcp_rr_result r;
    r.target = documentation_target();
    r.sent = 100;
    r.completed = 99;
    r.rtt = constant_histogram(25'000, 99);
    r.connect_time = 250us;
    r.first_reply = 400us;
    r.kernel.retransmits = 3;
    const auto rep = make_report(r, {.size = 512});

    ASSERT_EQ(rep.tables().size(), 1u);
    EXPECT_EQ(rep.tables()[0].title, "TCP request/response with 192.0.2.1:51423, 512 B: 99 of 100 answered");
    EXPECT_EQ(rep.tables()[0].header, latency_columns);
    EXPECT_EQ(rep.tables()[0].rows.at(0).at(0), "99");
    EXPECT_EQ(rep.readings(),
              (std::vector<std::string>{
                  "The handshake took 250.0 us; the first reply came 400.0 us after connect() was called: the "
                  "handshake plus one round trip, since the first request went out with the session hello. The "
                  "kernel retransmitted 3 segments."}));
    const auto j = rep.to_json();
    EXPECT_EQ(j["mode"], "rr");
    EXPECT_EQ(j["result"]["completed"], 99);
    EXPECT_EQ(j["result"]["rtt"]["count"], 99);
    EXPECT_FALSE(j["result"].contains("error"));
}

TEST(TcpReport, StreamCarriesThroughputAtTheTopLikeIperf3) {
    tcp_stream_result r;
    r.target = documentation_target();
    r.direction = stream_direction::download;
    r.streams = 2;
    r.bytes_sent = 0;
    r.bytes_received = 1'250'000'000;
    r.seconds = 1.0;
    r.bits_per_second = 10e9;
    r.kernel.retransmits = 5;
    r.kernel.cwnd_segments = 10;
    r.kernel.congestion_control = "cubic";
    const auto rep = make_report(r);

    ASSERT_EQ(rep.tables().size(), 1u);
    const auto& t = rep.tables()[0];
    EXPECT_EQ(t.title, "TCP stream with 192.0.2.1:51423 (download, 2 streams)");
    EXPECT_EQ(t.header,
              (std::vector<std::string>{"seconds", "sent", "received", "throughput", "retransmits", "cwnd",
                                        "congestion control"}));
    EXPECT_EQ(t.rows.at(0),
              (std::vector<std::string>{"1.00", "0 B", "1.25 GB", "10.0 Gbit/s", "5", "10", "cubic"}));
    EXPECT_TRUE(rep.readings().empty());
    const auto j = rep.to_json();
    EXPECT_EQ(j["mode"], "stream");
    EXPECT_EQ(j["bits_per_second"], 10e9);
    EXPECT_EQ(j["result"]["direction"], "download");

    r.streams = 1;
    EXPECT_EQ(make_report(r).tables()[0].title, "TCP stream with 192.0.2.1:51423 (download, 1 stream)");
}

}  // namespace
