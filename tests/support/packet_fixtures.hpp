#pragma once
// Packet fixtures shared by the decoder, printer and protocol-table tests: tiny inline frames,
// one or more per protocol module in lib/src/packet/proto/. all_fixtures() is the list the
// truncation sweep walks; the protocol-table test checks that every row of the table is reached
// by one of them, so a new protocol needs a fixture here.
#include <nettool/packet/packet.hpp>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

namespace nettool::test {

inline std::vector<std::byte> bytes(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int x : v) out.push_back(static_cast<std::byte>(x));
    return out;
}
inline std::vector<std::byte> cat(std::initializer_list<std::vector<std::byte>> parts) {
    std::vector<std::byte> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}
inline std::vector<std::byte> text(const std::string& s) {
    std::vector<std::byte> out;
    for (char c : s) out.push_back(static_cast<std::byte>(c));
    return out;
}

inline const auto eth_ipv4 =
    bytes({0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00});

// Ethernet / IPv4 / TCP SYN with MSS, SACK-permitted, timestamps, NOP, window scale.
inline std::vector<std::byte> tcp_syn() {
    return cat({eth_ipv4, bytes({0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06,
                                 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02}),
                bytes({0x04, 0xd2, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
                       0x00, 0x00, 0xa0, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00}),
                bytes({0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x00,
                       0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07})});
}

// Ethernet / 802.1ad S-tag 100 / 802.1Q C-tag 200 / IPv4 / UDP / DNS query example.com A.
inline std::vector<std::byte> qinq_dns_query() {
    return cat({bytes({0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x88, 0xa8}),
                bytes({0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00}),
                bytes({0x45, 0x00, 0x00, 0x39, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11,
                       0x00, 0x00, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x35}),
                bytes({0x30, 0x39, 0x00, 0x35, 0x00, 0x25, 0x00, 0x00}),
                bytes({0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07}),
                text("example"), bytes({0x03}), text("com"), bytes({0x00, 0x00, 0x01, 0x00, 0x01})});
}

// Linux SLL / IPv6 / hop-by-hop / fragment (first, more follow) / UDP 1000 -> 2000 + 4 bytes.
inline std::vector<std::byte> sll_ipv6_ext_udp() {
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
inline std::vector<std::byte> sll2_arp() {
    return cat({bytes({0x08, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01,
                       0x04, 0x06, 1,    2,    3,    4,    5,    6,    0,    0}),
                bytes({0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 1, 2, 3,   4, 5, 6,
                       192,  0,    2,    1,    0,    0,    0,    0,    0, 0, 192, 0, 2, 2})});
}

// DLT_NULL written by a little-endian host (family 2) / IPv4 / ICMP echo request.
inline std::vector<std::byte> null_icmp() {
    return cat({bytes({0x02, 0x00, 0x00, 0x00}),
                bytes({0x45, 0x00, 0x00, 0x1c, 0x00, 0x02, 0x00, 0x00, 0x40, 0x01,
                       0x00, 0x00, 0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01}),
                bytes({0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01})});
}

// DLT_LOOP (network order, family 24 = BSD AF_INET6) / IPv6 / ICMPv6 echo request.
inline std::vector<std::byte> loop_icmpv6() {
    std::vector<std::byte> lo6(16, std::byte{0});
    lo6[15] = std::byte{1};
    return cat({bytes({0x00, 0x00, 0x00, 0x18}), bytes({0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x3a, 0x40}), lo6,
                lo6, bytes({0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01})});
}

// Raw IPv4 with a 4-byte option, a non-first fragment (offset 8 bytes) of UDP.
inline std::vector<std::byte> raw_fragment() {
    return cat({bytes({0x46, 0x00, 0x00, 0x20, 0x00, 0x03, 0x00, 0x01, 0x40, 0x11, 0x00, 0x00,
                       0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02, 0x01, 0x01, 0x01, 0x00}),
                bytes({1, 2, 3, 4, 5, 6, 7, 8})});
}

// Ethernet / IPv4 / ICMP port unreachable quoting IPv4 / UDP 5000 -> 6000.
inline std::vector<std::byte> icmp_unreachable() {
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
inline std::vector<std::byte> dns_response_compressed() {
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

// Raw IPv6 / TCP 53 -> 40000, PSH|ACK / DNS over TCP (2-byte length) response NOERROR for "a.test"
// AAAA: the line printed for it is the TCP segment's, as tcpdump prints it without -v.
inline std::vector<std::byte> raw_ipv6_tcp_dns() {
    std::vector<std::byte> src6(16, std::byte{0}), dst6(16, std::byte{0});
    src6[0] = dst6[0] = std::byte{0x20};
    src6[1] = dst6[1] = std::byte{0x01};
    src6[2] = dst6[2] = std::byte{0x0d};
    src6[3] = dst6[3] = std::byte{0xb8};
    src6[15] = std::byte{0x35};
    dst6[15] = std::byte{0x01};
    auto dns =
        cat({bytes({0x00, 0x18}),  // TCP length prefix: 24 bytes
             bytes({0xbe, 0xef, 0x81, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}), bytes({0x01}),
             text("a"), bytes({0x04}), text("test"), bytes({0x00, 0x00, 0x1c, 0x00, 0x01})});
    auto tcp = cat({bytes({0x00, 0x35, 0x9c, 0x40, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
                           0x20, 0x00, 0x50, 0x18, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00}),
                    dns});
    return cat(
        {bytes({0x60, 0x00, 0x00, 0x00, 0x00, static_cast<int>(tcp.size()), 0x06, 0x40}), src6, dst6, tcp});
}

// Ethernet / ARP reply 192.0.2.2 is-at 02:00:00:00:00:02, to 192.0.2.1 (unpadded: every prefix is cut).
inline std::vector<std::byte> eth_arp_reply() {
    return cat({bytes({0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06}),
                bytes({0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
                       192,  0,    2,    2,    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 192,  0,    2,    1})});
}

struct fixture {
    const char* name;
    int link;
    std::vector<std::byte> data;
};

/// Every fixture whose strict prefixes all decode to "truncated" (the truncation sweep's list).
inline std::vector<fixture> all_fixtures() {
    return {{"tcp_syn", link_type::ethernet, tcp_syn()},
            {"qinq_dns_query", link_type::ethernet, qinq_dns_query()},
            {"sll_ipv6_ext_udp", link_type::linux_sll, sll_ipv6_ext_udp()},
            {"sll2_arp", link_type::linux_sll2, sll2_arp()},
            {"null_icmp", link_type::null, null_icmp()},
            {"loop_icmpv6", link_type::loop, loop_icmpv6()},
            {"raw_fragment", link_type::raw, raw_fragment()},
            {"icmp_unreachable", link_type::ethernet, icmp_unreachable()},
            {"dns_response", link_type::raw, dns_response_compressed()},
            {"raw_ipv6_tcp_dns", link_type::raw, raw_ipv6_tcp_dns()},
            {"eth_arp_reply", link_type::ethernet, eth_arp_reply()}};
}

/// Frames the decoder stops on for a reason other than truncation (so not in the sweep), kept
/// for the printer's fallback lines.
inline std::vector<fixture> stop_fixtures() {
    // Raw IPv4 / ESP (protocol 50): "encrypted".
    auto esp =
        bytes({0x45, 0x00, 0x00, 0x20, 0x00, 0x07, 0x00, 0x00, 0x40, 0x32, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01,
               0xc0, 0x00, 0x02, 0x02, 0,    0,    0,    1,    0,    0,    0,    1,    1,    2,    3,    4});
    // Ethernet / EtherType 0x88cc (LLDP): "unsupported ethertype".
    auto lldp =
        cat({bytes({0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0xcc}),
             bytes({0x02, 0x07, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01})});
    // Raw IPv6 / GRE (next header 47): "unsupported IP protocol".
    std::vector<std::byte> a6(16, std::byte{0});
    a6[0] = std::byte{0xfe};
    a6[1] = std::byte{0x80};
    a6[15] = std::byte{0x01};
    auto gre = cat(
        {bytes({0x60, 0x00, 0x00, 0x00, 0x00, 0x04, 0x2f, 0x40}), a6, a6, bytes({0x00, 0x00, 0x08, 0x00})});
    return {{"raw_esp", link_type::raw, esp},
            {"raw_ipv6_gre", link_type::raw, gre},
            {"eth_lldp", link_type::ethernet, lldp},
            {"unsupported_link", 147, tcp_syn()}};
}

}  // namespace nettool::test
