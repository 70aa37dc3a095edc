#include <nettool/probe/udp_probe.hpp>

#include "support/responder_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using namespace std::chrono_literals;
using namespace nettool;

using UdpProbe = nettool::test::responder_fixture;

TEST_F(UdpProbe, RequestResponseAccountsForEveryProbe) {
    udp_rr_options o;
    o.count = 300;
    o.size = 200;
    const auto r = udp_rr_probe(target_, o);
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.sent, 300u);
    EXPECT_EQ(r.received + r.lost, r.sent);
    EXPECT_EQ(r.rtt.count() + r.late, r.received);
    EXPECT_GT(r.received, 0u);
    EXPECT_GT(r.first_reply.count(), 0);
    EXPECT_EQ(resp_->stats().udp_replies, r.received + r.duplicates);
}

TEST_F(UdpProbe, StreamAtAFixedRateIsCountedByTheResponder) {
    udp_stream_options o;
    o.size = 500;
    o.rate = 5000;
    o.duration = 600ms;
    const auto r = udp_stream_probe(target_, o);
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_GT(r.sent, 0u);
    // The pacing never sends ahead of schedule.
    EXPECT_LE(r.sent, static_cast<std::uint64_t>(o.rate * r.seconds) + 64);
    EXPECT_EQ(r.received - r.duplicates + r.lost, r.sent);
    EXPECT_EQ(r.duplicates, 0u);
    nlohmann::json j = r;
    EXPECT_TRUE(j.contains("packets_per_second"));
    EXPECT_TRUE(j.contains("bits_per_second"));
    EXPECT_GE(j["jitter_us"].get<double>(), 0.0);
}

TEST_F(UdpProbe, FlatOutStreamReportsWhatWasLost) {
    udp_stream_options o;
    o.size = 64;
    o.rate = 0;
    o.duration = 500ms;
    const auto r = udp_stream_probe(target_, o);
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_GT(r.sent, 1000u);
    EXPECT_EQ(r.received - r.duplicates + r.lost, r.sent);
    EXPECT_GT(r.packets_per_second, 0);
}

TEST(UdpProbeFailures, NoResponderIsAnErrorNotACrash) {
    std::error_code ec;
    const auto to = socket_address::from_numeric("127.0.0.1", 1, ec);
    const auto r = udp_rr_probe(to, {});
    EXPECT_EQ(r.received, 0u);
    EXPECT_FALSE(r.error.empty());
}

}  // namespace
