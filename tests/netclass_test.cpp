// This host's view and the local/remote classifier: unit cases on hand-built views, the
// rtnetlink parser (with a truncation sweep), and namespaces compared against `ip route get`.
#include <nettool/netclass/netclass.hpp>

#include "netclass/rtnetlink.hpp"
#include <nettool/core/error.hpp>
#include "support/netns_lab.hpp"
#include "support/process.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <cstdio>
#include <fstream>
#include <random>

namespace {

using namespace nettool;

ip_address A(const char* s) {
    return ip_address::parse(s).value();
}
ip_prefix P(const char* s) {
    return ip_prefix::parse(s);
}

route_entry R(const char* dst, const char* gw, unsigned ifindex, const char* ifname, std::uint32_t metric = 0,
              route_type type = route_type::unicast, std::uint32_t tbl = 254) {
    route_entry r;
    r.destination = P(dst);
    r.destination.address = r.destination.network();
    if (gw != nullptr) r.gateway = A(gw);
    r.interface_index = ifindex;
    r.interface = ifname;
    r.metric = metric;
    r.type = type;
    r.table = tbl;
    return r;
}

host_view sample_view() {
    host_view v;
    interface_info lo{"lo", 1, 0x49, 65536, std::nullopt, {{P("127.0.0.1/8"), std::nullopt}}};
    interface_info eth{"eth0",
                       2,
                       0x1043,
                       1500,
                       mac_address::parse("02:00:00:00:00:01"),
                       {{P("192.0.2.10/24"), A("192.0.2.255")}, {P("2001:db8:a::10/64"), std::nullopt}}};
    interface_info eth1{"eth1", 3, 0x1043, 1500, std::nullopt, {{P("198.51.100.10/26"), A("198.51.100.63")}}};
    v.interfaces = {lo, eth, eth1};
    v.routes = {
        R("0.0.0.0/0", "192.0.2.1", 2, "eth0", 100),
        R("192.0.2.0/24", nullptr, 2, "eth0"),
        R("198.51.100.0/26", nullptr, 3, "eth1"),
        R("203.0.113.0/24", "192.0.2.1", 2, "eth0"),
        R("203.0.113.0/25", "192.0.2.254", 2, "eth0"),
        R("203.0.113.64/26", "198.51.100.1", 3, "eth1", 50),
        R("203.0.113.64/26", "192.0.2.2", 2, "eth0", 20),  // same prefix, lower metric wins
        R("203.0.113.192/26", nullptr, 0, "", 0, route_type::unreachable),
        R("2001:db8:a::/64", nullptr, 2, "eth0", 256),
        R("::/0", "2001:db8:a::1", 2, "eth0", 1024),
        R("192.0.2.10/32", nullptr, 2, "eth0", 0, route_type::local, 255),
        R("192.0.2.255/32", nullptr, 2, "eth0", 0, route_type::broadcast, 255),
    };
    return v;
}

TEST(Classify, KindsOnAHandBuiltView) {
    const auto v = sample_view();
    struct expect_case {
        const char* dst;
        destination_kind kind;
        const char* iface;
        const char* gw;
    };
    for (const auto& e : {expect_case{"127.0.0.9", destination_kind::loopback, "lo", nullptr},
                          expect_case{"192.0.2.10", destination_kind::self, "eth0", nullptr},
                          expect_case{"192.0.2.77", destination_kind::local, "eth0", nullptr},
                          expect_case{"192.0.2.255", destination_kind::local, "eth0", nullptr},
                          expect_case{"198.51.100.5", destination_kind::local, "eth1", nullptr},
                          expect_case{"198.51.100.65", destination_kind::remote, "eth0", "192.0.2.1"},
                          expect_case{"203.0.113.5", destination_kind::remote, "eth0", "192.0.2.254"},
                          expect_case{"203.0.113.130", destination_kind::remote, "eth0", "192.0.2.1"},
                          expect_case{"203.0.113.70", destination_kind::remote, "eth0", "192.0.2.2"},
                          expect_case{"203.0.113.200", destination_kind::unreachable, "", nullptr},
                          expect_case{"2001:db8:a::99", destination_kind::local, "eth0", nullptr},
                          expect_case{"2001:db8:b::1", destination_kind::remote, "eth0", "2001:db8:a::1"},
                          expect_case{"::1", destination_kind::loopback, "lo", nullptr}}) {
        const auto c = classify(v, A(e.dst));
        EXPECT_EQ(c.kind, e.kind) << e.dst << " got " << to_string(c.kind);
        EXPECT_EQ(c.interface, e.iface) << e.dst;
        if (e.gw != nullptr) {
            ASSERT_TRUE(c.gateway.has_value()) << e.dst;
            EXPECT_EQ(*c.gateway, A(e.gw)) << e.dst;
        } else {
            EXPECT_FALSE(c.gateway.has_value()) << e.dst;
        }
    }
}

TEST(Classify, NoDefaultRouteIsUnreachable) {
    auto v = sample_view();
    v.routes.erase(v.routes.begin());
    EXPECT_EQ(classify(v, A("198.51.100.200")).kind, destination_kind::unreachable);
    const auto lines = explain(classify(v, A("198.51.100.200")));
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines[0].find("No route"), std::string::npos);
}

TEST(Classify, ExplanationMarksComparedBits) {
    const auto v = sample_view();
    const auto c = classify(v, A("192.0.2.77"));
    ASSERT_TRUE(c.compared_prefix.has_value());
    EXPECT_EQ(c.compared_prefix->length, 24);
    const auto lines = explain(c);
    ASSERT_GE(lines.size(), 5u);
    EXPECT_NE(lines[0].find("11000000.00000000.00000010.01001101"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find("11000000.00000000.00000010.00001010"), std::string::npos) << lines[1];
    EXPECT_NE(lines[2].find("11111111.11111111.11111111.00000000"), std::string::npos) << lines[2];
    EXPECT_NE(lines[3].find("^^^^^^^^ ^^^^^^^^ ^^^^^^^^"), std::string::npos) << lines[3];
    EXPECT_EQ(lines[3].find('!'), std::string::npos) << lines[3];

    const auto far = explain(classify(v, A("198.51.100.65")));
    ASSERT_GE(far.size(), 5u);
    EXPECT_NE(far[3].find('!'), std::string::npos) << far[3];
    EXPECT_NE(far[4].find("Bit 6 differs"), std::string::npos) << far[4];
}

TEST(Classify, JsonHasContractKeys) {
    const auto v = sample_view();
    nlohmann::json remote = classify(v, A("203.0.113.5"));
    EXPECT_EQ(remote["address"], "203.0.113.5");
    EXPECT_EQ(remote["kind"], "remote");
    EXPECT_EQ(remote["interface"], "eth0");
    EXPECT_EQ(remote["gateway"], "192.0.2.254");
    EXPECT_EQ(remote["route"]["destination"], "203.0.113.0/25");
    nlohmann::json local = classify(v, A("192.0.2.77"));
    EXPECT_FALSE(local.contains("gateway"));
    EXPECT_EQ(local["source"], "192.0.2.10");
}

// ---- reports: netmask, the host view, classifications, bulk lines

TEST(NetmaskReport, TableRowsReadingsAndJson) {
    const auto rep = make_report(prefix_summary::of(P("192.0.2.77/24")));
    EXPECT_EQ(rep.command(), "netmask");
    ASSERT_EQ(rep.tables().size(), 1u);
    const auto& t = rep.tables()[0];
    EXPECT_EQ(t.title, "192.0.2.77/24 (IPv4)");
    EXPECT_EQ(t.header, (std::vector<std::string>{"", "value", "binary"}));
    std::vector<std::string> names;
    for (const auto& r : t.rows) names.push_back(r.at(0));
    EXPECT_EQ(names, (std::vector<std::string>{"address", "netmask", "wildcard", "network", "broadcast",
                                               "first host", "last host", "hosts"}));
    EXPECT_EQ(t.rows[0],
              (std::vector<std::string>{"address", "192.0.2.77", "11000000.00000000.00000010.01001101"}));
    EXPECT_EQ(t.rows[1], (std::vector<std::string>{"netmask", "255.255.255.0 = /24",
                                                   "11111111.11111111.11111111.00000000"}));
    EXPECT_EQ(t.rows[3].at(1), "192.0.2.0/24");
    EXPECT_EQ(t.rows[4].at(1), "192.0.2.255");
    EXPECT_EQ(t.rows[7].at(1), "254");
    EXPECT_EQ(rep.readings(),
              (std::vector<std::string>{"An address is on this network when its first 24 bits "
                                        "equal those of 192.0.2.0; the other 8 bits number the "
                                        "host."}));
    const auto j = rep.to_json();
    EXPECT_EQ(j["family"], "ipv4");
    EXPECT_EQ(j["address"], "192.0.2.77");
    EXPECT_EQ(j["network"], "192.0.2.0");
    EXPECT_EQ(j["prefix_length"], 24);
    EXPECT_EQ(j["broadcast"], "192.0.2.255");
    EXPECT_EQ(j["hosts"], 254);
}

TEST(NetmaskReport, PointToPointAndIpv6HaveNoBroadcast) {
    const auto p2p = make_report(prefix_summary::of(P("10.0.0.1/31")));
    EXPECT_EQ(p2p.tables().at(0).rows.at(4), (std::vector<std::string>{"broadcast", "none (RFC 3021)", ""}));
    ASSERT_EQ(p2p.readings().size(), 2u);
    EXPECT_EQ(p2p.readings()[1],
              "A /31 is a point-to-point link (RFC 3021): both addresses are hosts, there is no broadcast.");
    EXPECT_TRUE(p2p.to_json()["broadcast"].is_null());

    const auto v6 = make_report(prefix_summary::of(P("2001:db8::1/64")));
    EXPECT_EQ(v6.tables().at(0).title, "2001:db8::1/64 (IPv6)");
    EXPECT_EQ(v6.tables().at(0).rows.at(4), (std::vector<std::string>{"broadcast", "none (IPv6)", ""}));
    EXPECT_EQ(v6.readings().size(), 1u);
    EXPECT_EQ(v6.to_json()["hosts"], "18446744073709551616");  // 2^64 does not fit a JSON integer here
}

TEST(ClassifyReport, HostViewListsInterfacesAndTheMainTable) {
    const auto v = sample_view();
    const auto rep = make_report(v);
    EXPECT_EQ(rep.command(), "classify");
    ASSERT_EQ(rep.tables().size(), 2u);
    const auto& ifs = rep.tables()[0];
    EXPECT_EQ(ifs.title, "Interfaces");
    EXPECT_EQ(ifs.header,
              (std::vector<std::string>{"index", "name", "flags", "mtu", "mac", "address", "broadcast"}));
    ASSERT_EQ(ifs.rows.size(), 4u);  // eth0's second address takes a row of its own
    EXPECT_EQ(ifs.rows[1].at(1), "eth0");
    EXPECT_EQ(ifs.rows[1].at(4), "02:00:00:00:00:01");
    EXPECT_EQ(ifs.rows[1].at(5), "192.0.2.10/24");
    EXPECT_EQ(ifs.rows[1].at(6), "192.0.2.255");
    EXPECT_EQ(ifs.rows[2], (std::vector<std::string>{"", "", "", "", "", "2001:db8:a::10/64", "-"}));
    const auto& rt = rep.tables()[1];
    EXPECT_EQ(rt.title, "Routes (main table)");
    ASSERT_EQ(rt.rows.size(), 10u);  // the two local-table routes are left out
    EXPECT_EQ(rt.rows[0], (std::vector<std::string>{"0.0.0.0/0", "192.0.2.1", "eth0", "100", "unicast"}));
    EXPECT_EQ(rt.rows[1].at(1), "on-link");
    const auto j = rep.to_json();
    EXPECT_EQ(j["interfaces"].size(), 3u);
    EXPECT_EQ(j["routes"].size(), 10u);
    EXPECT_EQ(rep.readings().size(), 1u);
}

TEST(ClassifyReport, SummaryExplanationsAndCounts) {
    const auto v = sample_view();
    std::vector<classification> results;
    for (const char* a : {"192.0.2.77", "203.0.113.5", "203.0.113.200", "::1"})
        results.push_back(classify(v, A(a)));

    const auto rep = make_report(results, true);
    ASSERT_EQ(rep.tables().size(), 5u);  // the summary, then one "why" per address
    const auto& t = rep.tables()[0];
    EXPECT_EQ(t.header,
              (std::vector<std::string>{"address", "kind", "interface", "gateway", "source", "route"}));
    ASSERT_EQ(t.rows.size(), 4u);
    EXPECT_EQ(t.rows[0],
              (std::vector<std::string>{"192.0.2.77", "local", "eth0", "-", "192.0.2.10", "192.0.2.0/24"}));
    EXPECT_EQ(t.rows[1].at(3), "192.0.2.254");
    EXPECT_EQ(t.rows[1].at(5), "203.0.113.0/25");
    EXPECT_EQ(t.rows[2].at(1), "unreachable");
    EXPECT_EQ(t.rows[2].at(2), "-");
    EXPECT_EQ(rep.tables()[1].title, "Why 192.0.2.77 is local:");
    EXPECT_EQ(rep.tables()[1].rows.at(0).at(0), "  " + explain(results[0]).at(0));
    EXPECT_EQ(rep.tables()[4].title, "Why ::1 is loopback:");
    EXPECT_EQ(
        rep.readings(),
        (std::vector<std::string>{"4 address(es): 1 loopback, 0 self, 1 local, 1 remote, 1 unreachable."}));
    auto j = rep.to_json();
    EXPECT_EQ(j["count"], 4);
    ASSERT_EQ(j["results"].size(), 4u);
    EXPECT_EQ(j["results"][1]["gateway"], "192.0.2.254");
    EXPECT_EQ(j["results"][0]["explanation"], nlohmann::json(explain(results[0])));

    // Without explanations: the summary alone, and no "explanation" key.
    const auto plain = make_report(results, false);
    EXPECT_EQ(plain.tables().size(), 1u);
    j = plain.to_json();
    EXPECT_FALSE(j["results"][0].contains("explanation"));
    EXPECT_EQ(plain.readings(), rep.readings());
}

TEST(ClassifyReport, BulkLinesAndCounts) {
    const auto v = sample_view();
    std::string out = bulk_header_line();
    destination_counts counts;
    for (const char* a : {"203.0.113.5", "127.0.0.9"}) {
        const auto c = classify(v, A(a));
        counts.add(c.kind);
        append_bulk_line(out, c);
    }
    EXPECT_EQ(out, fmt::format("{:<39} {:<11} {:<15} {}\n{:<39} {:<11} {:<15} {}\n{:<39} {:<11} {:<15} {}\n",
                               "address", "kind", "interface", "gateway", "203.0.113.5", "remote", "eth0",
                               "192.0.2.254", "127.0.0.9", "loopback", "lo", "-"));
    EXPECT_EQ(counts.total, 2u);
    EXPECT_EQ(counts[destination_kind::remote], 1u);
    EXPECT_EQ(counts.sentence(), "2 address(es): 1 loopback, 0 self, 0 local, 1 remote, 0 unreachable.");
}

// ---- rtnetlink parsing

void put16(std::vector<std::byte>& b, std::uint16_t v) {
    std::byte raw[2];
    std::memcpy(raw, &v, 2);
    b.insert(b.end(), raw, raw + 2);
}
void put32(std::vector<std::byte>& b, std::uint32_t v) {
    std::byte raw[4];
    std::memcpy(raw, &v, 4);
    b.insert(b.end(), raw, raw + 4);
}
void attr(std::vector<std::byte>& b, std::uint16_t type, const std::vector<std::uint8_t>& payload) {
    put16(b, static_cast<std::uint16_t>(4 + payload.size()));
    put16(b, type);
    for (auto x : payload) b.push_back(std::byte{x});
    while (b.size() % 4 != 0) b.push_back(std::byte{0});
}
std::vector<std::uint8_t> u32(std::uint32_t v) {
    std::vector<std::uint8_t> p(4);
    std::memcpy(p.data(), &v, 4);
    return p;
}

std::vector<std::byte> route_message(std::uint8_t family, std::uint8_t dst_len, std::uint8_t type,
                                     std::vector<std::uint8_t> dst, std::vector<std::uint8_t> gw,
                                     std::uint32_t oif, std::uint32_t metric) {
    std::vector<std::byte> body;
    for (std::uint8_t x : {family, dst_len, std::uint8_t{0}, std::uint8_t{0}, std::uint8_t{RT_TABLE_MAIN},
                           std::uint8_t{RTPROT_BOOT}, std::uint8_t{RT_SCOPE_UNIVERSE}, type})
        body.push_back(std::byte{x});
    put32(body, 0);
    attr(body, RTA_TABLE, u32(RT_TABLE_MAIN));
    if (!dst.empty()) attr(body, RTA_DST, dst);
    if (!gw.empty()) attr(body, RTA_GATEWAY, gw);
    attr(body, RTA_OIF, u32(oif));
    attr(body, RTA_PRIORITY, u32(metric));
    std::vector<std::byte> msg;
    put32(msg, static_cast<std::uint32_t>(16 + body.size()));
    put16(msg, RTM_NEWROUTE);
    put16(msg, NLM_F_MULTI);
    put32(msg, 1);
    put32(msg, 0);
    msg.insert(msg.end(), body.begin(), body.end());
    return msg;
}

std::vector<std::byte> route_dump_fixture() {
    auto m = route_message(AF_INET, 0, RTN_UNICAST, {}, {192, 0, 2, 1}, 2, 100);
    auto m2 = route_message(AF_INET, 25, RTN_UNICAST, {203, 0, 113, 0}, {192, 0, 2, 254}, 2, 0);
    auto m3 = route_message(AF_INET6, 64, RTN_UNICAST,
                            {0x20, 0x01, 0x0d, 0xb8, 0, 0xa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {}, 3, 256);
    auto m4 = route_message(AF_INET, 26, RTN_UNREACHABLE, {203, 0, 113, 192}, {}, 0, 0);
    m.insert(m.end(), m2.begin(), m2.end());
    m.insert(m.end(), m3.begin(), m3.end());
    m.insert(m.end(), m4.begin(), m4.end());
    std::vector<std::byte> done;
    put32(done, 20);
    put16(done, NLMSG_DONE);
    put16(done, NLM_F_MULTI);
    put32(done, 1);
    put32(done, 0);
    put32(done, 0);
    m.insert(m.end(), done.begin(), done.end());
    return m;
}

TEST(RouteDump, ParsesFixture) {
    const auto buf = route_dump_fixture();
    std::vector<route_entry> routes;
    bool done = false;
    ASSERT_FALSE(detail::parse_route_dump(buf, routes, &done));
    EXPECT_TRUE(done);
    ASSERT_EQ(routes.size(), 4u);
    EXPECT_EQ(routes[0].destination.length, 0);
    EXPECT_EQ(routes[0].gateway, A("192.0.2.1"));
    EXPECT_EQ(routes[0].metric, 100u);
    EXPECT_EQ(routes[0].interface_index, 2u);
    EXPECT_EQ(routes[1].destination, P("203.0.113.0/25"));
    EXPECT_EQ(routes[2].destination, P("2001:db8:a::/64"));
    EXPECT_EQ(routes[2].metric, 256u);
    EXPECT_EQ(routes[3].type, route_type::unreachable);
}

TEST(RouteDump, EveryPrefixIsCleanlyTruncatedOrWhole) {
    const auto buf = route_dump_fixture();
    // Message boundaries: prefixes ending there are complete dumps (without DONE).
    std::vector<std::size_t> boundaries{0};
    for (std::size_t pos = 0; pos < buf.size();) {
        std::uint32_t len = 0;
        std::memcpy(&len, buf.data() + pos, 4);
        pos += (len + 3U) & ~3U;
        boundaries.push_back(pos);
    }
    for (std::size_t n = 0; n < buf.size(); ++n) {
        std::vector<route_entry> routes;
        bool done = false;
        const auto ec = detail::parse_route_dump(std::span(buf.data(), n), routes, &done);
        EXPECT_FALSE(done) << n;
        if (std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end()) {
            EXPECT_FALSE(ec) << n << ": " << ec.message();
        } else {
            EXPECT_EQ(ec, nettool::make_error_code(nettool::errc::truncated)) << n << ": " << ec.message();
        }
    }
}

TEST(RouteDump, LiveKernelDumpHasTheLoopbackLocalRoute) {
    std::error_code ec;
    const auto v = host_view::load(ec);
    ASSERT_FALSE(ec) << ec.message();
    const bool has_lo = std::any_of(v.routes.begin(), v.routes.end(), [](const route_entry& r) {
        return r.table == 255 && r.type == route_type::local && r.destination == P("127.0.0.0/8");
    });
    EXPECT_TRUE(has_lo);
    EXPECT_NE(v.find_interface("lo"), nullptr);
    EXPECT_EQ(classify(v, A("127.0.0.1")).kind, destination_kind::loopback);
}

TEST(ClassifyCli, BadAddressIsOneLineExitTwo) {
    auto r = test::run_nettool({"classify", "192.0.2.300"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("192.0.2.300"), std::string::npos);
}

// ---- namespaces against `ip route get`

struct kernel_answer {
    std::string kind, dev, gateway;
};

// Reads `ip route get` output the way a person would: its first word names local/broadcast/
// unreachable answers; "via" names the gateway; "dev" the interface; an error is unreachable.
kernel_answer ip_route_get(test::netns_lab& lab, const std::string& ns, const std::string& dst) {
    auto r = lab.exec(ns, {"ip", "route", "get", dst});
    kernel_answer k;
    if (r.exit_code != 0) {
        k.kind = "unreachable";
        return k;
    }
    std::istringstream in(r.out);
    std::vector<std::string> w;
    for (std::string s; in >> s;) w.push_back(s);
    for (std::size_t i = 0; i + 1 < w.size(); ++i) {
        if (w[i] == "via") k.gateway = w[i + 1];
        if (w[i] == "dev" && k.dev.empty()) k.dev = w[i + 1];
    }
    const std::string first = w.empty() ? "" : w[0];
    if (first == "local")
        k.kind = ip_address::parse(dst)->is_loopback() ? "loopback" : "self";
    else if (first == "unreachable" || first == "blackhole" || first == "prohibit")
        k.kind = "unreachable";
    else if (first == "broadcast" || first == "multicast")
        k.kind = "local";
    else
        k.kind = k.gateway.empty() ? "local" : "remote";
    return k;
}

TEST(ClassifyNetns, AgreesWithIpRouteGet) {
    if (!test::is_root()) GTEST_SKIP() << "needs root to build network namespaces (ip netns add)";
    test::netns_lab lab("c");
    const auto a = lab.add_namespace("a");
    const auto rt = lab.add_namespace("r");
    const auto b = lab.add_namespace("b");
    ASSERT_FALSE(a.empty() || rt.empty() || b.empty()) << lab.errors();
    // host a -- router -- host b; a also has a second link with a /31 (RFC 3021).
    ASSERT_TRUE(lab.veth(a, "a0", rt, "r0")) << lab.errors();
    ASSERT_TRUE(lab.veth(b, "b0", rt, "r1")) << lab.errors();
    ASSERT_TRUE(lab.veth(a, "a1", b, "b1")) << lab.errors();
    bool ok = true;
    ok &= lab.ip(a, {"addr", "add", "192.0.2.10/24", "dev", "a0"});
    ok &= lab.ip(a, {"-6", "addr", "add", "2001:db8:a::10/64", "dev", "a0", "nodad"});
    ok &= lab.ip(a, {"addr", "add", "198.51.100.200/31", "dev", "a1"});
    ok &= lab.ip(rt, {"addr", "add", "192.0.2.1/24", "dev", "r0"});
    ok &= lab.ip(rt, {"addr", "add", "198.51.100.1/25", "dev", "r1"});
    ok &= lab.ip(b, {"addr", "add", "198.51.100.10/25", "dev", "b0"});
    ok &= lab.ip(b, {"addr", "add", "198.51.100.201/31", "dev", "b1"});
    ok &= lab.ip(a, {"route", "add", "default", "via", "192.0.2.1", "metric", "100"});
    ok &= lab.ip(a, {"route", "add", "203.0.113.0/24", "via", "192.0.2.1"});
    ok &= lab.ip(a, {"route", "add", "203.0.113.0/25", "via", "192.0.2.254"});
    ok &= lab.ip(a, {"route", "add", "203.0.113.128/26", "via", "192.0.2.1", "metric", "50"});
    ok &= lab.ip(a, {"route", "add", "203.0.113.128/26", "via", "198.51.100.201", "metric", "20"});
    ok &= lab.ip(a, {"route", "add", "unreachable", "203.0.113.224/27"});
    ok &= lab.ip(a, {"route", "add", "blackhole", "198.51.100.64/26"});
    ok &= lab.ip(a, {"-6", "route", "add", "default", "via", "2001:db8:a::1"});
    ok &= lab.ip(a, {"-6", "route", "add", "2001:db8:c::/48", "via", "2001:db8:a::2"});
    ok &= lab.ip(b, {"route", "add", "192.0.2.0/24", "via", "198.51.100.1"});
    ASSERT_TRUE(ok) << lab.errors();

    struct probe {
        std::string ns;
        std::vector<std::string> dsts;
    };
    const std::vector<probe> probes{
        {a, {"127.0.0.1",     "127.3.4.5",      "192.0.2.10",     "192.0.2.1",     "192.0.2.77",
             "192.0.2.255",   "198.51.100.201", "198.51.100.200", "198.51.100.10", "203.0.113.5",
             "203.0.113.127", "203.0.113.129",  "203.0.113.200",  "203.0.113.230", "198.51.100.70",
             "::1",           "2001:db8:a::10", "2001:db8:a::99", "2001:db8:b::1", "2001:db8:c:1::1"}},
        {b, {"192.0.2.10", "198.51.100.5", "198.51.100.200", "203.0.113.5", "2001:db8:a::1"}},
        {rt, {"192.0.2.10", "198.51.100.10", "198.51.100.127", "203.0.113.5"}},
    };
    int compared = 0;
    for (const auto& p : probes) {
        std::vector<std::string> argv{NETTOOL_BIN, "classify", "--json"};
        argv.insert(argv.end(), p.dsts.begin(), p.dsts.end());
        auto r = lab.exec(p.ns, argv);
        ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
        const auto j = nlohmann::json::parse(r.out);
        ASSERT_EQ(j["results"].size(), p.dsts.size());
        for (std::size_t i = 0; i < p.dsts.size(); ++i) {
            const auto& res = j["results"][i];
            const auto k = ip_route_get(lab, p.ns, p.dsts[i]);
            const std::string where = p.ns + " " + p.dsts[i];
            EXPECT_EQ(res["address"], p.dsts[i]) << where;
            EXPECT_EQ(res["kind"], k.kind) << where << "\n" << res.dump();
            if (k.kind == "local" || k.kind == "remote") {
                EXPECT_EQ(res["interface"], k.dev) << where;
            }
            if (k.kind == "remote") {
                EXPECT_EQ(res["gateway"], k.gateway) << where;
            } else {
                EXPECT_FALSE(res.contains("gateway")) << where;
            }
            ++compared;
        }
    }
    EXPECT_EQ(compared, 29);

    // Bulk mode (the DIR-24-8 path) gives the same answers in the namespace.
    {
        const std::string list = ::testing::TempDir() + "/nt_classify_bulk_" + a + ".txt";
        {
            std::ofstream f(list);
            for (const auto& d : probes[0].dsts) f << d << "\n";
        }
        auto bulk = lab.exec(a, {NETTOOL_BIN, "classify", "--json", "--file", list});
        auto one = lab.exec(a, [&] {
            std::vector<std::string> v{NETTOOL_BIN, "classify", "--json"};
            v.insert(v.end(), probes[0].dsts.begin(), probes[0].dsts.end());
            return v;
        }());
        std::remove(list.c_str());
        const auto jb = nlohmann::json::parse(bulk.out);
        const auto jo = nlohmann::json::parse(one.out);
        ASSERT_EQ(jb["results"].size(), jo["results"].size());
        for (std::size_t i = 0; i < jb["results"].size(); ++i) {
            EXPECT_EQ(jb["results"][i]["kind"], jo["results"][i]["kind"]) << i;
            EXPECT_EQ(jb["results"][i]["interface"], jo["results"][i]["interface"]) << i;
            EXPECT_EQ(jb["results"][i].value("gateway", ""), jo["results"][i].value("gateway", "")) << i;
        }
    }

    // The more specific route beats the default one, and the text explains it.
    auto r = lab.exec(a, {NETTOOL_BIN, "classify", "203.0.113.5", "192.0.2.77"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("192.0.2.254"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("203.0.113.0/25"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("^^^^^^^^ ^^^^^^^^ ^^^^^^^^"), std::string::npos) << r.out;

    // An unreachable destination makes the exit status 1.
    r = lab.exec(b, {NETTOOL_BIN, "classify", "203.0.113.5"});
    EXPECT_EQ(r.exit_code, 1) << r.out;
}

}  // namespace

namespace {

// ---- prefix table and bulk classifier

using nettool::ipv4_prefix_table;

struct naive_prefix {
    std::uint32_t network;
    int length;
    std::uint32_t value;
};

std::uint32_t naive_lookup(const std::vector<naive_prefix>& ps, std::uint32_t a) {
    int best = -1;
    std::uint32_t value = ipv4_prefix_table::no_match;
    for (const auto& p : ps) {  // later equal prefixes replace earlier ones, like insert()
        const std::uint32_t mask = p.length == 0 ? 0 : ~std::uint32_t{0} << (32 - p.length);
        if ((a & mask) == (p.network & mask) && p.length >= best) {
            best = p.length;
            value = p.value;
        }
    }
    return value;
}

TEST(PrefixTable, AgreesWithNaiveLinearLpm) {
    std::mt19937 rng(1234);
    for (int round = 0; round < 3; ++round) {
        std::vector<naive_prefix> ps;
        ipv4_prefix_table t;
        EXPECT_EQ(t.lookup(0x01020304U), ipv4_prefix_table::no_match);  // before build()
        // Clustered prefixes so that nesting, /25../32 groups and duplicates all happen.
        const std::uint32_t base = static_cast<std::uint32_t>(rng()) & 0xFF000000U;
        for (std::uint32_t i = 0; i < 3000; ++i) {
            const int len = static_cast<int>(rng() % 33);
            const std::uint32_t net = base | (static_cast<std::uint32_t>(rng()) & 0x0003FFFFU);
            ps.push_back({net, len, i});
            ASSERT_TRUE(t.insert(net, len, i));
        }
        t.build();
        for (int k = 0; k < 20000; ++k) {
            std::uint32_t a = static_cast<std::uint32_t>(rng());
            if (k % 2 == 0) a = base | (a & 0x0003FFFFU);  // inside the cluster
            ASSERT_EQ(t.lookup(a), naive_lookup(ps, a)) << std::hex << a;
        }
        for (const auto& p : ps) ASSERT_EQ(t.lookup(p.network), naive_lookup(ps, p.network));
        std::vector<std::uint32_t> batch_in(1000), batch_out(1000);
        for (auto& a : batch_in) a = base | (static_cast<std::uint32_t>(rng()) & 0x0003FFFFU);
        t.lookup_batch(batch_in, batch_out);
        for (std::size_t i = 0; i < batch_in.size(); ++i)
            ASSERT_EQ(batch_out[i], naive_lookup(ps, batch_in[i]));
    }
}

TEST(PrefixTable, EdgesAndLimits) {
    ipv4_prefix_table t;
    EXPECT_FALSE(t.insert(0, 33, 1));
    EXPECT_FALSE(t.insert(0, -1, 1));
    EXPECT_FALSE(t.insert(0, 8, ipv4_prefix_table::max_value + 1));
    EXPECT_TRUE(t.insert(0, 0, 7));
    EXPECT_TRUE(t.insert(0xC0000201U, 32, 9));
    EXPECT_TRUE(t.insert(0xC0000200U, 31, 8));
    t.build();
    EXPECT_EQ(t.lookup(0xC0000201U), 9u);
    EXPECT_EQ(t.lookup(0xC0000200U), 8u);
    EXPECT_EQ(t.lookup(0xC0000202U), 7u);
    EXPECT_EQ(t.lookup(0xFFFFFFFFU), 7u);
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(t.group_count(), 1u);
    t.clear();
    EXPECT_EQ(t.lookup(0xC0000201U), ipv4_prefix_table::no_match);
}

TEST(BulkClassifier, SameAnswersAsClassify) {
    const auto v = sample_view();
    const nettool::bulk_classifier fast(v);
    std::mt19937 rng(5);
    std::vector<ip_address> probes;
    for (const char* s :
         {"127.0.0.9", "192.0.2.10", "192.0.2.77", "192.0.2.255", "198.51.100.5", "203.0.113.5",
          "203.0.113.70", "203.0.113.200", "2001:db8:a::99", "224.0.0.1", "255.255.255.255"})
        probes.push_back(A(s));
    for (int i = 0; i < 5000; ++i)
        probes.push_back(ip_address::v4(0xC0000000U | (static_cast<std::uint32_t>(rng()) & 0x0FFFFFFFU)));
    for (const auto& p : probes) EXPECT_EQ(fast.classify(p), classify(v, p)) << p.to_string();
}

TEST(ClassifyCli, FileModeReadsAddressesAndReportsBadLines) {
    const std::string dir = ::testing::TempDir();
    const std::string good = dir + "/nt_classify_good.txt";
    const std::string bad = dir + "/nt_classify_bad.txt";
    {
        std::ofstream f(good);
        f << "# comment\n127.0.0.1\n\n::1  # trailing comment\n127.9.9.9\n";
        std::ofstream g(bad);
        g << "127.0.0.1\nnot-an-address\n";
    }
    auto r = test::run_nettool({"classify", "--file", good, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["results"].size(), 3u);
    for (const auto& e : j["results"]) EXPECT_EQ(e["kind"], "loopback");
    r = test::run_nettool({"classify", "--file", good});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("3 address(es): 3 loopback"), std::string::npos) << r.out;
    r = test::run_nettool({"classify", "--file", bad});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
    std::remove(good.c_str());
    std::remove(bad.c_str());
}

}  // namespace
