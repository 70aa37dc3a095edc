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
    o.warm_up = false;  // so the responder's reply count is this run's alone
    const auto r = udp_rr_probe(target_, o);
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_FALSE(r.warmed_up);
    EXPECT_EQ(r.warm_up_sent, 0u);
    EXPECT_EQ(r.sent, 300u);
    EXPECT_EQ(r.received + r.lost, r.sent);
    EXPECT_EQ(r.rtt.count() + r.late, r.received);
    EXPECT_GT(r.received, 0u);
    EXPECT_GT(r.first_reply.count(), 0);
    EXPECT_EQ(settled_udp_replies(r.received + r.duplicates), r.received + r.duplicates);
    // Over time: a run this short is cut into 10 stretches of its sending time, back to back,
    // and each count summed over them is the run's.
    ASSERT_EQ(r.intervals.size(), 10u);
    udp_rr_interval sum;
    double end = 0;
    for (const auto& iv : r.intervals) {
        EXPECT_DOUBLE_EQ(iv.start_s, end);
        EXPECT_GE(iv.end_s, iv.start_s);
        end = iv.end_s;
        sum.sent += iv.sent;
        sum.lost += iv.lost;
        sum.reordered += iv.reordered;
        sum.duplicates += iv.duplicates;
        sum.late += iv.late;
    }
    EXPECT_EQ(sum.sent, r.sent);
    EXPECT_EQ(sum.lost, r.lost);
    EXPECT_EQ(sum.reordered, r.reordered);
    EXPECT_EQ(sum.duplicates, r.duplicates);
    EXPECT_EQ(sum.late, r.late);
}

// A client keeps its session between runs: one control connection (the responder counts one
// session), the same sockets, numbers that run on; a new size needs a new session.
TEST_F(UdpProbe, ClientKeepsItsSessionBetweenRuns) {
    udp_rr_options o;
    o.count = 20;
    o.size = 64;
    o.drain = 0ns;
    udp_rr_client c;
    const auto first = c.run(target_, o);
    ASSERT_TRUE(first.error.empty()) << first.error;
    for (int i = 0; i < 3; ++i) {
        const auto r = c.run(target_, o);
        ASSERT_TRUE(r.error.empty()) << r.error;
        EXPECT_EQ(r.sent, 20u);
        EXPECT_EQ(r.received + r.lost, r.sent);
        EXPECT_EQ(r.rtt.count() + r.late, r.received);
        EXPECT_EQ(r.duplicates, 0u);
        EXPECT_EQ(r.control_local.to_string(), first.control_local.to_string()) << "the same control connection";
        EXPECT_EQ(r.local.to_string(), first.local.to_string()) << "the same UDP socket";
    }
    EXPECT_EQ(resp_->stats().sessions, 1u);
    o.size = 100;
    const auto bigger = c.run(target_, o);
    ASSERT_TRUE(bigger.error.empty()) << bigger.error;
    EXPECT_NE(bigger.control_local.to_string(), first.control_local.to_string()) << "another size, another session";
    EXPECT_EQ(resp_->stats().sessions, 2u);
    c.close();
    const auto again = c.run(target_, o);
    ASSERT_TRUE(again.error.empty()) << again.error;
    EXPECT_EQ(resp_->stats().sessions, 3u);
    EXPECT_EQ(settled_udp_replies(4 * 20u + 2 * 20u), 4 * 20u + 2 * 20u);
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

// ---------------------------------------------------------------------------------------------
// Reports: results built by hand, so every line a user reads is checked without a network.

socket_address documentation_target() {
    std::error_code ec;
    return socket_address::from_numeric("192.0.2.1", 51423, ec);
}

TEST(UdpReport, RequestResponseCountsEachOutcomeApartAndReadsTheLoss) {
    udp_rr_result r;
    r.target = documentation_target();
    r.sent = 100;
    r.received = 90;
    r.lost = 10;
    r.duplicates = 2;
    r.reordered = 1;
    r.late = 3;
    for (int i = 0; i < 90; ++i) r.rtt.record(30'000);
    const auto rep = make_report(r, {.size = 200});

    EXPECT_EQ(rep.command(), "udp");
    ASSERT_EQ(rep.tables().size(), 1u);
    const auto& t = rep.tables()[0];
    EXPECT_EQ(t.title, "UDP request/response with 192.0.2.1:51423, 200 B");
    EXPECT_EQ(t.header, (std::vector<std::string>{"sent", "answered", "lost", "dup", "reordered", "late",
                                                  "p50", "p90", "p99", "max"}));
    EXPECT_EQ(t.rows.at(0), (std::vector<std::string>{"100", "90", "10", "2", "1", "3", "30.0 us", "30.0 us",
                                                      "30.0 us", "30.0 us"}));
    EXPECT_EQ(rep.readings(),
              (std::vector<std::string>{"UDP lost 10.00% of its requests or answers; nothing resent them."}));
    const auto j = rep.to_json();
    EXPECT_EQ(j["mode"], "rr");
    EXPECT_EQ(j["result"]["lost"], 10);
    EXPECT_EQ(j["result"]["late"], 3);
    EXPECT_EQ(j["result"]["rtt"]["count"], 90);
}

TEST(UdpReport, StreamTitleSaysThePaceAndTopLevelCarriesTheRates) {
    udp_stream_result r;
    r.target = documentation_target();
    r.size = 1400;
    r.sent = 1000;
    r.received = 950;
    r.lost = 50;
    r.out_of_order = 4;
    r.max_displacement = 2;
    r.jitter_us = 12.5;
    r.packets_per_second = 950;
    r.bits_per_second = 950.0 * 1400 * 8;
    const auto rep = make_report(r, {.size = 1400, .rate = 1000});

    ASSERT_EQ(rep.tables().size(), 1u);
    const auto& t = rep.tables()[0];
    EXPECT_EQ(t.title, "UDP stream to 192.0.2.1:51423, 1400 B datagrams, 1.00 kpkt/s");
    EXPECT_EQ(t.header,
              (std::vector<std::string>{"sent", "received", "lost", "where lost", "dup", "out of order",
                                        "max displacement", "jitter", "received rate", "throughput"}));
    EXPECT_EQ(t.rows.at(0),
              (std::vector<std::string>{"1000", "950", "50 (5.00%)", "not counted by the responder", "0", "4", "2",
                                        "12.5 us", "950 pkt/s", "10.6 Mbit/s"}));
    const auto j = rep.to_json();
    EXPECT_EQ(j["mode"], "stream");
    EXPECT_EQ(j["packets_per_second"], 950);
    EXPECT_EQ(j["bits_per_second"], r.bits_per_second);
    EXPECT_EQ(j["result"]["out_of_order"], 4);

    EXPECT_EQ(make_report(r, {.size = 64}).tables()[0].title,
              "UDP stream to 192.0.2.1:51423, 64 B datagrams, as fast as possible");
}

// The reading names where the loss happened: on the path, at the receiver's socket buffer, both,
// or that an older responder did not say; the JSON carries the split, null when unknown.
TEST(UdpReport, StreamLossIsToldAsPathOrReceiverOrBoth) {
    udp_stream_result r;
    r.target = documentation_target();
    r.sent = 1000;
    r.received = 900;
    r.lost = 100;
    r.send_packets_per_second = 1e6;
    r.packets_per_second = 9e5;
    const udp_stream_options o{.size = 64};

    auto rep = make_report(r, o);
    ASSERT_EQ(rep.readings().size(), 1u);
    EXPECT_EQ(rep.readings()[0], "UDP lost 100 of 1000 datagrams (10.00%); the responder does not count its "
                                 "socket's drops (an older nettool), so where they were lost is unknown.");
    EXPECT_TRUE(rep.to_json()["result"]["receiver_dropped"].is_null());
    EXPECT_TRUE(rep.to_json()["result"]["path_lost"].is_null());

    r.receiver_dropped = 0;
    r.path_lost = 100;
    rep = make_report(r, o);
    EXPECT_EQ(rep.tables()[0].rows.at(0).at(3), "100 on the path, 0 at the receiver");
    EXPECT_EQ(rep.readings().at(0), "All 100 lost datagrams (10.00% of those sent) were lost on the path between "
                                    "the two sockets (links, queues, filters); the receiver's socket buffer "
                                    "dropped none.");
    EXPECT_EQ(rep.to_json()["result"]["path_lost"], 100);
    EXPECT_EQ(rep.to_json()["result"]["receiver_dropped"], 0);

    r.receiver_dropped = 100;
    r.path_lost = 0;
    EXPECT_EQ(make_report(r, o).readings().at(0),
              "All 100 lost datagrams (10.00% of those sent) were dropped at the receiver, whose socket buffer "
              "overflowed: the sender pushed 1.00 Mpkt/s and the receiver took 900.0 kpkt/s, and without flow "
              "control UDP drops the excess there.");

    r.receiver_dropped = 30;
    r.path_lost = 70;
    EXPECT_EQ(make_report(r, o).readings().at(0),
              "Of the 100 lost datagrams (10.00% of those sent), 70 (7.00%) were lost on the path between the two "
              "sockets and 30 (3.00%) were dropped at the receiver, whose socket buffer overflowed: the sender "
              "pushed 1.00 Mpkt/s and the receiver took 900.0 kpkt/s, and without flow control UDP drops the "
              "excess there.");

    r.lost = 0;
    r.received = 1000;
    r.receiver_dropped = 0;
    r.path_lost = 0;
    EXPECT_EQ(make_report(r, o).readings().at(0),
              "UDP lost nothing on this run: every datagram sent reached the responder.");
}

// Against a live responder the split is always there and adds up to the loss.
TEST_F(UdpProbe, StreamLossSplitAddsUp) {
    const auto r = udp_stream_probe(target_, {.size = 64, .duration = 300ms});
    EXPECT_TRUE(r.error.empty()) << r.error;
    ASSERT_TRUE(r.receiver_dropped && r.path_lost);
    EXPECT_EQ(*r.receiver_dropped + *r.path_lost, r.lost);
}

}  // namespace
