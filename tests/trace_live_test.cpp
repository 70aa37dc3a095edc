// nettool trace on the route lab (support/route_lab.hpp: A - R1 - R2a|R2b - R3 - B, ECMP in the
// middle, MTU 1400 on R3-B), run from A and checked against the oracles on the same topology:
// traceroute -n and mtr --json for the hops, tracepath for the path MTU, tcpdump + tshark for the
// round-trip times, the lab's nftables and rate-limit knobs for the silent and the rate-limiting
// hops.
#include "support/link_test_lock.hpp"
#include "support/process.hpp"
#include "support/route_lab.hpp"
#include "support/route_oracles.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

namespace {

using namespace std::chrono_literals;
using nettool::test::contains;
using nettool::test::family_flag;
using nettool::test::family_name;
using nettool::test::ip_family;
using nettool::test::mtr_hubs;
using nettool::test::route_lab;
using nettool::test::route_node;
using nettool::test::traceroute_hops;
using json = nlohmann::json;

constexpr ip_family both[] = {ip_family::v4, ip_family::v6};

std::uint16_t inet_checksum(const std::vector<std::uint8_t>& b, std::size_t from, std::size_t len) {
    std::uint32_t acc = 0;
    for (std::size_t i = from; i + 1 < from + len; i += 2) acc += (std::uint32_t{b[i]} << 8) | b[i + 1];
    if (len % 2) acc += std::uint32_t{b[from + len - 1]} << 8;
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<std::uint16_t>(~acc & 0xffff);
}

// An IPv4 ICMP error from `from` to `to` that quotes a UDP packet to->target sport->dport with
// `quoted_payload` after the UDP header (what a router would send about one of `to`'s probes).
std::vector<std::uint8_t> forged_icmp(std::uint32_t from, std::uint32_t to, std::uint32_t target,
                                      std::uint8_t type, std::uint8_t code, std::uint16_t sport,
                                      std::uint16_t dport, const std::vector<std::uint8_t>& quoted_payload) {
    auto put16 = [](std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
        b[at] = static_cast<std::uint8_t>(v >> 8);
        b[at + 1] = static_cast<std::uint8_t>(v & 0xff);
    };
    auto put32 = [&](std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
        put16(b, at, static_cast<std::uint16_t>(v >> 16));
        put16(b, at + 2, static_cast<std::uint16_t>(v & 0xffff));
    };
    const std::size_t quoted = 20 + 8 + quoted_payload.size();
    std::vector<std::uint8_t> p(20 + 8 + quoted);
    p[0] = 0x45;
    put16(p, 2, static_cast<std::uint16_t>(p.size()));
    p[8] = 64;
    p[9] = IPPROTO_ICMP;
    put32(p, 12, from);
    put32(p, 16, to);
    p[20] = type;
    p[21] = code;
    // The quoted probe: IPv4 header to -> target, TTL 1, UDP.
    const std::size_t q = 28;
    p[q] = 0x45;
    put16(p, q + 2, static_cast<std::uint16_t>(20 + 8 + 32));
    p[q + 8] = 1;
    p[q + 9] = IPPROTO_UDP;
    put32(p, q + 12, to);
    put32(p, q + 16, target);
    put16(p, q + 10, inet_checksum(p, q, 20));
    put16(p, q + 20, sport);
    put16(p, q + 22, dport);
    put16(p, q + 24, 8 + 32);
    std::copy(quoted_payload.begin(), quoted_payload.end(), p.begin() + q + 28);
    put16(p, 22, inet_checksum(p, 20, p.size() - 20));
    return p;
}

class TraceLive : public ::testing::Test {
protected:
    void SetUp() override {
        if (!nettool::test::is_root()) GTEST_SKIP() << "needs root: builds network namespaces";
        if (nettool::test::sh(
                "{ command -v ip && command -v nft && command -v traceroute && command -v mtr && "
                "command -v tracepath && command -v tcpdump && command -v tshark; } >/dev/null") != 0)
            GTEST_SKIP() << "needs ip, nft, traceroute, mtr, tracepath, tcpdump and tshark "
                            "(sh scripts/install-deps.sh --test)";
        lab_.emplace();
        ASSERT_TRUE(lab_->build()) << lab_->errors();
    }

    // nettool trace from A with --json; the "trace" object, or null when it did not parse.
    json trace(ip_family f, std::vector<std::string> extra, int want_exit = 0) {
        std::vector<std::string> argv{NETTOOL_BIN, "--json", "trace", "-n"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        if (std::find(extra.begin(), extra.end(), "-w") == extra.end()) {
            argv.push_back("-w");
            argv.push_back("1");
        }
        argv.push_back(route_lab::target(f));
        const auto r = lab_->exec(route_node::a, argv, 60s);
        EXPECT_EQ(r.exit_code, want_exit) << r.err << r.out;
        const auto j = json::parse(r.out, nullptr, false);
        if (j.is_discarded() || !j.contains("trace")) {
            ADD_FAILURE() << "no JSON: " << r.out << r.err;
            return json{};
        }
        return j["trace"];
    }

    static std::set<std::string> responders(const json& hop) {
        std::set<std::string> s;
        for (const auto& r : hop["responders"]) s.insert(r["address"].get<std::string>());
        return s;
    }

    // "ip -n NODE route replace ..." in the lab; false on failure.
    bool route(route_node n, std::vector<std::string> args) {
        std::vector<std::string> argv{"ip", "route", "replace"};
        argv.insert(argv.end(), args.begin(), args.end());
        return lab_->exec(n, argv, 10s).exit_code == 0;
    }

    std::optional<route_lab> lab_;
};

TEST_F(TraceLive, HopsAreTracerouteAndMtrHops) {
    for (auto f : both) {
        SCOPED_TRACE(family_name(f));
        const auto want = route_lab::hops(f);
        const auto t = trace(f, {});
        ASSERT_TRUE(t.is_object());
        EXPECT_TRUE(t["reached"].get<bool>());
        EXPECT_EQ(t["destination_hop"], want.size());
        ASSERT_EQ(t["hops"].size(), want.size()) << t.dump(1);
        // The same hop addresses as traceroute -n and mtr -n --json on the same topology (hop 2 is
        // R2a or R2b, whichever branch each tool's flow hashes to).
        const auto tr = lab_->exec(
            route_node::a,
            {"traceroute", family_flag(f), "-n", "-q", "1", "-w", "1", "-m", "8", route_lab::target(f)}, 20s);
        const auto tr_hops = traceroute_hops(tr.out);
        const auto mtr = lab_->exec(
            route_node::a,
            {"mtr", family_flag(f), "-n", "--json", "-c", "1", "-G", "1", route_lab::target(f)}, 20s);
        const auto hubs = mtr_hubs(mtr.out);
        ASSERT_EQ(tr_hops.size(), want.size()) << tr.out;
        ASSERT_TRUE(hubs && hubs->size() == want.size()) << mtr.out;
        for (std::size_t i = 0; i < want.size(); ++i) {
            const auto& hop = t["hops"][i];
            EXPECT_EQ(hop["ttl"], i + 1);
            EXPECT_EQ(hop["sent"], 3);
            EXPECT_EQ(hop["received"], 3) << hop.dump();
            const auto got = responders(hop);
            // Paris: the three probes of the one flow all took one branch.
            ASSERT_EQ(got.size(), 1U) << hop.dump();
            EXPECT_TRUE(contains(want[i], *got.begin())) << hop.dump();
            if (want[i].size() == 1) {
                EXPECT_EQ(*got.begin(), tr_hops[i]) << tr.out;
                EXPECT_EQ(*got.begin(), (*hubs)[i].host) << mtr.out;
            } else {
                EXPECT_TRUE(contains(want[i], tr_hops[i])) << tr.out;
                EXPECT_TRUE(contains(want[i], (*hubs)[i].host)) << mtr.out;
            }
            EXPECT_EQ(hop["return_hops"], i + 1) << "symmetric lab: replies come back as far as probes went";
        }
        EXPECT_EQ(t["hops"][want.size() - 1]["verdict"], "destination");
        EXPECT_FALSE(t["asymmetric"].get<bool>());
        EXPECT_EQ(t["send_errors"], 0);
        // Nothing silent: no probe waited for its timeout (1 s); every hop answers in microseconds.
        EXPECT_LT(t["elapsed_s"].get<double>(), 1.0);
    }
}

TEST_F(TraceLive, EveryProtocolFindsTheSameHops) {
    for (auto f : both) {
        SCOPED_TRACE(family_name(f));
        for (const char* proto : {"icmp", "tcp"}) {
            SCOPED_TRACE(proto);
            const auto t = trace(f, {"--proto", proto, "-q", "2"});
            ASSERT_TRUE(t.is_object());
            EXPECT_TRUE(t["reached"].get<bool>());
            const auto want = route_lab::hops(f);
            ASSERT_EQ(t["hops"].size(), want.size()) << t.dump(1);
            for (std::size_t i = 0; i < want.size(); ++i) {
                const auto got = responders(t["hops"][i]);
                ASSERT_EQ(got.size(), 1U) << t["hops"][i].dump();
                EXPECT_TRUE(contains(want[i], *got.begin()));
                EXPECT_EQ(t["hops"][i]["received"], 2);
            }
        }
    }
}

TEST_F(TraceLive, PathsFindBothEcmpBranchesAndEachFlowKeepsOne) {
    for (auto f : both) {
        SCOPED_TRACE(family_name(f));
        const auto want = route_lab::hops(f)[1];
        // Eight flows hash to one branch together with probability 2/256 per run (the source port
        // is the kernel's choice); three runs make a false failure a one-in-two-million event.
        json t;
        for (int attempt = 0; attempt < 3; ++attempt) {
            t = trace(f, {"--paths", "8", "-q", "2"});
            ASSERT_TRUE(t.is_object());
            if (responders(t["hops"][1]).size() == 2) break;
        }
        EXPECT_EQ(responders(t["hops"][1]), std::set<std::string>(want.begin(), want.end()))
            << t["hops"][1].dump();
        ASSERT_EQ(t["routes"].size(), 2U) << t["routes"].dump();
        std::set<unsigned> flows;
        for (const auto& route : t["routes"]) {
            EXPECT_TRUE(route["reached"].get<bool>());
            for (const auto& fl : route["flows"]) flows.insert(fl.get<unsigned>());
        }
        EXPECT_EQ(flows.size(), 8U) << "every flow is on exactly one path";
        // Each flow's two probes at hop 2 were answered by one R2: per responder, the flows it
        // answered do not overlap.
        const auto& h2 = t["hops"][1]["responders"];
        ASSERT_EQ(h2.size(), 2U);
        for (const auto& fl : h2[0]["flows"])
            for (const auto& other : h2[1]["flows"]) EXPECT_NE(fl, other);
    }
}

TEST_F(TraceLive, SilentAndRateLimitingHopsAreToldApart) {
    // R1 limits the ICMP it sends (a burst of 6, then one every 10 s); R3 sends no time-exceeded.
    ASSERT_TRUE(lab_->rate_limit_icmp(route_node::r1, 10s));
    ASSERT_TRUE(lab_->drop_time_exceeded(route_node::r3));
    for (auto f : both) {
        SCOPED_TRACE(family_name(f));
        // ICMP echo: the destination's echo replies are not rate-limited, so its loss is the path's.
        const auto t = trace(f, {"--proto", "icmp", "-c", "20", "-i", "0.05", "-w", "0.5"});
        ASSERT_TRUE(t.is_object());
        ASSERT_EQ(t["hops"].size(), 4U) << t.dump(1);
        const auto& h = t["hops"];
        EXPECT_EQ(h[0]["sent"], 20);
        EXPECT_LT(h[0]["received"].get<int>(), 20);
        EXPECT_GT(h[0]["received"].get<int>(), 0);
        EXPECT_EQ(h[0]["verdict"], "rate-limits its ICMP") << h[0].dump();
        EXPECT_EQ(h[1]["received"], 20);
        EXPECT_EQ(h[1]["verdict"], "answers");
        EXPECT_EQ(h[2]["received"], 0);
        EXPECT_EQ(h[2]["verdict"], "does not answer");
        EXPECT_EQ(h[3]["received"], 20);
        EXPECT_EQ(h[3]["verdict"], "destination");
        EXPECT_TRUE(t["reached"].get<bool>());
        // The silent hop costs one timeout after the last round, not one per round.
        EXPECT_LT(t["elapsed_s"].get<double>(), 19 * 0.05 + 0.5 + 0.5);
        // mtr on the same path shows the same: loss at R1 and R3 that does not carry on to B.
        const auto mtr = lab_->exec(
            route_node::a,
            {"mtr", family_flag(f), "-n", "--json", "-c", "10", "-i", "0.1", "-G", "1", route_lab::target(f)},
            30s);
        const auto hubs = mtr_hubs(mtr.out);
        ASSERT_TRUE(hubs && hubs->size() == 4U) << mtr.out;
        EXPECT_LT((*hubs)[0].answered, 10);
        EXPECT_EQ((*hubs)[3].answered, 10);
    }
    // The reading says which is which.
    const auto text =
        lab_->exec(route_node::a, {NETTOOL_BIN, "trace", "-n", "--proto", "icmp", "-c", "3", "-i", "0.05",
                                   "-w", "0.5", route_lab::target(ip_family::v4)});
    EXPECT_NE(text.out.find("Hop 3 does not answer"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("This is not loss on the path"), std::string::npos) << text.out;
}

TEST_F(TraceLive, PmtuIsTracepathsAndShrinksAtR3) {
    for (auto f : both) {
        SCOPED_TRACE(family_name(f));
        for (const char* proto : {"udp", "icmp"}) {
            SCOPED_TRACE(proto);
            const auto t = trace(f, {"--pmtu", "--proto", proto, "-q", "1"});
            ASSERT_TRUE(t.is_object());
            ASSERT_TRUE(t.contains("pmtu")) << t.dump(1);
            EXPECT_EQ(t["pmtu"]["first_mtu"], 1500);
            EXPECT_EQ(t["pmtu"]["path_mtu"], route_lab::narrow_mtu);
            EXPECT_EQ(t["pmtu"]["hop"], 3) << "R3 is hop 3; its link to B is the narrow one";
            EXPECT_EQ(t["hops"][2]["mtu"], route_lab::narrow_mtu);
            EXPECT_EQ(t["probe_bytes"], route_lab::narrow_mtu);
            EXPECT_TRUE(t["reached"].get<bool>());
        }
        const auto tp =
            lab_->exec(route_node::a, {"tracepath", family_flag(f), "-n", route_lab::target(f)}, 30s);
        EXPECT_NE(tp.out.find("pmtu " + std::to_string(route_lab::narrow_mtu)), std::string::npos) << tp.out;
    }
}

// Per hop, the best round trip tcpdump saw on A's wire (probe out to ICMP reply in, matched by the
// probe's tag as tshark decodes the quoted payload) against what nettool reported.
TEST_F(TraceLive, RoundTripsAgreeWithTheWire) {
    const auto cap =
        std::filesystem::temp_directory_path() / ("nettool-trace-" + std::to_string(::getpid()) + ".pcap");
    // --immediate-mode: without it tcpdump keeps the last packets of a quiet interface in its ring
    // buffer and drops them at SIGINT ("30 received by filter, 0 captured").
    std::vector<std::string> argv{"ip",         "netns", "exec", lab_->ns(route_node::a),
                                  "tcpdump",    "-n",    "-U",   "--immediate-mode",
                                  "-i",         "to_r1", "-w",   cap.string(),
                                  "udp or icmp"};
    nettool::test::background_process dump{argv};
    ASSERT_TRUE(dump.running());
    std::this_thread::sleep_for(1s);  // tcpdump opens the interface
    const auto t = trace(ip_family::v4, {"-c", "5", "-i", "0.05", "-q", "1"});
    std::this_thread::sleep_for(300ms);
    dump.stop(SIGINT);
    ASSERT_TRUE(t.is_object());
    const auto fields = nettool::test::run_process({"tshark", "-n", "-r", cap.string(), "-T", "fields", "-E",
                                                    "separator=;", "-e", "frame.time_epoch", "-e",
                                                    "icmp.type", "-e", "ip.src", "-e", "data.data"});
    std::filesystem::remove(cap);
    ASSERT_EQ(fields.exit_code, 0) << fields.err;
    // Probe sequence number (bytes 8-9 of the tag) -> send time, and -> reply time and source; the
    // TTL (byte 10): the destination also answers the probes sent beyond it.
    std::map<int, double> sent, answered;
    std::map<int, std::string> by;
    std::map<int, int> ttl_of;
    std::istringstream in(fields.out);
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> col;
        std::stringstream ss(line);
        for (std::string c; std::getline(ss, c, ';');) col.push_back(c);
        if (col.size() < 4 || col[3].size() < 28 || col[3].substr(0, 8) != "4e547472") continue;
        const int seq = std::stoi(col[3].substr(16, 4), nullptr, 16);
        ttl_of[seq] = std::stoi(col[3].substr(20, 2), nullptr, 16);
        const double at = std::stod(col[0]);
        if (col[1].empty())
            sent[seq] = at;
        else {
            answered[seq] = at;
            by[seq] = col[2].substr(0, col[2].find(','));
        }
    }
    // Per hop: the wire's mean round trip of the probes whose replies came from that hop's address.
    for (const auto& hop : t["hops"]) {
        const auto addr = hop["responders"][0]["address"].get<std::string>();
        double best = 1e9;
        int n = 0;
        for (const auto& [seq, at] : answered)
            if (by[seq] == addr && ttl_of[seq] == hop["ttl"].get<int>() && sent.count(seq)) {
                best = std::min(best, at - sent[seq]);
                ++n;
            }
        SCOPED_TRACE("hop " + std::to_string(hop["ttl"].get<int>()) + " " + addr);
        EXPECT_EQ(n, hop["received"].get<int>()) << fields.out;
        if (n == 0) continue;
        // The replies' times are the kernel's on both sides (nettool's at the socket, tcpdump's
        // at the interface); a probe's send time is nettool's clock read just before sendmsg, so
        // a preemption between the two could add to one probe. The best of five agrees within
        // the stack's own microseconds.
        EXPECT_NEAR(hop["best_us"].get<double>(), best * 1e6, 100.0);
    }
}

TEST_F(TraceLive, MtrJsonFormatReadsLikeMtrs) {
    const auto r =
        lab_->exec(route_node::a, {NETTOOL_BIN, "trace", "-n", "--format", "mtr-json", "--proto", "icmp",
                                   "-c", "3", "-i", "0.05", route_lab::target(ip_family::v4)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto hubs = mtr_hubs(r.out);  // the parser the tests use on mtr's own output
    ASSERT_TRUE(hubs) << r.out;
    const auto want = route_lab::hops(ip_family::v4);
    ASSERT_EQ(hubs->size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ((*hubs)[i].count, static_cast<int>(i + 1));
        EXPECT_TRUE(contains(want[i], (*hubs)[i].host));
        EXPECT_EQ((*hubs)[i].sent, 3);
        EXPECT_EQ((*hubs)[i].answered, 3);
    }
    EXPECT_EQ(json::parse(r.out)["report"]["reached"], true);
}

TEST_F(TraceLive, NotReachedIsExitOneWithTheHopsSeen) {
    // B drops every probe: the trace shows R1..R3 and says B was not reached.
    ASSERT_EQ(lab_->exec(route_node::b, {"nft",
                                         "add table inet t; add chain inet t in { type filter hook input "
                                         "priority 0; policy drop; }"})
                  .exit_code,
              0);
    const auto t = trace(ip_family::v4, {"-q", "1", "-m", "6", "-w", "0.3"}, 1);
    ASSERT_TRUE(t.is_object());
    EXPECT_FALSE(t["reached"].get<bool>());
    EXPECT_EQ(t["destination_hop"], 0);
    ASSERT_EQ(t["hops"].size(), 4U) << "the three routers, then one silent hop" << t.dump(1);
    EXPECT_EQ(t["hops"][3]["verdict"], "no reply");
    EXPECT_LT(t["elapsed_s"].get<double>(), 0.3 + 0.5) << "one timeout for all the silent TTLs";
}

// The replies of hop 2 come back the long way: R1 sends everything for B through R2a, but R2a sends
// everything for A through R3, and R3 through R2b. R2a's replies cross R3, R2b and R1: 4 hops back
// for a hop 2 forward. tracepath, on the same path, says "asymm" too.
TEST_F(TraceLive, AReturnPathLongerThanTheWayOutIsAsymmetric) {
    ASSERT_TRUE(route(route_node::r1, {"198.51.100.16/28", "src", "198.51.100.5", "via", "198.51.100.6"}));
    ASSERT_TRUE(route(route_node::r2a, {"198.51.100.0/28", "via", "198.51.100.18"}));
    ASSERT_TRUE(route(route_node::r3, {"198.51.100.0/28", "src", "198.51.100.18", "via", "198.51.100.21"}));
    const auto t = trace(ip_family::v4, {"-q", "1"});
    ASSERT_TRUE(t.is_object());
    ASSERT_EQ(t["hops"].size(), 4U) << t.dump(1);
    // R2a answers from the address of the interface its reply leaves by: its link to R3.
    EXPECT_EQ(responders(t["hops"][1]), std::set<std::string>{"198.51.100.17"});
    EXPECT_EQ(t["hops"][0]["return_hops"], 1);
    EXPECT_EQ(t["hops"][1]["return_hops"], 4);
    EXPECT_EQ(t["hops"][2]["return_hops"], 3);
    EXPECT_EQ(t["hops"][3]["return_hops"], 4);
    EXPECT_TRUE(t["asymmetric"].get<bool>());
    const auto text =
        lab_->exec(route_node::a, {NETTOOL_BIN, "trace", "-n", "-q", "1", route_lab::target(ip_family::v4)});
    EXPECT_NE(text.out.find("back in 4 hops"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("Asymmetric"), std::string::npos) << text.out;
    const auto tp =
        lab_->exec(route_node::a, {"tracepath", "-4", "-n", route_lab::target(ip_family::v4)}, 30s);
    EXPECT_NE(tp.out.find("asymm"), std::string::npos) << tp.out;
}

// A delay on one link shows in the round trip of every hop behind it. The link: nettool link run in
// R1's namespace, so the trace runs behind a 5 ms (each way) emulated link whose host end is R1,
// and the rest of the lab routes the link's addresses (100.64.0.0/10) back through R1.
TEST_F(TraceLive, ALinkDelayShowsInEveryHopBehindIt) {
    const nettool::test::link_test_lock turn;
    ASSERT_TRUE(route(route_node::r2a, {"100.64.0.0/10", "via", "198.51.100.5"}));
    ASSERT_TRUE(route(route_node::r2b, {"100.64.0.0/10", "via", "198.51.100.9"}));
    ASSERT_TRUE(route(route_node::r3, {"100.64.0.0/10", "src", "198.51.100.18", "via", "198.51.100.17"}));
    ASSERT_TRUE(route(route_node::b, {"100.64.0.0/10", "via", "198.51.100.25"}));
    // Two traces behind one link: five rounds of ICMP, then one round of UDP to time the whole run.
    const auto r = lab_->exec(route_node::r1,
                              {NETTOOL_BIN, "-q", "link", "--delay", "5ms", "--", "sh", "-c",
                               std::string{NETTOOL_BIN} + " --json trace -n --proto icmp -c 5 -i 0.05 " +
                                   route_lab::target(ip_family::v4) + " && echo ==== && " + NETTOOL_BIN +
                                   " --json trace -n " + route_lab::target(ip_family::v4)},
                              60s);
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    const auto start = r.out.find('{');
    ASSERT_NE(start, std::string::npos) << r.out;
    const auto split = r.out.find("====");
    ASSERT_NE(split, std::string::npos) << r.out;
    const auto j = json::parse(r.out.substr(start, split - start), nullptr, false);
    const auto once = json::parse(r.out.substr(split + 4), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    const auto& t = j["trace"];
    ASSERT_EQ(t["hops"].size(), 4U) << t.dump(1);
    EXPECT_EQ(t["hops"][0]["responders"][0]["address"].get<std::string>().rfind("100.64.", 0), 0U)
        << "hop 1 is R1's end of the link";
    const auto want = route_lab::hops(ip_family::v4);
    for (std::size_t i = 0; i < 4; ++i) {
        const auto& hop = t["hops"][i];
        SCOPED_TRACE("hop " + std::to_string(i + 1));
        if (i > 0) {
            EXPECT_TRUE(contains(want[i], *responders(hop).begin())) << hop.dump();  // R1 is the link's end
        }
        EXPECT_EQ(hop["received"], 5);
        // 5 ms each way: every hop's round trip is 10 ms, within 1 ms.
        EXPECT_NEAR(hop["rtt"]["p50_us"].get<double>(), 10'000.0, 1'000.0) << hop.dump();
        EXPECT_NEAR(hop["best_us"].get<double>(), 10'000.0, 1'000.0) << hop.dump();
    }
    // Part 6: with no silent hop a trace takes under two round trips to the farthest hop (every
    // TTL of the window is in flight at once), not one round trip per hop as a sequential trace.
    ASSERT_FALSE(once.is_discarded()) << r.out;
    const auto& u = once["trace"];
    ASSERT_TRUE(u["reached"].get<bool>()) << u.dump(1);
    double longest_us = 0;
    for (const auto& hop : u["hops"]) longest_us = std::max(longest_us, hop["worst_us"].get<double>());
    EXPECT_LT(u["elapsed_s"].get<double>() * 1e6, 2 * longest_us) << u.dump(1);
}

// A router that refuses to forward answers "destination unreachable": the trace stops there, with
// traceroute's mark, and traceroute marks the same hop the same way.
TEST_F(TraceLive, AnUnreachableAnswerEndsTheTraceWithItsMark) {
    ASSERT_EQ(lab_->exec(route_node::r3,
                         {"nft",
                          "add table inet t; add chain inet t forwarding { type filter hook forward "
                          "priority 0; }; add rule inet t forwarding ip daddr 198.51.100.26 reject "
                          "with icmp type host-unreachable"})
                  .exit_code,
              0);
    const auto t = trace(ip_family::v4, {"-q", "1"}, 1);
    ASSERT_TRUE(t.is_object());
    EXPECT_FALSE(t["reached"].get<bool>());
    // R3 answers TTL 3 with time-exceeded (the TTL is checked before forwarding) and TTL 4, which
    // it would forward to B, with "host unreachable".
    ASSERT_EQ(t["hops"].size(), 4U) << t.dump(1);
    EXPECT_EQ(responders(t["hops"][3]),
              std::set<std::string>{route_lab::address(route_node::r3, ip_family::v4)});
    EXPECT_EQ(t["hops"][3]["verdict"], "unreachable");
    EXPECT_EQ(t["hops"][3]["unreachable"], "!H");
    EXPECT_FALSE(t["hops"][3].contains("return_hops"));
    EXPECT_FALSE(t["asymmetric"].get<bool>());
    EXPECT_LT(t["elapsed_s"].get<double>(), 1.0) << "nothing waited for a timeout";
    const auto tr = lab_->exec(
        route_node::a,
        {"traceroute", "-4", "-n", "-q", "1", "-w", "1", "-m", "5", route_lab::target(ip_family::v4)}, 20s);
    EXPECT_NE(tr.out.find(" 4  " + route_lab::address(route_node::r3, ip_family::v4)), std::string::npos)
        << tr.out;
    EXPECT_NE(tr.out.find("!H"), std::string::npos) << tr.out;
}

// Reverse DNS: each responder's name and how long its lookup took. "ip netns exec" shows the
// namespace's /etc/netns/NAME/hosts as /etc/hosts, so the names come from a hosts file the test
// writes (and removes), and no query leaves the machine.
TEST_F(TraceLive, ResponderNamesComeFromReverseLookups) {
    const std::filesystem::path dir = std::filesystem::path{"/etc/netns"} / lab_->ns(route_node::a);
    struct remove_dir {
        std::filesystem::path p;
        ~remove_dir() { std::filesystem::remove_all(p); }
    } cleanup{dir};
    std::filesystem::create_directories(dir);
    {
        std::ofstream hosts{dir / "hosts"};
        hosts << "127.0.0.1 localhost\n198.51.100.2 r1.lab.example\n198.51.100.6 r2a.lab.example\n"
                 "198.51.100.10 r2b.lab.example\n198.51.100.18 r3.lab.example\n198.51.100.26 b.lab.example\n";
        std::ofstream resolv{dir / "resolv.conf"};
        resolv << "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
    }
    const auto r = lab_->exec(route_node::a,
                              {NETTOOL_BIN, "--json", "trace", "-q", "1", route_lab::target(ip_family::v4)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto t = json::parse(r.out)["trace"];
    ASSERT_EQ(t["hops"].size(), 4U);
    const std::map<std::string, std::string> names{{"198.51.100.2", "r1.lab.example"},
                                                   {"198.51.100.6", "r2a.lab.example"},
                                                   {"198.51.100.10", "r2b.lab.example"},
                                                   {"198.51.100.18", "r3.lab.example"},
                                                   {"198.51.100.26", "b.lab.example"}};
    for (const auto& hop : t["hops"]) {
        const auto& resp = hop["responders"][0];
        EXPECT_EQ(resp["name"], names.at(resp["address"].get<std::string>())) << hop.dump();
        EXPECT_GT(resp["lookup_us"].get<double>(), 0.0);
    }
    const auto mtr = lab_->exec(route_node::a, {NETTOOL_BIN, "trace", "--format", "mtr-json", "-q", "1",
                                                route_lab::target(ip_family::v4)});
    EXPECT_EQ(json::parse(mtr.out)["report"]["hubs"][0]["host"], "r1.lab.example") << mtr.out;
}

// Part 1: UDP needs no privilege, ICMP a ping socket where the group range allows it, TCP a raw
// socket, and the error says what to do instead.
TEST_F(TraceLive, WithoutPrivilegeUdpAndPingSocketsWorkAndTcpSaysWhy) {
    if (nettool::test::sh("command -v setpriv >/dev/null") != 0) GTEST_SKIP() << "needs setpriv (util-linux)";
    const std::vector<std::string> nobody{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
    auto as_nobody = [&](std::vector<std::string> args) {
        std::vector<std::string> argv = nobody;
        argv.push_back(NETTOOL_BIN);
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back(route_lab::target(ip_family::v4));
        return lab_->exec(route_node::a, argv, 30s);
    };
    const auto udp = as_nobody({"--json", "trace", "-n", "-q", "1"});
    ASSERT_EQ(udp.exit_code, 0) << udp.err;
    EXPECT_EQ(json::parse(udp.out)["trace"]["hops"].size(), 4U);
    // A fresh namespace allows no ping sockets ("1 0") ...
    const auto icmp_denied = as_nobody({"trace", "-n", "--proto", "icmp"});
    EXPECT_EQ(icmp_denied.exit_code, 1);
    EXPECT_NE(icmp_denied.err.find("ping_group_range"), std::string::npos) << icmp_denied.err;
    EXPECT_NE(icmp_denied.err.find("--proto udp"), std::string::npos) << icmp_denied.err;
    // ... until the group range includes the user's group.
    ASSERT_EQ(
        lab_->exec(route_node::a, {"sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"}).exit_code, 0);
    const auto icmp = as_nobody({"--json", "trace", "-n", "--proto", "icmp", "-q", "1"});
    ASSERT_EQ(icmp.exit_code, 0) << icmp.err;
    const auto ij = json::parse(icmp.out)["trace"];
    EXPECT_NE(ij["method"].get<std::string>().find("ping socket"), std::string::npos) << ij["method"];
    EXPECT_EQ(ij["hops"].size(), 4U);
    const auto tcp = as_nobody({"trace", "-n", "--proto", "tcp"});
    EXPECT_EQ(tcp.exit_code, 1);
    EXPECT_NE(tcp.err.find("raw socket"), std::string::npos) << tcp.err;
    EXPECT_EQ(std::count(tcp.err.begin(), tcp.err.end(), '\n'), 1) << tcp.err;
}

// Part 7 of issue 12: while a trace waits on a silent destination, a host on the path (R1) sends
// A forged ICMP errors that match the trace's socket (the kernel hands them over) but quote
// packets the trace never sent: garbage, another run's tag, too short to identify a probe, and a
// "port unreachable" spoofed from B. The hops, the verdicts and "not reached" stay what they are;
// only the ignored counters move.
TEST_F(TraceLive, ForgedAndFloodedIcmpChangesOnlyCounters) {
    ASSERT_EQ(lab_->exec(route_node::b, {"nft",
                                         "add table inet t; add chain inet t in { type filter hook input "
                                         "priority 0; policy drop; }"})
                  .exit_code,
              0);
    nettool::test::background_process tracer{{"ip", "netns", "exec", lab_->ns(route_node::a), NETTOOL_BIN,
                                              "--json", "trace", "-n", "-q", "1", "-m", "6", "-w", "2",
                                              route_lab::target(ip_family::v4)}};
    ASSERT_TRUE(tracer.running());
    // The trace's source port, from the kernel's socket table in A.
    std::uint16_t sport = 0;
    for (int i = 0; i < 100 && sport == 0; ++i) {
        const auto ss =
            lab_->exec(route_node::a, {"ss", "-Hun", "dst", route_lab::target(ip_family::v4)}, 5s);
        const auto colon = ss.out.find("198.51.100.1:");
        if (colon != std::string::npos)
            sport = static_cast<std::uint16_t>(std::stoi(ss.out.substr(colon + 13)));
        else
            std::this_thread::sleep_for(10ms);
    }
    ASSERT_NE(sport, 0) << "no trace socket seen in A";

    const std::uint32_t a = 0xc6336401, r1 = 0xc6336402, b = 0xc633641a;  // 198.51.100.1, .2, .26
    // One of each kind first, paced, then 500 of each at once.
    std::vector<std::vector<std::uint8_t>> forged;
    std::size_t paced = 0;
    std::vector<std::uint8_t> garbage(32, 0x5a), other_run(32, 0),
        cut_tag{0x4e, 0x54, 0x74, 0x72, 0x12, 0x34};
    std::copy_n(std::vector<std::uint8_t>{0x4e, 0x54, 0x74, 0x72, 0xde, 0xad, 0xbe, 0xef, 0, 1, 1, 0}.begin(),
                12, other_run.begin());
    for (int i = 0; i < 501; ++i) {
        if (i == 1) paced = forged.size();
        forged.push_back(forged_icmp(r1, a, b, 11, 0, sport, 33434, garbage));    // time exceeded, not ours
        forged.push_back(forged_icmp(r1, a, b, 11, 0, sport, 33434, other_run));  // another run's tag
        forged.push_back(forged_icmp(r1, a, b, 11, 0, sport, 33434, {}));         // 8-byte quote
        forged.push_back(forged_icmp(r1, a, b, 11, 0, sport, 33434, cut_tag));    // cut inside the tag
        forged.push_back(forged_icmp(b, a, b, 3, 3, sport, 33434, garbage));      // "port unreachable" from B
    }
    // The forger: a child in R1's namespace with a raw socket (IP_HDRINCL via IPPROTO_RAW).
    // Everything is built before fork: only system calls in the child (the test has threads).
    const std::string r1_ns = "/var/run/netns/" + lab_->ns(route_node::r1);
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int nsfd = ::open(r1_ns.c_str(), O_RDONLY | O_CLOEXEC);
        if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) != 0) ::_exit(3);
        const int fd = ::socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
        if (fd < 0) ::_exit(4);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(a);
        int sent = 0;
        for (std::size_t i = 0; i < forged.size(); ++i) {
            const auto& p = forged[i];
            if (::sendto(fd, p.data(), p.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) > 0)
                ++sent;
            if (i < paced) ::usleep(20'000);
        }
        ::_exit(sent == static_cast<int>(forged.size()) ? 0 : 5);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

    const auto r = tracer.stop(0, 20s);  // signal 0: just wait for it to finish
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const auto j = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out << r.err;
    const auto& t = j["trace"];
    EXPECT_FALSE(t["reached"].get<bool>()) << "a spoofed port unreachable must not count as reaching B";
    ASSERT_GE(t["hops"].size(), 4U) << t.dump(1);
    const auto want = route_lab::hops(ip_family::v4);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(t["hops"][i]["received"], 1) << t["hops"][i].dump();
        const auto got = responders(t["hops"][i]);
        ASSERT_EQ(got.size(), 1U);
        EXPECT_TRUE(contains(want[i], *got.begin()));
        EXPECT_EQ(t["hops"][i]["verdict"], "answers");
    }
    EXPECT_EQ(t["hops"][3]["received"], 0);
    const auto& ig = t["ignored"];
    // None was taken for a reply. The paced ones all reached the trace; of the flood, what A's
    // kernel did not drop at the socket's full error queue (its receive buffer) was counted.
    EXPECT_GE(ig["foreign"].get<int>(), 3) << ig.dump();
    EXPECT_LE(ig["foreign"].get<int>(), 1503) << ig.dump();
    EXPECT_GE(ig["short_quote"].get<int>(), 2) << ig.dump();
    EXPECT_LE(ig["short_quote"].get<int>(), 1002) << ig.dump();
    EXPECT_EQ(ig["unknown_probe"], 0);
    EXPECT_EQ(ig["duplicate"], 0);
    EXPECT_LT(t["elapsed_s"].get<double>(), 2.0 + 1.0);
}

}  // namespace
