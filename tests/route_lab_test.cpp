// The route lab of support/route_lab.hpp, checked with the real oracles run from A: traceroute
// (-n -q 1), mtr (--json) and tracepath. If these fail, the lab is wrong, not nettool trace.
#include "support/route_lab.hpp"
#include "support/route_oracles.hpp"

#include "support/process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

namespace {

using namespace std::chrono_literals;
using nettool::test::ip_family;
using nettool::test::route_lab;
using nettool::test::route_node;
using nettool::test::run_process;
using nettool::test::sh;

using nettool::test::contains;
using nettool::test::family_flag;
using nettool::test::family_name;
using nettool::test::mtr_hubs;
using nettool::test::traceroute_hops;

class RouteLab : public ::testing::Test {
protected:
    void SetUp() override {
        if (!nettool::test::is_root()) GTEST_SKIP() << "needs root: builds network namespaces";
        if (sh("{ command -v ip && command -v nft && command -v sysctl && command -v nstat && command -v "
               "traceroute "
               "&& command -v mtr && command -v tracepath; } >/dev/null") != 0)
            GTEST_SKIP() << "needs ip, nft, sysctl, nstat, traceroute, mtr and tracepath "
                            "(sh scripts/install-deps.sh --test)";
        lab_.emplace();
        ASSERT_TRUE(lab_->build()) << lab_->errors();
    }

    nettool::test::process_result from_a(std::vector<std::string> argv, std::chrono::seconds timeout = 20s) {
        return lab_->exec(route_node::a, std::move(argv), timeout);
    }
    nettool::test::process_result traceroute(ip_family f, std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{"traceroute", family_flag(f), "-n", "-q", "1", "-w", "1", "-m", "8"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back(route_lab::target(f));
        return from_a(argv);
    }
    // Which R2 a UDP flow from A's port 33000 to B's port `port` crosses: the address answering
    // a single probe with TTL 2 (traceroute -U keeps the destination port, --sport the source port).
    std::string branch_of(ip_family f, int port, route_node from = route_node::a) {
        const auto to = from == route_node::a ? route_lab::target(f) : route_lab::address(route_node::a, f);
        auto r = lab_->exec(from,
                            {"traceroute", family_flag(f), "-n", "-U", "-p", std::to_string(port),
                             "--sport=33000", "-q", "1", "-w", "1", "-f", "2", "-m", "2", to},
                            10s);
        const auto hops = traceroute_hops(r.out);
        return hops.size() == 1 ? hops[0] : "(" + r.out + r.err + ")";
    }

    std::optional<route_lab> lab_;
};

constexpr ip_family both[] = {ip_family::v4, ip_family::v6};

TEST_F(RouteLab, TracerouteSeesR1ThenOneR2ThenR3ThenB) {
    for (auto f : both) {
        SCOPED_TRACE(family_name(f));
        auto r = traceroute(f);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto got = traceroute_hops(r.out);
        const auto want = route_lab::hops(f);
        ASSERT_EQ(got.size(), want.size()) << r.out;
        for (std::size_t i = 0; i < want.size(); ++i)
            EXPECT_TRUE(contains(want[i], got[i])) << "hop " << i + 1 << "\n" << r.out;
    }
}

TEST_F(RouteLab, MtrJsonHubsAreTheHopsAndAllAnswer) {
    for (auto f : both) {
        SCOPED_TRACE(family_name(f));
        // -G 1: wait 1 s for late answers instead of 5.
        auto r = from_a(
            {"mtr", family_flag(f), "-n", "--json", "-c", "3", "-i", "0.2", "-G", "1", route_lab::target(f)});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto hubs = mtr_hubs(r.out);
        ASSERT_TRUE(hubs) << r.out;
        const auto want = route_lab::hops(f);
        ASSERT_EQ(hubs->size(), want.size()) << r.out;
        for (std::size_t i = 0; i < want.size(); ++i) {
            const auto& hub = (*hubs)[i];
            EXPECT_EQ(hub.count, static_cast<int>(i + 1));
            EXPECT_TRUE(contains(want[i], hub.host)) << "hop " << i + 1 << "\n" << r.out;
            EXPECT_EQ(hub.sent, 3) << r.out;
            EXPECT_EQ(hub.answered, 3) << "icmp_ratelimit is 0 in the lab: every probe is answered\n"
                                       << r.out;
        }
    }
}

// tracepath starts at A's MTU (1500); R3 cannot forward that onto the 1400 link to B and answers
// "fragmentation needed" / "packet too big" with 1400, from its A-facing address. Seen on 6.18:
//    4:  198.51.100.18        0.128ms pmtu 1400
//    4:  198.51.100.26        0.038ms reached
//        Resume: pmtu 1400 hops 4 back 4
TEST_F(RouteLab, TracepathFindsTheNarrowLink) {
    for (auto f : both) {
        SCOPED_TRACE(family_name(f));
        auto r = from_a({"tracepath", family_flag(f), "-n", "-m", "8", route_lab::target(f)});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_NE(r.out.find("Resume: pmtu " + std::to_string(route_lab::narrow_mtu) + " hops 4 back 4"),
                  std::string::npos)
            << r.out;
        const std::regex r3_told(
            R"((^|\n)\s*4:\s+)" +
            std::regex_replace(route_lab::address(route_node::r3, f), std::regex(R"(\.)"), R"(\.)") +
            R"(\s.*pmtu 1400)");
        EXPECT_TRUE(std::regex_search(r.out, r3_told)) << "R3 reports the narrow link\n" << r.out;
    }
}

// R1 splits flows between R2a and R2b by their 5-tuple: 16 destination ports from one source port
// take both branches, and the same 5-tuple takes the same branch every time (with policy 1 this
// second part fails on veth: the hash is the sending socket's, new for every traceroute).
TEST_F(RouteLab, EcmpSplitsFlowsByPortsAndKeepsEachFlowOnOneBranch) {
    for (auto f : both) {
        SCOPED_TRACE(family_name(f));
        const std::set<std::string> branches{route_lab::address(route_node::r2a, f),
                                             route_lab::address(route_node::r2b, f)};
        std::map<int, std::string> first;
        std::set<std::string> seen;
        for (int port = 40000; port < 40016; ++port) {
            first[port] = branch_of(f, port);
            EXPECT_TRUE(branches.contains(first[port])) << "port " << port << ": " << first[port];
            seen.insert(first[port]);
        }
        EXPECT_EQ(seen, branches) << "16 flows all took one branch";
        for (int port = 40000; port < 40016; ++port)
            EXPECT_EQ(branch_of(f, port), first[port]) << "port " << port;
    }
}

// The way back is multipath too: R3 splits flows from B to A between R2a and R2b.
TEST_F(RouteLab, EcmpOnTheWayBackFromR3) {
    for (auto f : both) {
        SCOPED_TRACE(family_name(f));
        const std::set<std::string> branches{route_lab::address_from_b(route_node::r2a, f),
                                             route_lab::address_from_b(route_node::r2b, f)};
        std::set<std::string> seen;
        for (int port = 40000; port < 40016; ++port) {
            const auto b = branch_of(f, port, route_node::b);
            EXPECT_TRUE(branches.contains(b)) << "port " << port << ": " << b;
            seen.insert(b);
        }
        EXPECT_EQ(seen, branches) << "16 flows from B all took one branch";
    }
}

TEST_F(RouteLab, SilentRoutersShowAsAStarWhileBAnswers) {
    ASSERT_TRUE(lab_->drop_time_exceeded(route_node::r2a)) << lab_->errors();
    ASSERT_TRUE(lab_->drop_time_exceeded(route_node::r2b)) << lab_->errors();
    for (auto f : both) {
        SCOPED_TRACE(family_name(f));
        auto r = traceroute(f);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto got = traceroute_hops(r.out);
        ASSERT_EQ(got.size(), 4u) << r.out;
        EXPECT_EQ(got[0], route_lab::address(route_node::r1, f)) << r.out;
        EXPECT_EQ(got[1], "*") << r.out;
        EXPECT_EQ(got[2], route_lab::address(route_node::r3, f)) << r.out;
        EXPECT_EQ(got[3], route_lab::target(f)) << r.out;
    }
    // One probe with TTL 2 per family, its answer dropped by whichever R2 it reached.
    EXPECT_EQ(lab_->time_exceeded_dropped(route_node::r2a) + lab_->time_exceeded_dropped(route_node::r2b),
              2u);
}

// What the kernel's ICMP rate limit really does (measured on 6.18, v4 and v6 alike):
// - It is a token bucket per destination (an inet_peer per source address of the probes), one
//   token per icmp_ratelimit ms, holding at most 6 tokens (XRLIM_BURST_FACTOR). A bucket is born
//   full the first time the router sends that destination an ICMP error: so with 10000 ms, 20
//   probes in 2 s get exactly 6 answers, and the router counts the 14 others in
//   IcmpOutRateLimitHost / Icmp6OutRateLimitHost. With 1000 ms the same run got 7 (6 + one a
//   second later), with 250 ms 13; the ICMPv6 limit behaved like the IPv4 one.
// - While icmp_ratelimit is 0 (the lab's default) every error is sent and the bucket is kept EMPTY,
//   so a limit raised after the router has already answered starts from nothing: the first
//   answer comes icmp_ratelimit ms after the last one (second test below).
// - Only the types in icmp_ratemask are limited (time exceeded and dest unreachable are, echo
//   replies are not); the global icmp_msgs_per_sec/icmp_msgs_burst (1000/50) is another, larger
//   bucket for all destinations together.
TEST_F(RouteLab, RateLimitAnswersABurstOfSixThenHoldsBack) {
    ASSERT_TRUE(lab_->rate_limit_icmp(route_node::r1, 10000ms)) << lab_->errors();
    for (auto f : both) {
        SCOPED_TRACE(family_name(f));
        const auto held_before = lab_->icmp_rate_limited(route_node::r1, f);
        ASSERT_GE(held_before, 0);
        auto r = from_a({"mtr", family_flag(f), "-n", "--json", "-c", "20", "-i", "0.1", "-G", "1",
                         route_lab::target(f)});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto hubs = mtr_hubs(r.out);
        ASSERT_TRUE(hubs) << r.out;
        ASSERT_EQ(hubs->size(), 4u) << r.out;
        const auto& r1 = (*hubs)[0];
        EXPECT_EQ(r1.host, route_lab::address(route_node::r1, f)) << r.out;
        EXPECT_EQ(r1.sent, 20) << r.out;
        EXPECT_EQ(r1.answered, 6) << "a full bucket of 6, then one answer per 10 s\n" << r.out;
        EXPECT_EQ(lab_->icmp_rate_limited(route_node::r1, f) - held_before, r1.sent - r1.answered);
        // The hop after R1 has no limit: it answers every probe.
        EXPECT_EQ((*hubs)[1].sent, 20) << r.out;
        EXPECT_EQ((*hubs)[1].answered, 20) << r.out;
    }
}

TEST_F(RouteLab, RateLimitRaisedAfterTrafficStartsWithAnEmptyBucket) {
    auto t = traceroute(ip_family::v4);  // R1 answers TTL 1 at icmp_ratelimit 0: bucket kept at 0
    ASSERT_EQ(traceroute_hops(t.out).size(), 4u) << t.out;
    ASSERT_TRUE(lab_->rate_limit_icmp(route_node::r1, 10000ms)) << lab_->errors();
    auto r = from_a(
        {"mtr", "-4", "-n", "--json", "-c", "20", "-i", "0.1", "-G", "1", route_lab::target(ip_family::v4)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto hubs = mtr_hubs(r.out);
    ASSERT_TRUE(hubs) << r.out;
    ASSERT_EQ(hubs->size(), 4u) << r.out;
    EXPECT_EQ((*hubs)[0].sent, 20) << r.out;
    EXPECT_EQ((*hubs)[0].answered, 0) << "no burst: the bucket refills from empty, 1 token per 10 s\n"
                                      << r.out;
    EXPECT_EQ((*hubs)[1].answered, 20) << r.out;
}

// The lab removes its namespaces (and with them every interface, address, route and nft table)
// in its destructor, and never puts an interface in the host's namespace. (Not a before/after
// comparison of the host's links: other tests running in parallel add and remove their own.)
TEST(RouteLabCleanup, LeavesNothingBehind) {
    if (!nettool::test::is_root()) GTEST_SKIP() << "needs root: builds network namespaces";
    const auto host_links = [] { return run_process({"ip", "-o", "link", "show"}).out; };
    std::string prefix;
    {
        route_lab lab;
        ASSERT_TRUE(lab.build()) << lab.errors();
        ASSERT_TRUE(lab.drop_time_exceeded(route_node::r3)) << lab.errors();
        prefix = lab.prefix();
        EXPECT_NE(run_process({"ip", "netns", "list"}).out.find(prefix), std::string::npos);
        EXPECT_EQ(host_links().find("to_r1"), std::string::npos) << "a lab interface in the host's namespace";
    }
    EXPECT_EQ(run_process({"ip", "netns", "list"}).out.find(prefix), std::string::npos);
}

}  // namespace
