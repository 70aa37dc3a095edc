// User-space GRO on the way into a TUN device: which datagrams join a train, and the UDP GSO
// super-packet (virtio header, lengths, IPv4 header checksum, partial UDP checksum) it becomes.
#include "link/udp_train.hpp"

#include <nettool/core/cursor.hpp>
#include <nettool/packet/packet.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace {

using nettool::cursor;
using nettool::detail::udp_train;
using nettool::detail::vnet_header;
using bytes = std::vector<std::byte>;

std::uint32_t sum16(const std::byte* p, std::size_t n, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2) sum += (std::to_integer<std::uint32_t>(p[i]) << 8) | std::to_integer<std::uint32_t>(p[i + 1]);
    if (n % 2) sum += std::to_integer<std::uint32_t>(p[n - 1]) << 8;
    return sum;
}
std::uint16_t fold(std::uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(s);
}
void put16(bytes& b, std::size_t at, std::uint32_t v) {
    b[at] = std::byte(v >> 8);
    b[at + 1] = std::byte(v & 0xff);
}

// A complete IPv4 (or IPv6) UDP datagram 192.0.2.1:5000 -> 198.51.100.7:6000 with payload bytes
// counting up from `first`, a correct IPv4 header checksum and a correct UDP checksum.
bytes datagram(std::size_t payload, std::uint8_t first = 0, bool v6 = false, std::uint16_t dport = 6000,
               std::uint16_t id = 1) {
    const std::size_t ip = v6 ? 40 : 20;
    bytes b(ip + 8 + payload);
    if (v6) {
        b[0] = std::byte{0x60};
        put16(b, 4, static_cast<std::uint32_t>(8 + payload));
        b[6] = std::byte{17};
        b[7] = std::byte{64};
        b[8] = std::byte{0x20}, b[9] = std::byte{0x01}, b[10] = std::byte{0x0d}, b[11] = std::byte{0xb8}, b[23] = std::byte{1};
        b[24] = std::byte{0x20}, b[25] = std::byte{0x01}, b[26] = std::byte{0x0d}, b[27] = std::byte{0xb8}, b[39] = std::byte{2};
    } else {
        b[0] = std::byte{0x45};
        put16(b, 2, static_cast<std::uint32_t>(b.size()));
        put16(b, 4, id);
        b[6] = std::byte{0x40};  // DF
        b[8] = std::byte{64};
        b[9] = std::byte{17};
        const std::uint8_t src[] = {192, 0, 2, 1}, dst[] = {198, 51, 100, 7};
        for (int i = 0; i < 4; ++i) b[12 + i] = std::byte{src[i]}, b[16 + i] = std::byte{dst[i]};
        put16(b, 10, static_cast<std::uint16_t>(~fold(sum16(b.data(), 20))));
    }
    put16(b, ip, 5000);
    put16(b, ip + 2, dport);
    put16(b, ip + 4, static_cast<std::uint32_t>(8 + payload));
    for (std::size_t i = 0; i < payload; ++i) b[ip + 8 + i] = std::byte(static_cast<std::uint8_t>(first + i));
    const std::uint32_t pseudo = sum16(b.data() + (v6 ? 8 : 12), v6 ? 32 : 8) + 17 + static_cast<std::uint32_t>(8 + payload);
    put16(b, ip + 6, static_cast<std::uint16_t>(~fold(sum16(b.data() + ip, 8 + payload, pseudo))));
    return b;
}

vnet_header header_of(std::span<const std::byte> out) {
    vnet_header h;
    std::memcpy(&h, out.data(), sizeof h);
    return h;
}

TEST(LinkUdpTrain, ALoneDatagramLeavesAsItCameWithItsOwnHeader) {
    udp_train t;
    const auto d = datagram(64);
    vnet_header partial{};
    partial.flags = 1;
    partial.csum_start = 20;
    partial.csum_offset = 6;
    ASSERT_TRUE(t.begin(partial, d));
    const auto out = t.take();
    EXPECT_TRUE(t.empty());
    ASSERT_EQ(out.size(), sizeof(vnet_header) + d.size());
    const auto h = header_of(out);
    EXPECT_EQ(h.flags, 1);
    EXPECT_EQ(h.gso_type, 0);
    EXPECT_EQ(h.csum_start, 20);
    EXPECT_EQ(std::memcmp(out.data() + sizeof h, d.data(), d.size()), 0);
}

void expect_train(bool v6) {
    const std::size_t ip = v6 ? 40 : 20;
    udp_train t;
    const auto a = datagram(100, 0, v6, 6000, 1), b = datagram(100, 100, v6, 6000, 2), c = datagram(50, 200, v6, 6000, 3);
    ASSERT_TRUE(t.begin({}, a));
    ASSERT_TRUE(t.append({}, b));
    ASSERT_TRUE(t.append({}, c));
    EXPECT_FALSE(t.append({}, datagram(50, 0, v6))) << "a shorter datagram ends the train";
    EXPECT_EQ(t.segments(), 3u);
    const auto out = t.take();
    const auto h = header_of(out);
    EXPECT_EQ(h.flags, 1);     // the UDP checksum is left partial
    EXPECT_EQ(h.gso_type, 5);  // VIRTIO_NET_HDR_GSO_UDP_L4
    EXPECT_EQ(h.gso_size, 100);
    EXPECT_EQ(h.hdr_len, ip + 8);
    EXPECT_EQ(h.csum_start, ip);
    EXPECT_EQ(h.csum_offset, 6);
    const std::span<const std::byte> p = out.subspan(sizeof h);
    ASSERT_EQ(p.size(), ip + 8 + 250);
    if (v6) {
        EXPECT_EQ(cursor::u16_at(p, 4), 8 + 250);
    } else {
        EXPECT_EQ(cursor::u16_at(p, 2), 20 + 8 + 250);
        EXPECT_EQ(cursor::u16_at(p, 4), 1) << "the first datagram's identification";
        EXPECT_EQ(fold(sum16(p.data(), 20)), 0xffff) << "the IPv4 header checksum is valid";
    }
    EXPECT_EQ(cursor::u16_at(p, ip + 4), 8 + 250);
    const std::uint32_t pseudo = sum16(p.data() + (v6 ? 8 : 12), v6 ? 32 : 8) + 17 + 8 + 250;
    EXPECT_EQ(cursor::u16_at(p, ip + 6), fold(pseudo)) << "the pseudo-header sum, as a socket leaves it";
    for (std::size_t i = 0; i < 250; ++i) ASSERT_EQ(p[ip + 8 + i], std::byte(static_cast<std::uint8_t>(i)));

    // What the receiving kernel does when it cuts the train (__udp_gso_segment): each segment's
    // checksum is the partial one with its own length, completed over its header and payload.
    // That must be each original datagram's checksum.
    for (const auto* orig : {&a, &b, &c}) {
        const std::size_t payload = orig->size() - ip - 8;
        const std::size_t offset = (orig == &a ? 0 : orig == &b ? 100 : 200);
        bytes seg(ip + 8 + payload);
        std::memcpy(seg.data(), p.data(), ip + 8);
        std::memcpy(seg.data() + ip + 8, p.data() + ip + 8 + offset, payload);
        put16(seg, ip + 4, static_cast<std::uint32_t>(8 + payload));
        const std::uint32_t partial = sum16(seg.data() + (v6 ? 8 : 12), v6 ? 32 : 8) + 17 + static_cast<std::uint32_t>(8 + payload);
        put16(seg, ip + 6, fold(partial));
        const auto check = static_cast<std::uint16_t>(~fold(sum16(seg.data() + ip, 8 + payload)));
        EXPECT_EQ(check, cursor::u16_at(*orig, ip + 6));
    }
}

TEST(LinkUdpTrain, DatagramsOfOneFlowAndSizeBecomeOneUdpGsoPacketIPv4) {
    expect_train(false);
}

TEST(LinkUdpTrain, DatagramsOfOneFlowAndSizeBecomeOneUdpGsoPacketIPv6) {
    expect_train(true);
}

TEST(LinkUdpTrain, OnlyTheSameFlowSizeAndHeaderFieldsJoin) {
    udp_train t;
    ASSERT_TRUE(t.begin({}, datagram(100)));
    EXPECT_FALSE(t.append({}, datagram(100, 0, false, 6001))) << "another port";
    EXPECT_FALSE(t.append({}, datagram(101))) << "a larger datagram";
    EXPECT_FALSE(t.append({}, datagram(100, 0, true))) << "another IP version";
    auto ttl = datagram(100);
    ttl[8] = std::byte{63};
    EXPECT_FALSE(t.append({}, ttl)) << "another TTL";
    vnet_header gso{};
    gso.gso_type = 1;
    EXPECT_FALSE(t.append(gso, datagram(100))) << "a GSO packet of its own";
    EXPECT_TRUE(t.append({}, datagram(100, 7, false, 6000, 99))) << "only the identification differs";
    for (std::size_t i = t.segments(); i < udp_train::max_segments; ++i) ASSERT_TRUE(t.append({}, datagram(100)));
    EXPECT_FALSE(t.append({}, datagram(100))) << "at most max_segments";
}

TEST(LinkUdpTrain, DatagramsThatCannotLeadATrainAreRefused) {
    udp_train t;
    auto no_checksum = datagram(64);
    put16(no_checksum, 26, 0);
    EXPECT_FALSE(t.begin({}, no_checksum));
    auto fragment = datagram(64);
    fragment[6] = std::byte{0x20};  // more fragments
    EXPECT_FALSE(t.begin({}, fragment));
    auto tcp = datagram(64);
    tcp[9] = std::byte{6};
    EXPECT_FALSE(t.begin({}, tcp));
    auto longer = datagram(64);
    longer.push_back(std::byte{0});  // a byte past the IP total length
    EXPECT_FALSE(t.begin({}, longer));
    EXPECT_FALSE(t.begin({}, bytes(10)));
    EXPECT_TRUE(t.empty());
}

}  // namespace
