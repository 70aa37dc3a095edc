#include <nettool/iperf3/control.hpp>
#include "support/bytes.hpp"

#include <nettool/core/error.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <limits>
#include <string>
#include <vector>

namespace {

using namespace nettool;
using namespace nettool::iperf3;

// iperf3 3.12's server results for `iperf3 -c -P 2` on loopback, as captured on the wire.
const std::string server_results_p2 =
    R"({"cpu_util_total":69.8728631827093,"cpu_util_user":2.2821043707592317,"cpu_util_system":67.590358916322828,)"
    R"("sender_has_retransmits":18446744073709551615,"congestion_used":"bbr","streams":[{"id":1,"bytes":1164836864,)"
    R"("retransmits":18446744073709551615,"jitter":0,"errors":0,"packets":0,"start_time":0,"end_time":1.000202},)"
    R"({"id":3,"bytes":1158283264,"retransmits":18446744073709551615,"jitter":0,"errors":0,"packets":0,)"
    R"("start_time":0,"end_time":1.000204}]})";

std::vector<std::byte> framed(const std::string& json) {
    std::vector<std::byte> out;
    const auto n = static_cast<std::uint32_t>(json.size());
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::byte>((n >> shift) & 0xff));
    for (const char c : json) out.push_back(static_cast<std::byte>(c));
    return out;
}

using nettool::test::text_bytes;

TEST(Iperf3State, KnownBytesAndNames) {
    EXPECT_EQ(parse_state(9), state::param_exchange);
    EXPECT_EQ(parse_state(16), state::iperf_done);
    EXPECT_EQ(parse_state(0xff), state::access_denied);
    EXPECT_EQ(parse_state(0xfe), state::server_error);
    EXPECT_FALSE(parse_state(0));
    EXPECT_FALSE(parse_state(17));
    EXPECT_FALSE(parse_state(0xfd));
    EXPECT_EQ(state_name(13), "EXCHANGE_RESULTS");
    EXPECT_EQ(state_name(-1), "ACCESS_DENIED");
    EXPECT_EQ(state_name(99), "state 99");
}

TEST(Iperf3Cookie, ThirtySixCharactersAndNul) {
    const auto c = make_cookie();
    ASSERT_EQ(c.size(), cookie_size);
    EXPECT_EQ(c.back(), '\0');
    for (std::size_t i = 0; i + 1 < c.size(); ++i)
        EXPECT_NE(std::string_view{"abcdefghijklmnopqrstuvwxyz234567"}.find(c[i]), std::string_view::npos);
    EXPECT_NE(make_cookie(), c);
}

TEST(Iperf3Frame, WholeMessage) {
    const auto m = framed(server_results_p2);
    const auto f = parse_frame(m);
    ASSERT_EQ(f.status, frame_status::ok);
    EXPECT_EQ(f.length, server_results_p2.size());
    EXPECT_EQ(f.consumed, m.size());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.json.data()), f.json.size()), server_results_p2);
}

TEST(Iperf3Frame, EveryPrefixIsTruncated) {
    const auto m = framed(server_results_p2);
    for (std::size_t n = 0; n < m.size(); ++n) {
        const auto f = parse_frame(std::span{m}.first(n));
        EXPECT_EQ(f.status, frame_status::truncated) << n;
        EXPECT_TRUE(f.json.empty());
    }
}

TEST(Iperf3Frame, LengthOverTheCapAndEmptyAreRefused) {
    auto over = framed(std::string(16, 'x'));
    over[0] = std::byte{0};
    over[1] = std::byte{1};  // 65536 + 16
    over[2] = std::byte{0};
    EXPECT_EQ(parse_frame(over).status, frame_status::too_long);
    EXPECT_EQ(parse_frame(over).length, 65536u + 16u);
    const std::vector<std::byte> max{std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
    EXPECT_EQ(parse_frame(max).status, frame_status::too_long);
    EXPECT_EQ(parse_frame(framed("{}"), 1).status, frame_status::too_long);
    EXPECT_EQ(parse_frame(framed("")).status, frame_status::empty);
}

TEST(Iperf3ServerError, CodesWithAndWithoutErrno) {
    const std::vector<std::byte> auth{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0x8e}};
    const auto a = parse_server_error(auth);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->iperf_error, error_auth_failed);
    EXPECT_FALSE(a->sys_errno);
    const std::vector<std::byte> both{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{100},
                                      std::byte{0}, std::byte{0}, std::byte{0}, std::byte{12}};
    const auto b = parse_server_error(both);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->iperf_error, 100);
    EXPECT_EQ(b->sys_errno, 12);
    for (std::size_t n = 0; n < 4; ++n) EXPECT_FALSE(parse_server_error(std::span{auth}.first(n)));
    EXPECT_EQ(describe_iperf_error(142), "test authorization failed");
    EXPECT_EQ(describe_iperf_error(121), "the server is busy running a test");
    EXPECT_EQ(describe_iperf_error(4242), "iperf3 error 4242");
}

TEST(Iperf3Results, RealServerResults) {
    const auto r = parse_results(text_bytes(server_results_p2));
    EXPECT_DOUBLE_EQ(r.cpu_util_total, 69.8728631827093);
    EXPECT_FALSE(r.sender_has_retransmits);  // 2^64-1: 3.12's -1, the server did not send
    EXPECT_EQ(r.congestion_used, "bbr");
    ASSERT_EQ(r.streams.size(), 2u);
    EXPECT_EQ(r.streams[0].id, 1);
    EXPECT_EQ(r.streams[1].id, 3);
    EXPECT_EQ(r.streams[0].bytes, 1164836864u);
    EXPECT_EQ(r.streams[1].bytes, 1158283264u);
    EXPECT_FALSE(r.streams[0].retransmits);
    EXPECT_DOUBLE_EQ(r.streams[1].end_time_s, 1.000204);
}

TEST(Iperf3Results, WhatNettoolSendsParsesBack) {
    peer_results mine;
    mine.cpu_util_total = 12.5;
    mine.sender_has_retransmits = true;
    mine.congestion_used = "cubic";
    mine.streams.push_back({.id = 1, .bytes = 1000, .retransmits = 3, .end_time_s = 2.0});
    mine.streams.push_back({.id = 3, .bytes = 2000, .retransmits = std::nullopt, .end_time_s = 2.0});
    const auto text = results_json(mine);
    EXPECT_NE(text.find(R"("retransmits":-1)"), std::string::npos) << text;
    EXPECT_EQ(parse_results(text_bytes(text)), mine);
}

TEST(Iperf3Results, EveryPrefixOfTheJsonIsRefused) {
    for (std::size_t n = 0; n < server_results_p2.size(); ++n) {
        const auto prefix = server_results_p2.substr(0, n);
        EXPECT_THROW((void)parse_results(text_bytes(prefix)), nettool::error) << n;
    }
}

TEST(Iperf3Results, WrongTypesAndRangesAreMalformed) {
    auto with = [](const std::string& from, const std::string& to) {
        auto s = server_results_p2;
        const auto at = s.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        return s.replace(at, from.size(), to);
    };
    const std::vector<std::string> bad{
        "not json",
        "[1,2,3]",
        with(R"("cpu_util_total":69.8728631827093)", R"("cpu_util_total":"69")"),
        with(R"("cpu_util_total":69.8728631827093)", R"("cpu_util_total":-1)"),
        with(R"("cpu_util_total":69.8728631827093)", R"("cpu_util_total":1e400)"),
        with(R"("cpu_util_total":69.8728631827093,)", ""),
        with(R"("congestion_used":"bbr")", R"("congestion_used":7)"),
        with(R"("streams":[)", R"("streams":{"a":[)"),
        with(R"({"id":1,)", R"({"id":0,)"),
        with(R"({"id":1,)", R"({"id":"1",)"),
        with(R"("bytes":1164836864)", R"("bytes":-5)"),
        with(R"("bytes":1164836864)", R"("bytes":1.5)"),
        with(R"("bytes":1164836864)", R"("bytes":true)"),
        with(R"("end_time":1.000202)", R"("end_time":null)"),
        with(R"("jitter":0,)", ""),
    };
    for (const auto& text : bad) {
        try {
            (void)parse_results(text_bytes(text));
            ADD_FAILURE() << "accepted: " << text;
        } catch (const nettool::error& e) {
            EXPECT_EQ(e.code(), make_error_code(errc::malformed));
            EXPECT_NE(std::string{e.what()}.find("iperf3 server sent malformed results"), std::string::npos);
        }
    }
}

TEST(Iperf3Results, AtMost256Streams) {
    nlohmann::json j = nlohmann::json::parse(server_results_p2);
    const auto one = j["streams"][0];
    j["streams"] = nlohmann::json::array();
    for (int i = 0; i < 257; ++i) j["streams"].push_back(one);
    EXPECT_THROW((void)parse_results(text_bytes(j.dump())), nettool::error);
    j["streams"].erase(256);
    EXPECT_EQ(parse_results(text_bytes(j.dump())).streams.size(), 256u);
    // The worst case of 256 streams, every counter at 2^64-1, fits under the cap.
    for (auto& s : j["streams"]) {
        s["bytes"] = std::numeric_limits<std::uint64_t>::max() - 1;
        s["errors"] = std::numeric_limits<std::uint64_t>::max() - 1;
        s["packets"] = std::numeric_limits<std::uint64_t>::max() - 1;
        s["jitter"] = 0.12345678901234567;
        s["start_time"] = 123456.12345678901;
        s["end_time"] = 123456.12345678901;
        s["id"] = 258;
    }
    EXPECT_LT(j.dump().size(), max_message);
}

}  // namespace
