#include <nettool/probe/tcp_probe.hpp>

#include "support/process.hpp"
#include "support/responder_fixture.hpp"

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
    std::uint64_t sum = 0;
    for (const auto& iv : r.intervals) sum += iv.bytes;
    EXPECT_LE(sum, r.bytes_sent);
}

TEST_F(TcpProbe, DownloadBidirAndParallelStreams) {
    tcp_stream_options o;
    o.duration = 500ms;
    o.direction = stream_direction::download;
    auto r = tcp_stream_probe(target_, o);
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.bytes_sent, 0u);
    EXPECT_GT(r.bytes_received, 0u);

    o.direction = stream_direction::bidir;
    o.parallel = 2;
    r = tcp_stream_probe(target_, o);
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.streams, 4u);
    EXPECT_GT(r.bytes_sent, 0u);
    EXPECT_GT(r.bytes_received, r.bytes_sent);  // upload bytes arrive, plus everything downloaded
    nlohmann::json j = r;
    EXPECT_EQ(j["direction"], "bidir");
    EXPECT_TRUE(j.contains("bits_per_second"));
}

}  // namespace
