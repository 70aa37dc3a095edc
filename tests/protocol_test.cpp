#include <nettool/probe/protocol.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <vector>

namespace {

using namespace nettool::proto;

template <typename Decode>
void expect_every_prefix_truncated(std::span<const std::byte> full, Decode decode) {
    for (std::size_t n = 0; n < full.size(); ++n) {
        const auto d = decode(full.first(n));
        EXPECT_EQ(d.status, decode_status::truncated) << "prefix " << n;
    }
}

TEST(Protocol, HelloRoundTripsAndRejectsEveryPrefix) {
    std::array<std::byte, hello_size> buf{};
    const hello h{mode::source, 0, 2500};
    ASSERT_EQ(encode(h, buf), hello_size);
    const auto d = decode_hello(buf);
    ASSERT_TRUE(d);
    EXPECT_EQ(d.value, h);
    expect_every_prefix_truncated(buf, decode_hello);
}

TEST(Protocol, HelloWireLayoutIsDocumented) {
    std::array<std::byte, hello_size> buf{};
    encode(hello{mode::echo, 0x01020304, 0x0a0b0c0d}, buf);
    const std::array<unsigned, hello_size> want{0x4E, 0x54, 0x4C, 0x31, 1,    1,    0,    0,
                                                1,    2,    3,    4,    0x0a, 0x0b, 0x0c, 0x0d};
    for (std::size_t i = 0; i < want.size(); ++i)
        EXPECT_EQ(static_cast<unsigned>(buf[i]), want[i]) << "byte " << i;
}

TEST(Protocol, HelloWithOtherVersionOrModeIsFlagged) {
    std::array<std::byte, hello_size> buf{};
    encode(hello{mode::echo, 64, 0}, buf);
    buf[4] = std::byte{2};
    EXPECT_EQ(decode_hello(buf).status, decode_status::bad_version);
    buf[4] = std::byte{1};
    buf[5] = std::byte{0};
    EXPECT_EQ(decode_hello(buf).status, decode_status::bad_value);
    buf[5] = std::byte{7};
    EXPECT_EQ(decode_hello(buf).status, decode_status::bad_value);
    buf[0] = std::byte{'G'};  // an HTTP client, say
    EXPECT_EQ(decode_hello(buf).status, decode_status::bad_magic);
}

// The documented ranges, edges included (docs/PROTOCOL.md, Modes).
TEST(Protocol, HelloParametersInRange) {
    EXPECT_FALSE(params_in_range(hello{mode::echo, 0, 0}));
    EXPECT_TRUE(params_in_range(hello{mode::echo, 1, 0}));
    EXPECT_TRUE(params_in_range(hello{mode::echo, max_tcp_message, 0}));
    EXPECT_FALSE(params_in_range(hello{mode::echo, max_tcp_message + 1, 0}));
    for (const std::uint32_t bad : {0u, 31u, 65508u, 0xFFFFFFFFu})
        EXPECT_FALSE(params_in_range(hello{mode::udp_echo, bad, 0})) << bad;
    EXPECT_TRUE(params_in_range(hello{mode::udp_echo, 32, 0}));
    EXPECT_TRUE(params_in_range(hello{mode::udp_echo, 65507, 0}));
    EXPECT_FALSE(params_in_range(hello{mode::source, 0, 0}));
    EXPECT_TRUE(params_in_range(hello{mode::source, 0, 1}));
    EXPECT_TRUE(params_in_range(hello{mode::source, 0, max_duration_ms}));
    EXPECT_FALSE(params_in_range(hello{mode::source, 0, max_duration_ms + 1}));
    EXPECT_TRUE(params_in_range(hello{mode::sink, 0xFFFFFFFFu, 0xFFFFFFFFu}));  // sink takes no parameters
}

TEST(Protocol, ReplyAndUdpHeaderRoundTrip) {
    std::array<std::byte, 64> buf{};
    const hello_reply r{status::busy, 0xdeadbeefcafef00dull};
    ASSERT_EQ(encode(r, buf), hello_reply_size);
    EXPECT_EQ(decode_hello_reply(buf).value, r);
    expect_every_prefix_truncated(std::span<const std::byte>(buf).first(hello_reply_size),
                                  decode_hello_reply);

    const udp_header h{udp_kind::stream, 42, 1ull << 40, 123456789};
    ASSERT_EQ(encode(h, buf), udp_header_size);
    EXPECT_EQ(decode_udp_header(buf).value, h);
    expect_every_prefix_truncated(std::span<const std::byte>(buf).first(udp_header_size), decode_udp_header);
    buf[5] = std::byte{9};
    EXPECT_EQ(decode_udp_header(buf).status, decode_status::bad_value);
}

TEST(Protocol, ReportsRoundTripAndInconsistentCountsAreRejected) {
    std::array<std::byte, udp_report_size> buf{};
    const udp_report r{100, 2, 3, 7, 101, 140000, 5000, 999999};
    ASSERT_EQ(encode(r, buf), udp_report_size);
    EXPECT_EQ(decode_udp_report(buf).value, r);
    expect_every_prefix_truncated(buf, decode_udp_report);
    encode(udp_report{1, 5, 0, 0, 1, 0, 0, 0}, buf);  // more duplicates than datagrams
    EXPECT_EQ(decode_udp_report(buf).status, decode_status::bad_value);

    // The extended report (flag_receiver_drops): 8 more bytes, announced by the flags at offset 4.
    std::array<std::byte, udp_report_extended_size> ext{};
    udp_report e = r;
    e.receiver_drops = 4242;
    ASSERT_EQ(encode(e, ext), udp_report_extended_size);
    EXPECT_EQ(ext[7], std::byte{1});
    EXPECT_EQ(decode_udp_report(ext).value, e);
    expect_every_prefix_truncated(ext, decode_udp_report);
}

TEST(Protocol, HelloAndReplyCarryFlagsInTheirFormerlyReservedBytes) {
    std::array<std::byte, hello_size> buf{};
    const hello h{mode::udp_sink, 0, 0, flag_receiver_drops};
    ASSERT_EQ(encode(h, buf), hello_size);
    EXPECT_EQ(buf[7], std::byte{1});
    EXPECT_EQ(decode_hello(buf).value, h);
    const hello_reply r{status::ok, 7, flag_receiver_drops};
    ASSERT_EQ(encode(r, buf), hello_reply_size);
    EXPECT_EQ(buf[7], std::byte{1});
    EXPECT_EQ(decode_hello_reply(buf).value, r);

    std::array<std::byte, sink_report_size> sink{};
    ASSERT_EQ(encode_sink_report(1234567, sink), sink_report_size);
    EXPECT_EQ(decode_sink_report(sink).value, 1234567u);
    expect_every_prefix_truncated(sink, decode_sink_report);
}

TEST(Protocol, UdpHeaderCarriesTheSendersIntervalAtOffsetSix) {
    std::array<std::byte, udp_header_size> buf{};
    const udp_header h{udp_kind::stream, 9, 10, 11, 0x0203};
    ASSERT_EQ(encode(h, buf), udp_header_size);
    EXPECT_EQ(buf[6], std::byte{2});
    EXPECT_EQ(buf[7], std::byte{3});
    EXPECT_EQ(decode_udp_header(buf).value, h);
}

TEST(Protocol, IntervalReportRoundTripsAndRejectsWhatCannotBe) {
    std::array<std::byte, report_request_size> req{};
    ASSERT_EQ(encode_interval_request(req), report_request_size);
    EXPECT_TRUE(is_interval_request(req));
    EXPECT_FALSE(is_report_request(req));

    const std::array<udp_interval_counts, 3> counts{{{100, 0, 0}, {90, 2, 5}, {0, 0, 0}}};
    std::array<std::byte, max_interval_report_size> buf{};
    const auto n = encode_interval_report(counts, buf);
    ASSERT_EQ(n, interval_report_header_size + 3 * interval_counts_size);
    const std::span<const std::byte> wire{buf.data(), n};
    std::array<udp_interval_counts, max_report_intervals> out{};
    const auto d = decode_interval_report(wire, out);
    ASSERT_TRUE(d);
    ASSERT_EQ(d.value, 3u);
    EXPECT_TRUE(std::equal(counts.begin(), counts.end(), out.begin()));
    EXPECT_EQ(decode_interval_report_count(wire).value, 3u);
    // Every prefix is truncated (the header says three intervals follow).
    for (std::size_t k = 0; k < n; ++k)
        EXPECT_EQ(decode_interval_report(wire.first(k), out).status, decode_status::truncated) << k << " bytes";

    // More duplicates and out-of-order datagrams than received: impossible counts.
    auto bad = buf;
    bad[interval_report_header_size + interval_counts_size + 3] = std::byte{6};  // interval 1 received 6 < 2 + 5
    EXPECT_EQ(decode_interval_report({bad.data(), n}, out).status, decode_status::bad_value);
    // A count above the cap, however long the message, and into a table too small for it.
    auto many = buf;
    many[6] = std::byte{0x02};  // 512 + 1 intervals
    many[7] = std::byte{0x01};
    EXPECT_EQ(decode_interval_report_count(many).status, decode_status::bad_value);
    EXPECT_EQ(decode_interval_report(many, out).status, decode_status::bad_value);
    std::array<udp_interval_counts, 2> small{};
    EXPECT_EQ(decode_interval_report(wire, small).status, decode_status::bad_value);
    auto magic = buf;
    magic[0] = std::byte{0};
    EXPECT_EQ(decode_interval_report({magic.data(), n}, out).status, decode_status::bad_magic);
    // The encoder refuses more than the cap, and a short buffer.
    std::vector<udp_interval_counts> too_many(max_report_intervals + 1);
    EXPECT_EQ(encode_interval_report(too_many, buf), 0u);
    std::array<std::byte, 16> short_buf{};
    EXPECT_EQ(encode_interval_report(counts, short_buf), 0u);
}

TEST(Protocol, EncodersRefuseShortBuffers) {
    std::array<std::byte, 8> small{};
    EXPECT_EQ(encode(hello{}, small), 0u);
    EXPECT_EQ(encode(udp_header{}, small), 0u);
    EXPECT_EQ(encode(udp_report{}, small), 0u);
}

}  // namespace
