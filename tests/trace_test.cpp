#include <nettool/trace/trace.hpp>

#include "support/process.hpp"
#include "trace/probe_tag.hpp"

#include <nettool/core/error.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstring>
#include <vector>

namespace nettool {
namespace {

using namespace detail;
using test::run_nettool;

constexpr std::uint32_t token = 0xa1b2c3d4;

std::vector<std::byte> udp_quote(std::uint16_t seq, std::uint8_t ttl, std::uint8_t flow,
                                 std::size_t padding = 18) {
    std::vector<std::byte> b(probe_tag_size + padding);
    write_probe_tag(b, probe_tag{.token = token, .seq = seq, .ttl = ttl, .flow = flow, .balance = 0x55aa});
    return b;
}

std::vector<std::byte> icmp_echo(std::uint8_t type, std::uint16_t id, std::uint16_t seq, std::uint8_t ttl,
                                 std::uint8_t flow, std::uint16_t target = 0x1000,
                                 std::uint32_t tok = token) {
    std::vector<std::byte> b(8 + probe_tag_size + 18);
    b[0] = std::byte{type};
    b[4] = static_cast<std::byte>(id >> 8);
    b[5] = static_cast<std::byte>(id & 0xff);
    b[6] = static_cast<std::byte>(seq >> 8);
    b[7] = static_cast<std::byte>(seq & 0xff);
    probe_tag t{.token = tok, .seq = seq, .ttl = ttl, .flow = flow, .balance = 0};
    t.balance = probe_balance(t, true, target);
    write_probe_tag(std::span<std::byte>(b).subspan(8), t);
    return b;
}

// RFC 1071 checksum of bytes.
std::uint16_t checksum(std::span<const std::byte> b) {
    std::uint32_t acc = 0;
    for (std::size_t i = 0; i + 1 < b.size(); i += 2)
        acc += (std::to_integer<std::uint32_t>(b[i]) << 8) | std::to_integer<std::uint32_t>(b[i + 1]);
    if (b.size() % 2) acc += std::to_integer<std::uint32_t>(b.back()) << 8;
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<std::uint16_t>(~acc & 0xffff);
}

TEST(TraceQuote, ReadsBackWhatAProbeCarries) {
    const auto u = parse_probe_quote(udp_quote(513, 7, 2), quote_kind::udp_payload, token);
    ASSERT_EQ(u.status, quote_status::ok);
    EXPECT_EQ(u.tag.seq, 513);
    EXPECT_EQ(u.tag.ttl, 7);
    EXPECT_EQ(u.tag.flow, 2);
    EXPECT_FALSE(u.header_only);

    const auto i = parse_probe_quote(icmp_echo(8, 0x4242, 9, 4, 1), quote_kind::icmp_echo, token);
    ASSERT_EQ(i.status, quote_status::ok);
    EXPECT_EQ(i.tag.seq, 9);
    EXPECT_EQ(i.tag.ttl, 4);
    EXPECT_EQ(i.id, 0x4242);

    // TCP: ports, then the sequence number (token's low half, probe number).
    const std::array<std::byte, 8> tcp{std::byte{0x9c}, std::byte{0x40}, std::byte{0},    std::byte{80},
                                       std::byte{0xc3}, std::byte{0xd4}, std::byte{0x01}, std::byte{0x02}};
    const auto t = parse_probe_quote(tcp, quote_kind::tcp_header, token);
    ASSERT_EQ(t.status, quote_status::ok);
    EXPECT_EQ(t.tag.seq, 0x0102);
    EXPECT_EQ(t.id, 0x9c40);
}

TEST(TraceQuote, AnotherRunsOrForgedProbesAreForeign) {
    EXPECT_EQ(parse_probe_quote(udp_quote(1, 1, 0), quote_kind::udp_payload, token + 1).status,
              quote_status::foreign);
    auto bad_magic = udp_quote(1, 1, 0);
    bad_magic[0] = std::byte{'X'};
    EXPECT_EQ(parse_probe_quote(bad_magic, quote_kind::udp_payload, token).status, quote_status::foreign);
    // The echo header's sequence number and the tag's must agree.
    auto mismatch = icmp_echo(8, 1, 9, 4, 0);
    mismatch[7] = std::byte{10};
    EXPECT_EQ(parse_probe_quote(mismatch, quote_kind::icmp_echo, token).status, quote_status::foreign);
    // Not an echo at all.
    EXPECT_EQ(parse_probe_quote(icmp_echo(13, 1, 9, 4, 0), quote_kind::icmp_echo, token).status,
              quote_status::foreign);
    const std::array<std::byte, 8> tcp{std::byte{1},    std::byte{2},    std::byte{0},    std::byte{80},
                                       std::byte{0x00}, std::byte{0x00}, std::byte{0x01}, std::byte{0x02}};
    EXPECT_EQ(parse_probe_quote(tcp, quote_kind::tcp_header, token).status, quote_status::foreign);
}

TEST(TraceQuote, TruncationSweep) {
    // Every prefix of every kind: never a read past the end, and the status follows the length.
    const auto u = udp_quote(3, 2, 0);
    for (std::size_t n = 0; n <= u.size(); ++n) {
        const auto m = parse_probe_quote(std::span(u).first(n), quote_kind::udp_payload, token);
        EXPECT_EQ(m.status, n < probe_tag_size ? quote_status::short_quote : quote_status::ok) << n;
    }
    const auto e = icmp_echo(8, 7, 3, 2, 0);
    for (std::size_t n = 0; n <= e.size(); ++n) {
        const auto m = parse_probe_quote(std::span(e).first(n), quote_kind::icmp_echo, token);
        if (n < 8) {
            EXPECT_EQ(m.status, quote_status::short_quote) << n;
        } else {
            // From 8 bytes on the echo header's sequence number identifies the probe; the whole
            // tag also gives its TTL and flow.
            ASSERT_EQ(m.status, quote_status::ok) << n;
            EXPECT_EQ(m.tag.seq, 3);
            EXPECT_EQ(m.header_only, n < 8 + probe_tag_size) << n;
        }
    }
    const std::array<std::byte, 8> tcp{std::byte{1},    std::byte{2},    std::byte{0}, std::byte{80},
                                       std::byte{0xc3}, std::byte{0xd4}, std::byte{0}, std::byte{5}};
    for (std::size_t n = 0; n <= tcp.size(); ++n)
        EXPECT_EQ(parse_probe_quote(std::span(tcp).first(n), quote_kind::tcp_header, token).status,
                  n < 8 ? quote_status::short_quote : quote_status::ok)
            << n;
    // A raw socket's IPv4 packet: the header length is checked against the bytes.
    std::vector<std::byte> ip(20 + e.size());
    ip[0] = std::byte{0x45};
    std::memcpy(ip.data() + 20, e.data(), e.size());
    for (std::size_t n = 0; n <= ip.size(); ++n) {
        const auto p = ipv4_payload(std::span(ip).first(n));
        EXPECT_EQ(p.size(), n < 20 ? 0 : n - 20) << n;
    }
    ip[0] = std::byte{0x4f};  // IHL 60 bytes: more than there is
    EXPECT_TRUE(ipv4_payload(std::span(ip).first(40)).empty());
    ip[0] = std::byte{0x44};  // IHL below 5
    EXPECT_TRUE(ipv4_payload(ip).empty());
    ip[0] = std::byte{0x65};  // not IPv4
    EXPECT_TRUE(ipv4_payload(ip).empty());
    std::array<std::byte, 14> seg{};
    seg[13] = std::byte{0x12};
    tcp_answer a;
    for (std::size_t n = 0; n < seg.size(); ++n)
        EXPECT_FALSE(parse_tcp_answer(std::span(seg).first(n), a)) << n;
    ASSERT_TRUE(parse_tcp_answer(seg, a));
    EXPECT_TRUE(a.syn && a.ack_flag && !a.rst);
}

TEST(TraceQuote, ChecksumIsConstantPerFlowAndDiffersBetweenFlows) {
    // Paris traceroute: a load balancer hashing the first bytes of the ICMP header (its checksum
    // is there) sees one value for every probe of a flow, whatever the sequence number and TTL.
    const auto first = checksum(icmp_echo(8, 0x1234, 0, 1, 0));
    for (std::uint16_t seq : {1, 2, 77, 1000, 65535})
        for (std::uint8_t ttl : {1, 2, 30, 255})
            EXPECT_EQ(checksum(icmp_echo(8, 0x1234, seq, ttl, 0)), first);
    EXPECT_NE(checksum(icmp_echo(8, 0x1234, 5, 1, 1, 0x1101)), first);
}

TEST(TraceOptions, OutOfRangeIsAUsageError) {
    std::error_code ec;
    const auto lo = socket_address::from_numeric("127.0.0.1", 0, ec);
    ASSERT_FALSE(ec);
    run_trace(lo, "127.0.0.1", trace_options{.first_hop = 5, .max_hops = 4}, ec);
    EXPECT_EQ(ec, make_error_code(errc::bad_argument));
    run_trace(lo, "127.0.0.1", trace_options{.max_hops = 255, .queries = 10, .rounds = 100}, ec);
    EXPECT_EQ(ec, make_error_code(errc::bad_argument));
    EXPECT_TRUE(is_usage_error(ec));
    run_trace(lo, "127.0.0.1", trace_options{.protocol = trace_protocol::tcp, .pmtu = true}, ec);
    EXPECT_EQ(ec, make_error_code(errc::bad_argument));
}

TEST(TraceLoopback, UdpReachesTheHostAtHopOne) {
    std::error_code ec;
    for (const char* host : {"127.0.0.1", "::1"}) {
        const auto to = socket_address::from_numeric(host, 0, ec);
        const auto r = run_trace(to, host, trace_options{.max_hops = 5, .resolve = false});
        EXPECT_TRUE(r.reached) << host;
        EXPECT_EQ(r.destination_hop, 1U);
        ASSERT_EQ(r.hops.size(), 1U);
        EXPECT_EQ(r.hops[0].verdict, hop_verdict::destination);
        EXPECT_EQ(r.hops[0].sent, 3U);
        EXPECT_EQ(r.hops[0].received, 3U);
        ASSERT_EQ(r.hops[0].responders.size(), 1U);
        EXPECT_EQ(r.hops[0].responders[0].address.to_string(), host);
        EXPECT_EQ(r.routes.size(), 1U);
        EXPECT_EQ(r.send_errors, 0U);
    }
}

TEST(TraceLoopback, IcmpReachesTheHost) {
    std::error_code ec;
    const auto to = socket_address::from_numeric("127.0.0.1", 0, ec);
    trace_result r;
    try {
        r = run_trace(to, "127.0.0.1",
                      trace_options{.protocol = trace_protocol::icmp, .max_hops = 3, .resolve = false});
    } catch (const error& e) {
        GTEST_SKIP() << "no ping socket and no raw socket here: " << e.what();
    }
    EXPECT_TRUE(r.reached);
    ASSERT_EQ(r.hops.size(), 1U);
    EXPECT_EQ(r.hops[0].received, 3U);
    EXPECT_NE(r.method.find("ICMP"), std::string::npos);
}

TEST(TraceReport, ReadingsSayWhatTheHopsMean) {
    trace_result r;
    r.target = "b.example";
    std::error_code ec;
    r.destination = socket_address::from_numeric("192.0.2.9", 0, ec);
    r.reached = true;
    r.destination_hop = 3;
    r.paths = 2;
    auto hop = [](unsigned ttl, std::uint64_t sent, std::uint64_t received, hop_verdict v, const char* addr) {
        trace_hop h;
        h.ttl = ttl;
        h.sent = sent;
        h.received = received;
        h.verdict = v;
        for (std::uint64_t i = 0; i < received; ++i) {
            h.stats.add(std::chrono::microseconds{100 + i});
            h.rtt.record(std::chrono::microseconds{100 + i});
        }
        if (addr)
            h.responders.push_back(
                trace_responder{*ip_address::parse(addr), received, {0}, "", std::nullopt});
        return h;
    };
    r.hops = {hop(1, 10, 0, hop_verdict::does_not_answer, nullptr),
              hop(2, 10, 4, hop_verdict::rate_limits, "192.0.2.2"),
              hop(3, 10, 10, hop_verdict::destination, "192.0.2.9")};
    r.routes = {
        trace_path{
            {std::nullopt, *ip_address::parse("192.0.2.2"), *ip_address::parse("192.0.2.9")}, {0}, true},
        trace_path{
            {std::nullopt, *ip_address::parse("192.0.2.3"), *ip_address::parse("192.0.2.9")}, {1}, true}};
    const auto rep = make_report(r);
    std::string all;
    for (const auto& s : rep.readings()) all += s + "\n";
    EXPECT_NE(all.find("Reached 192.0.2.9 in 3 hops"), std::string::npos) << all;
    EXPECT_NE(all.find("Hop 1 does not answer"), std::string::npos) << all;
    EXPECT_NE(all.find("Hop 2 answered 4 of 10 probes"), std::string::npos) << all;
    EXPECT_NE(all.find("rate-limits"), std::string::npos) << all;
    EXPECT_NE(all.find("2 different paths"), std::string::npos) << all;
    ASSERT_EQ(rep.tables().size(), 2U);
    EXPECT_EQ(rep.tables()[0].rows[0][1], "???");
    EXPECT_EQ(rep.tables()[0].rows[1][2], "60.00%");
    const auto j = rep.to_json();
    EXPECT_EQ(j["trace"]["hops"][1]["verdict"], "rate-limits its ICMP");
    EXPECT_EQ(j["trace"]["hops"][1]["received"], 4);
    EXPECT_EQ(j["trace"]["routes"].size(), 2U);

    const auto m = to_mtr_json(r);
    ASSERT_EQ(m["report"]["hubs"].size(), 3U);
    EXPECT_EQ(m["report"]["hubs"][0]["host"], "???");
    EXPECT_EQ(m["report"]["hubs"][1]["host"], "192.0.2.2");
    EXPECT_DOUBLE_EQ(m["report"]["hubs"][1]["Loss%"].get<double>(), 60.0);
    EXPECT_EQ(m["report"]["hubs"][2]["Snt"], 10);
    EXPECT_DOUBLE_EQ(m["report"]["hubs"][2]["Best"].get<double>(), 0.1);
    EXPECT_DOUBLE_EQ(m["report"]["hubs"][2]["Wrst"].get<double>(), 0.109);
    EXPECT_EQ(m["report"]["reached"], true);
}

TEST(TraceCli, HelpAndBadInput) {
    const auto help = run_nettool({"trace", "--help"});
    EXPECT_EQ(help.exit_code, 0);
    for (const char* o : {"--proto", "--first-hop", "--max-hops", "--queries", "--count", "--interval",
                          "--paths", "--pmtu", "--no-resolve", "--format"})
        EXPECT_NE(help.out.find(o), std::string::npos) << o;
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"trace", "127.0.0.1", "--max-hops", "0"},
          {"trace", "127.0.0.1", "--max-hops", "256"},
          {"trace", "127.0.0.1", "--first-hop", "9", "--max-hops", "3"},
          {"trace", "127.0.0.1", "--proto", "sctp"},
          {"trace", "127.0.0.1", "--paths", "65"},
          {"trace", "127.0.0.1", "--count", "10000", "--queries", "10"},
          {"trace", "127.0.0.1", "--timeout", "nan"},
          {"trace", "127.0.0.1", "--pmtu", "--proto", "tcp"},
          {"trace", "127.0.0.1", "--port", "65530", "--paths", "8"},
          {"trace", "256.1.1.1"},
          {"trace"}}) {
        const auto r = run_nettool(args);
        EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
}

TEST(TraceCli, MtrJsonAndJsonOnLoopback) {
    const auto m = run_nettool({"trace", "-n", "127.0.0.1", "--format", "mtr-json", "-c", "2", "-i", "0.05"});
    ASSERT_EQ(m.exit_code, 0) << m.err;
    const auto mj = nlohmann::json::parse(m.out);
    ASSERT_EQ(mj["report"]["hubs"].size(), 1U);
    EXPECT_EQ(mj["report"]["hubs"][0]["host"], "127.0.0.1");
    EXPECT_EQ(mj["report"]["hubs"][0]["Snt"], 2);
    EXPECT_EQ(mj["report"]["reached"], true);

    const auto j = run_nettool({"--json", "trace", "-n", "::1"});
    ASSERT_EQ(j.exit_code, 0) << j.err;
    const auto doc = nlohmann::json::parse(j.out);
    EXPECT_EQ(doc["command"], "trace");
    EXPECT_EQ(doc["trace"]["reached"], true);
    EXPECT_EQ(doc["trace"]["destination_hop"], 1);
    EXPECT_EQ(doc["trace"]["hops"][0]["responders"][0]["address"], "::1");
}

}  // namespace
}  // namespace nettool
