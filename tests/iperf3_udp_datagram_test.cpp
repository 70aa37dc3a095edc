#include <nettool/iperf3/udp_datagram.hpp>

#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <string>
#include <vector>

namespace {

using namespace nettool::iperf3;

std::vector<std::byte> bytes(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (const int b : v) out.push_back(static_cast<std::byte>(b));
    return out;
}

std::vector<std::byte> text(const std::string& s) {
    std::vector<std::byte> out;
    for (const char c : s) out.push_back(static_cast<std::byte>(c));
    return out;
}

// Captured from iperf3 3.12 on x86 loopback: the client's datagram is "9876", the answer "6789".
TEST(Iperf3UdpConnect, CapturedBytesOfA312Exchange) {
    EXPECT_EQ(parse_connect_message(text("9876")), connect_version::current);
    EXPECT_EQ(parse_connect_reply(text("6789")), connect_version::current);
    if constexpr (std::endian::native == std::endian::little) {
        std::array<std::byte, 4> out{};
        write_connect_message(connect_version::current, out);
        EXPECT_EQ(std::vector<std::byte>(out.begin(), out.end()), text("9876"));
        write_connect_reply(connect_version::current, out);
        EXPECT_EQ(std::vector<std::byte>(out.begin(), out.end()), text("6789"));
    }
}

// A peer of the other endianness wrote the value the other way round (iperf3 issue 1414): the
// reading side's role decides, so both orders are accepted.
TEST(Iperf3UdpConnect, EitherByteOrderAndTheLegacyValues) {
    EXPECT_EQ(parse_connect_message(text("6789")), connect_version::current);
    EXPECT_EQ(parse_connect_reply(text("9876")), connect_version::current);
    // 123456789 = 0x075bcd15, 987654321 = 0x3ade68b1.
    EXPECT_EQ(parse_connect_message(bytes({0x07, 0x5b, 0xcd, 0x15})), connect_version::legacy);
    EXPECT_EQ(parse_connect_message(bytes({0x15, 0xcd, 0x5b, 0x07})), connect_version::legacy);
    EXPECT_EQ(parse_connect_reply(bytes({0x3a, 0xde, 0x68, 0xb1})), connect_version::legacy);
    EXPECT_EQ(parse_connect_reply(bytes({0xb1, 0x68, 0xde, 0x3a})), connect_version::legacy);
    // The legacy message is not a reply, nor the other way round.
    EXPECT_FALSE(parse_connect_reply(bytes({0x07, 0x5b, 0xcd, 0x15})));
    EXPECT_FALSE(parse_connect_message(bytes({0x3a, 0xde, 0x68, 0xb1})));
    std::array<std::byte, 4> out{};
    write_connect_reply(connect_version::legacy, out);
    EXPECT_EQ(parse_connect_reply(out), connect_version::legacy);
    write_connect_message(connect_version::legacy, out);
    EXPECT_EQ(parse_connect_message(out), connect_version::legacy);
}

TEST(Iperf3UdpConnect, AnythingElseIsNotAConnectDatagram) {
    EXPECT_FALSE(parse_connect_message(text("987")));    // truncated
    EXPECT_FALSE(parse_connect_message(text("98765")));  // too long
    EXPECT_FALSE(parse_connect_message({}));
    EXPECT_FALSE(parse_connect_message(text("abcd")));
    EXPECT_FALSE(parse_connect_reply(text("abcd")));
}

TEST(Iperf3UdpHeader, RoundTripsWith32And64BitCounters) {
    const udp_header h{.sec = 1764670000, .usec = 999'999, .seq = 0x1'0000'0005};
    std::array<std::byte, 64> buf{};
    ASSERT_EQ(write_udp_header(buf, h, true), 16u);
    EXPECT_EQ(parse_udp_header(buf, true), h);
    // 32-bit counters keep the low 32 bits, as iperf3 does.
    ASSERT_EQ(write_udp_header(buf, h, false), 12u);
    const auto narrow = parse_udp_header(buf, false);
    ASSERT_TRUE(narrow);
    EXPECT_EQ(narrow->seq, 5u);
    EXPECT_EQ(narrow->sec, h.sec);
    // Big-endian on the wire: sec first.
    EXPECT_EQ(std::to_integer<int>(buf[0]), (h.sec >> 24) & 0xff);
    EXPECT_EQ(std::to_integer<int>(buf[11]), 5);
}

TEST(Iperf3UdpHeader, EveryTruncationIsRefused) {
    const udp_header h{.sec = 7, .usec = 8, .seq = 9};
    for (const bool wide : {false, true}) {
        std::array<std::byte, 16> buf{};
        const auto n = write_udp_header(buf, h, wide);
        for (std::size_t len = 0; len < n; ++len)
            EXPECT_FALSE(parse_udp_header(std::span{buf}.first(len), wide)) << len << " bytes, wide " << wide;
        EXPECT_EQ(parse_udp_header(std::span{buf}.first(n), wide), h);
        // Writing into too small a buffer writes nothing.
        EXPECT_EQ(write_udp_header(std::span{buf}.first(n - 1), h, wide), 0u);
    }
}

TEST(Iperf3UdpHeader, MicrosecondsBeyondASecondAreRefused) {
    std::array<std::byte, 12> buf{};
    ASSERT_EQ(write_udp_header(buf, {.sec = 1, .usec = 1'000'000, .seq = 1}, false), 12u);
    EXPECT_FALSE(parse_udp_header(buf, false));
}

}  // namespace
