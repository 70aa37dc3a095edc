// Decoders: tiny inline fixtures for each layer and edge case, and a truncation sweep.
#include <nettool/packet/packet.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

namespace {

using namespace nettool;

std::vector<std::byte> bytes(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int x : v) out.push_back(static_cast<std::byte>(x));
    return out;
}
std::vector<std::byte> cat(std::initializer_list<std::vector<std::byte>> parts) {
    std::vector<std::byte> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}
std::vector<std::byte> text(const std::string& s) {
    std::vector<std::byte> out;
    for (char c : s) out.push_back(static_cast<std::byte>(c));
    return out;
}

const auto eth_ipv4 =
    bytes({0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00});

// Ethernet / IPv4 / TCP SYN with MSS, SACK-permitted, timestamps, NOP, window scale.
std::vector<std::byte> tcp_syn() {
    return cat({eth_ipv4, bytes({0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06,
                                 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02}),
                bytes({0x04, 0xd2, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
                       0x00, 0x00, 0xa0, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00}),
                bytes({0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x00,
                       0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07})});
}

// Ethernet / 802.1ad S-tag 100 / 802.1Q C-tag 200 / IPv4 / UDP / DNS query example.com A.
std::vector<std::byte> qinq_dns_query() {
    return cat({bytes({0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x88, 0xa8}),
                bytes({0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00}),
                bytes({0x45, 0x00, 0x00, 0x39, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11,
                       0x00, 0x00, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x35}),
                bytes({0x30, 0x39, 0x00, 0x35, 0x00, 0x25, 0x00, 0x00}),
                bytes({0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07}),
                text("example"), bytes({0x03}), text("com"), bytes({0x00, 0x00, 0x01, 0x00, 0x01})});
}

// Linux SLL / IPv6 / hop-by-hop / fragment (first, more follow) / UDP 1000 -> 2000 + 4 bytes.
std::vector<std::byte> sll_ipv6_ext_udp() {
    std::vector<std::byte> addr6(16, std::byte{0});
    addr6[0] = std::byte{0x20};
    addr6[1] = std::byte{0x01};
    addr6[2] = std::byte{0x0d};
    addr6[3] = std::byte{0xb8};
    addr6[15] = std::byte{0x01};
    auto dst6 = addr6;
    dst6[15] = std::byte{0x02};
    return cat({bytes({0x00, 0x00, 0x03, 0x04, 0x00, 0x06, 1, 2, 3, 4, 5, 6, 0, 0, 0x86, 0xdd}),
                bytes({0x60, 0x00, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x40}), addr6, dst6,
                bytes({0x2c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00}),
                bytes({0x11, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef}),
                bytes({0x03, 0xe8, 0x07, 0xd0, 0x00, 0x0c, 0x00, 0x00, 'a', 'b', 'c', 'd'})});
}

// Linux SLL2 / ARP request who-has 192.0.2.2 tell 192.0.2.1.
std::vector<std::byte> sll2_arp() {
    return cat({bytes({0x08, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01,
                       0x04, 0x06, 1,    2,    3,    4,    5,    6,    0,    0}),
                bytes({0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 1, 2, 3,   4, 5, 6,
                       192,  0,    2,    1,    0,    0,    0,    0,    0, 0, 192, 0, 2, 2})});
}

// DLT_NULL written by a little-endian host (family 2) / IPv4 / ICMP echo request.
std::vector<std::byte> null_icmp() {
    return cat({bytes({0x02, 0x00, 0x00, 0x00}),
                bytes({0x45, 0x00, 0x00, 0x1c, 0x00, 0x02, 0x00, 0x00, 0x40, 0x01,
                       0x00, 0x00, 0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01}),
                bytes({0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01})});
}

// DLT_LOOP (network order, family 24 = BSD AF_INET6) / IPv6 / ICMPv6 echo request.
std::vector<std::byte> loop_icmpv6() {
    std::vector<std::byte> lo6(16, std::byte{0});
    lo6[15] = std::byte{1};
    return cat({bytes({0x00, 0x00, 0x00, 0x18}), bytes({0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x3a, 0x40}), lo6,
                lo6, bytes({0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01})});
}

// Raw IPv4 with a 4-byte option, a non-first fragment (offset 8 bytes) of UDP.
std::vector<std::byte> raw_fragment() {
    return cat({bytes({0x46, 0x00, 0x00, 0x20, 0x00, 0x03, 0x00, 0x01, 0x40, 0x11, 0x00, 0x00,
                       0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02, 0x01, 0x01, 0x01, 0x00}),
                bytes({1, 2, 3, 4, 5, 6, 7, 8})});
}

// Ethernet / IPv4 / ICMP port unreachable quoting IPv4 / UDP 5000 -> 6000.
std::vector<std::byte> icmp_unreachable() {
    return cat({eth_ipv4, bytes({0x45, 0x00, 0x00, 0x38, 0x00, 0x04, 0x00, 0x00, 0x40, 0x01,
                                 0x00, 0x00, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00, 0x02, 0x01}),
                bytes({0x03, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}),
                bytes({0x45, 0x00, 0x00, 0x20, 0x00, 0x05, 0x00, 0x00, 0x40, 0x11,
                       0x00, 0x00, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02}),
                bytes({0x13, 0x88, 0x17, 0x70, 0x00, 0x0c, 0x00, 0x00})});
}

// Raw IPv4 / UDP 53 -> 40000 / DNS response NXDOMAIN whose question name uses a compression
// pointer into the question itself ("www" + pointer to "example.com" in the answer is not
// needed: the name is "www.example.com" written as labels then a pointer back to offset 16).
std::vector<std::byte> dns_response_compressed() {
    auto dns = cat({bytes({0xab, 0xcd, 0x81, 0x83, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}),
                    // offset 12: "x" then a pointer to offset 18 ("example.com" below would be after)...
                    bytes({0x03}), text("www"), bytes({0x07}), text("example"), bytes({0x03}), text("com"),
                    bytes({0x00, 0x00, 0x1c, 0x00, 0x01})});
    std::size_t udp_len = 8 + dns.size();
    std::size_t ip_len = 20 + udp_len;
    return cat({bytes({0x45, 0x00, 0x00, static_cast<int>(ip_len),
                       0x00, 0x06, 0x00, 0x00,
                       0x40, 0x11, 0x00, 0x00,
                       0xc0, 0x00, 0x02, 0x35,
                       0xc0, 0x00, 0x02, 0x01}),
                bytes({0x00, 0x35, 0x9c, 0x40, 0x00, static_cast<int>(udp_len), 0x00, 0x00}), dns});
}

struct fixture {
    const char* name;
    int link;
    std::vector<std::byte> data;
};

std::vector<fixture> all_fixtures() {
    return {{"tcp_syn", link_type::ethernet, tcp_syn()},
            {"qinq_dns_query", link_type::ethernet, qinq_dns_query()},
            {"sll_ipv6_ext_udp", link_type::linux_sll, sll_ipv6_ext_udp()},
            {"sll2_arp", link_type::linux_sll2, sll2_arp()},
            {"null_icmp", link_type::null, null_icmp()},
            {"loop_icmpv6", link_type::loop, loop_icmpv6()},
            {"raw_fragment", link_type::raw, raw_fragment()},
            {"icmp_unreachable", link_type::ethernet, icmp_unreachable()},
            {"dns_response", link_type::raw, dns_response_compressed()}};
}

TEST(Cursor, ReadsBigEndianAndLatchesOnShortRead) {
    auto b = bytes({0x01, 0x02, 0x03, 0x04, 0x05});
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
    EXPECT_EQ(p.ipv4->src(), 0xc0000201u);
    EXPECT_EQ(p.ipv4->dst(), 0xc6336402u);
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
    EXPECT_EQ(p.ipv6->src()[15], 1);
    EXPECT_EQ(p.ipv6->dst()[15], 2);
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
    EXPECT_EQ(p.ipv4->src(), 0xc0000202u);  // the outer header
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
    auto self = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1});
    auto d = dns_view::parse(self);
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->first_question());
    // A forward pointer is refused too.
    auto fwd = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x10, 0, 1, 1, 'a', 0, 0, 1, 0, 1});
    EXPECT_FALSE(dns_view::parse(fwd)->first_question());
    // A valid backward pointer: name at 12 is "a", question 2 would point to it; read it directly.
    auto back = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0xc0, 0x0c});
    cursor c{back};
    c.seek(15);
    dns_name n;
    ASSERT_TRUE(dns_view::read_name(back, c, n));
    EXPECT_EQ(n.view(), "a");
    EXPECT_EQ(c.offset(), 17u);  // after the pointer, not after the target
    // A name over 255 bytes is refused.
    std::vector<std::byte> longname = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0});
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
    std::vector<std::byte> f = bytes({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00});
    for (int i = 0; i < 12; ++i) {
        auto tag = bytes({0x00, 0x01, 0x81, 0x00});
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

}  // namespace
