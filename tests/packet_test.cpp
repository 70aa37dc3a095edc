// Decoders: tiny inline fixtures for each layer and edge case, and a truncation sweep.
#include <nettool/packet/packet.hpp>

#include <nettool/packet/capture.hpp>

#include "support/packet_fixtures.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

namespace {

using namespace nettool;
using namespace nettool::test;

TEST(Cursor, ReadsBigEndianAndLatchesOnShortRead) {
    auto b = nettool::test::bytes({0x01, 0x02, 0x03, 0x04, 0x05});
    cursor c{b};
    EXPECT_EQ(c.u16(), 0x0102);
    EXPECT_EQ(c.u16_le(), 0x0403);
    EXPECT_TRUE(c.ok());
    EXPECT_EQ(c.u32(), 0u);  // only one byte left
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(c.offset(), 4u);  // a failed read does not move
    EXPECT_EQ(c.u8(), 0x05);
    EXPECT_TRUE(c.take(1).empty());
    EXPECT_EQ(cursor::u16_at(b, 4), 0);  // out of range at offset 4 (one byte)
    EXPECT_EQ(cursor::u32_at(b, 1), 0x02030405u);
    EXPECT_TRUE(cursor::slice(b, 3, 3).empty());
    EXPECT_EQ(cursor::slice(b, 3, 2).size(), 2u);
}

TEST(Packet, TcpSynWithOptions) {
    auto f = tcp_syn();
    auto p = decode(link_type::ethernet, f);
    EXPECT_EQ(p.stop, decode_stop::complete);
    ASSERT_TRUE(p.ethernet && p.ipv4 && p.tcp);
    EXPECT_EQ(p.ethernet->type(), ethertype::ipv4);
    EXPECT_EQ(p.ethernet->src()[0], 0x66);
    EXPECT_EQ(p.ipv4->src(), ip_address::v4(0xc0000201u));
    EXPECT_EQ(fmt::format("{}", p.ipv4->dst()), "198.51.100.2");
    EXPECT_TRUE(p.ipv4->dont_fragment());
    EXPECT_EQ(p.ipv4->ttl(), 64);
    EXPECT_EQ(p.tcp->src_port(), 1234);
    EXPECT_EQ(p.tcp->dst_port(), 80);
    EXPECT_EQ(p.tcp->seq(), 1u);
    EXPECT_TRUE(p.tcp->has(tcp_view::syn));
    EXPECT_FALSE(p.tcp->has(tcp_view::ack_flag));
    EXPECT_EQ(p.tcp->window(), 0xffff);
    EXPECT_TRUE(p.tcp->payload().empty());
    auto o = p.tcp->options();
    EXPECT_EQ(o.mss, 1460);
    EXPECT_TRUE(o.sack_permitted);
    EXPECT_EQ(o.ts_value, 100u);
    EXPECT_EQ(o.ts_echo, 0u);
    EXPECT_EQ(o.window_scale, 7);
    EXPECT_FALSE(o.malformed);
    ASSERT_EQ(p.depth, 3);
    EXPECT_EQ(layer_name(p.path[0]), "eth");
    EXPECT_EQ(layer_name(p.path[1]), "ip");
    EXPECT_EQ(layer_name(p.path[2]), "tcp");
}

TEST(Packet, TcpOptionLengthPastEndIsMalformedOptionsNotACrash) {
    auto f = tcp_syn();
    f[14 + 20 + 20 + 1] = std::byte{0x30};  // MSS option claims 48 bytes
    auto p = decode(link_type::ethernet, f);
    ASSERT_TRUE(p.tcp);
    EXPECT_TRUE(p.tcp->options().malformed);
}

TEST(Packet, StackedVlanUdpDnsQuery) {
    auto f = qinq_dns_query();
    auto p = decode(link_type::ethernet, f);
    EXPECT_EQ(p.stop, decode_stop::complete);
    EXPECT_EQ(p.vlan_tags, 2);
    ASSERT_TRUE(p.vlan);
    EXPECT_EQ(p.vlan->vid(), 200);  // innermost
    ASSERT_TRUE(p.udp && p.dns);
    EXPECT_EQ(p.udp->src_port(), 12345);
    EXPECT_EQ(p.udp->dst_port(), 53);
    EXPECT_EQ(p.udp->payload().size(), 29u);
    EXPECT_EQ(p.dns->id(), 0x1234);
    EXPECT_FALSE(p.dns->is_response());
    EXPECT_EQ(p.dns->question_count(), 1);
    auto q = p.dns->first_question();
    ASSERT_TRUE(q);
    EXPECT_EQ(q->name.view(), "example.com");
    EXPECT_EQ(q->qtype, 1);
    EXPECT_EQ(q->qclass, 1);
    EXPECT_TRUE(p.has(layer::vlan));
    EXPECT_TRUE(p.has(layer::dns));
}

TEST(Packet, SllIpv6ExtensionHeadersToUdp) {
    auto f = sll_ipv6_ext_udp();
    auto p = decode(link_type::linux_sll, f);
    EXPECT_EQ(p.stop, decode_stop::complete);
    ASSERT_TRUE(p.sll && p.ipv6 && p.udp);
    EXPECT_EQ(p.sll->protocol(), ethertype::ipv6);
    EXPECT_EQ(p.ipv6->hop_limit(), 64);
    EXPECT_EQ(p.ipv6->src(), ip_address::parse("2001:db8::1"));
    EXPECT_EQ(p.ipv6->dst().to_string(), "2001:db8::2");
    EXPECT_EQ(p.ipv6->dst().family, ip_family::v6);
    EXPECT_TRUE(p.ip_fragment);
    EXPECT_EQ(p.udp->src_port(), 1000);
    EXPECT_EQ(p.udp->dst_port(), 2000);
    EXPECT_EQ(p.payload.size(), 4u);
    EXPECT_FALSE(p.dns);
}

TEST(Packet, Ipv6LaterFragmentHasNoTransport) {
    auto f = sll_ipv6_ext_udp();
    f[16 + 40 + 8 + 3] = std::byte{0x08};  // fragment offset 1 (8 bytes)
    auto p = decode(link_type::linux_sll, f);
    EXPECT_EQ(p.stop, decode_stop::not_first_fragment);
    EXPECT_FALSE(p.udp);
    EXPECT_TRUE(p.ipv6);
}

TEST(Packet, Sll2Arp) {
    auto f = sll2_arp();
    auto p = decode(link_type::linux_sll2, f);
    EXPECT_EQ(p.stop, decode_stop::complete);
    ASSERT_TRUE(p.sll2 && p.arp);
    EXPECT_EQ(p.sll2->interface_index(), 2u);
    EXPECT_EQ(p.arp->operation(), 1);
    ASSERT_EQ(p.arp->target_proto().size(), 4u);
    EXPECT_EQ(std::to_integer<int>(p.arp->target_proto()[3]), 2);
    EXPECT_EQ(std::to_integer<int>(p.arp->sender_proto()[3]), 1);
    EXPECT_EQ(p.arp->sender_ip(), ip_address::parse("192.0.2.1"));
    EXPECT_EQ(p.arp->target_ip(), ip_address::parse("192.0.2.2"));
}

TEST(Packet, NullAndLoopByteOrders) {
    auto n = null_icmp();
    auto p = decode(link_type::null, n);
    EXPECT_EQ(p.stop, decode_stop::complete);
    ASSERT_TRUE(p.null_loop && p.icmp);
    EXPECT_EQ(p.null_loop->family(), 2u);
    EXPECT_EQ(p.icmp->type(), 8);
    // The same family written by a big-endian host.
    n[0] = std::byte{0};
    n[3] = std::byte{2};
    EXPECT_TRUE(decode(link_type::null, n).icmp);

    auto l = loop_icmpv6();
    auto q = decode(link_type::loop, l);
    EXPECT_EQ(q.stop, decode_stop::complete);
    ASSERT_TRUE(q.icmpv6);
    EXPECT_EQ(q.icmpv6->type(), 128);
}

TEST(Packet, Ipv4OptionsAndLaterFragment) {
    auto f = raw_fragment();
    auto p = decode(link_type::raw, f);
    EXPECT_EQ(p.stop, decode_stop::not_first_fragment);
    ASSERT_TRUE(p.ipv4);
    EXPECT_EQ(p.ipv4->header_length(), 24);
    EXPECT_EQ(p.ipv4->options().size(), 4u);
    EXPECT_EQ(p.ipv4->fragment_offset(), 8u);
    EXPECT_TRUE(p.ip_fragment);
    EXPECT_FALSE(p.udp);
}

TEST(Packet, IcmpErrorQuotesInnerHeadersForTheHierarchyOnly) {
    auto f = icmp_unreachable();
    auto p = decode(link_type::ethernet, f);
    EXPECT_EQ(p.stop, decode_stop::complete);
    ASSERT_TRUE(p.icmp);
    EXPECT_FALSE(p.udp);  // the quoted UDP header is not this packet's transport
    EXPECT_TRUE(p.has(layer::udp));
    ASSERT_EQ(p.depth, 5);
    EXPECT_EQ(layer_name(p.path[3]), "ip");
    EXPECT_EQ(p.ipv4->src(), ip_address::v4(0xc0000202u));  // the outer header
}

TEST(Packet, DnsResponseNameAndRcode) {
    auto f = dns_response_compressed();
    auto p = decode(link_type::raw, f);
    EXPECT_EQ(p.stop, decode_stop::complete);
    ASSERT_TRUE(p.dns);
    EXPECT_TRUE(p.dns->is_response());
    EXPECT_EQ(p.dns->rcode(), 3);
    auto q = p.dns->first_question();
    ASSERT_TRUE(q);
    EXPECT_EQ(q->name.view(), "www.example.com");
    EXPECT_EQ(q->qtype, 28);
}

TEST(Packet, DnsCompressionPointersAreBounded) {
    // Header then a name that is a pointer to itself (offset 12): must fail, not loop.
    auto self = nettool::test::bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1});
    auto d = dns_view::parse(self);
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->first_question());
    // A forward pointer is refused too.
    auto fwd = nettool::test::bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x10, 0, 1, 1, 'a', 0, 0, 1, 0, 1});
    EXPECT_FALSE(dns_view::parse(fwd)->first_question());
    // A valid backward pointer: name at 12 is "a", question 2 would point to it; read it directly.
    auto back = nettool::test::bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0xc0, 0x0c});
    cursor c{back};
    c.seek(15);
    dns_name n;
    ASSERT_TRUE(dns_view::read_name(back, c, n));
    EXPECT_EQ(n.view(), "a");
    EXPECT_EQ(c.offset(), 17u);  // after the pointer, not after the target
    // A name over 255 bytes is refused.
    std::vector<std::byte> longname = nettool::test::bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0});
    for (int i = 0; i < 5; ++i) {
        longname.push_back(std::byte{63});
        longname.insert(longname.end(), 63, std::byte{'x'});
    }
    longname.push_back(std::byte{0});
    cursor lc{longname};
    lc.seek(12);
    EXPECT_FALSE(dns_view::read_name(longname, lc, n));
}

TEST(Packet, UnsupportedLinkTypeIsReportedNotACrash) {
    auto f = tcp_syn();
    auto p = decode(147, f);
    EXPECT_EQ(p.stop, decode_stop::unsupported_link_type);
    EXPECT_EQ(p.depth, 0);
    EXPECT_FALSE(is_supported_link_type(147));
    EXPECT_TRUE(is_supported_link_type(link_type::linux_sll2));
}

TEST(Packet, BadIpVersionIsMalformed) {
    auto f = tcp_syn();
    f[14] = std::byte{0x55};
    EXPECT_EQ(decode(link_type::ethernet, f).stop, decode_stop::malformed);
    f[14] = std::byte{0x44};  // IHL 4 < 5
    EXPECT_EQ(decode(link_type::ethernet, f).stop, decode_stop::malformed);
}

TEST(Packet, TooManyVlanTagsStops) {
    std::vector<std::byte> f = nettool::test::bytes({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00});
    for (int i = 0; i < 12; ++i) {
        auto tag = nettool::test::bytes({0x00, 0x01, 0x81, 0x00});
        f.insert(f.end(), tag.begin(), tag.end());
    }
    auto p = decode(link_type::ethernet, f);
    EXPECT_EQ(p.stop, decode_stop::too_many_headers);
}

// Every strict prefix of every fixture decodes cleanly to "truncated".
TEST(Packet, TruncationSweepEveryPrefixIsTruncated) {
    for (const auto& fx : all_fixtures()) {
        auto full = decode(fx.link, fx.data);
        EXPECT_NE(full.stop, decode_stop::truncated) << fx.name;
        for (std::size_t n = 0; n < fx.data.size(); ++n) {
            // A fresh copy of exactly n bytes, so ASan catches any read past the prefix.
            std::vector<std::byte> prefix(fx.data.begin(), fx.data.begin() + static_cast<std::ptrdiff_t>(n));
            auto p = decode(fx.link, prefix);
            EXPECT_EQ(p.stop, decode_stop::truncated)
                << fx.name << " prefix " << n << ": " << decode_stop_name(p.stop);
            EXPECT_LE(p.depth, full.depth) << fx.name << " prefix " << n;
        }
    }
}

// The tcpdump -n style line of every fixture, after the local time of day. Pinned from the
// printer as it was before the protocols became modules; a change here is a change users see.
TEST(PacketLine, EveryFixturePrintsItsLine) {
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"tcp_syn", "IP 192.0.2.1.1234 > 198.51.100.2.80: Flags [S], seq 1, win 65535, length 0"},
        {"qinq_dns_query", "IP 192.0.2.1.12345 > 192.0.2.53.53: DNS query id 4660 example.com"},
        {"sll_ipv6_ext_udp", "IP6 2001:db8::1.1000 > 2001:db8::2.2000: UDP, length 4"},
        {"sll2_arp", "ARP, Request, length 52"},
        {"null_icmp", "IP 127.0.0.1 > 127.0.0.1: ICMP type 8 code 0"},
        {"loop_icmpv6", "IP6 ::1 > ::1: ICMP6 type 128 code 0"},
        {"raw_fragment", "IP 192.0.2.1 > 192.0.2.2: proto 0, length 36"},
        {"icmp_unreachable", "IP 192.0.2.2 > 192.0.2.1: ICMP type 3 code 3"},
        {"dns_response", "IP 192.0.2.53.53 > 192.0.2.1.40000: DNS response id 43981 www.example.com rcode 3"},
        {"raw_ipv6_tcp_dns",
         "IP6 2001:db8::35.53 > 2001:db8::1.40000: Flags [P.], seq 4096, ack 8192, win 256, length 26"},
        {"eth_arp_reply", "ARP, Reply, length 46"},
        {"raw_esp", "IP 192.0.2.1 > 192.0.2.2: proto 50, length 36"},
        {"raw_ipv6_gre", "IP6 fe80::1 > fe80::1: proto 47, length 48"},
        {"eth_lldp", "link type 1, length 27 (unsupported ethertype)"},
        {"unsupported_link", "link type 147, length 78 (unsupported link type)"},
    };
    std::vector<fixture> all = all_fixtures();
    for (auto& f : stop_fixtures()) all.push_back(std::move(f));
    ASSERT_EQ(all.size(), expected.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto& fx = all[i];
        auto p = decode(fx.link, fx.data, {.extra_dns_port = 0});
        std::string line =
            packet_line(std::chrono::seconds{1}, p, static_cast<std::uint32_t>(fx.data.size() + 4));
        auto space = line.find(' ');
        ASSERT_NE(space, std::string::npos) << line;
        EXPECT_EQ(line.substr(0, space).size(), 15u) << line;  // HH:MM:SS.uuuuuu
        EXPECT_EQ(line.substr(space - 7, 7), ".000000") << line;
        EXPECT_EQ(fx.name, expected[i].first);
        EXPECT_EQ(line.substr(space + 1), expected[i].second) << fx.name;
    }
}

}  // namespace
