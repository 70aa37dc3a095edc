#include <nettool/iperf3/server.hpp>

#include "iperf3/server_params.hpp"
#include "support/iperf3_client.hpp"
#include "support/iperf3_server.hpp"
#include "support/process.hpp"
#include "support/numbers.hpp"
#include "support/bytes.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <csignal>
#include <regex>
#include <fstream>
#include <future>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace nettool;

// ---- the parameters parser --------------------------------------------------------------------

using nettool::test::text_bytes;

std::string framed_text(const std::string& json) {
    std::string out;
    const auto n = static_cast<std::uint32_t>(json.size());
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
    return out + json;
}

// What iperf3 3.12 sent for `iperf3 -c -P 2 -t 1` and `-u -b 10M -R`, as captured on loopback.
const std::string params_p2 =
    R"({"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":2,"len":131072,"pacing_timer":1000,"client_version":"3.12"})";
const std::string params_udp =
    R"({"udp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"reverse":true,"len":1448,"bandwidth":10000000,"pacing_timer":1000,"client_version":"3.12"})";

TEST(Iperf3ServerParams, WhatIperf3Sends) {
    detail::iperf3_params_error err;
    const auto p = detail::parse_iperf3_params(text_bytes(params_p2), err);
    EXPECT_EQ(err.iperf_error, 0) << err.why;
    EXPECT_FALSE(p.udp);
    EXPECT_EQ(p.time_s, 1u);
    EXPECT_EQ(p.parallel, 2u);
    EXPECT_EQ(p.len, 131072u);
    EXPECT_FALSE(p.reverse);
    const auto u = detail::parse_iperf3_params(text_bytes(params_udp), err);
    EXPECT_EQ(err.iperf_error, 0) << err.why;
    EXPECT_TRUE(u.udp);
    EXPECT_TRUE(u.reverse);
    EXPECT_EQ(u.bandwidth, 10'000'000u);
    EXPECT_EQ(u.len, 1448u);
}

TEST(Iperf3ServerParams, RefusedWithIperfsErrorNumber) {
    struct c {
        std::string json;
        std::int32_t code;
        std::string words;
    };
    const std::vector<c> cases{
        {"not json", 114, "not JSON"},
        {"[1,2]", 114, "not a JSON object"},
        {R"({"tcp":true,"time":3601})", 5, "\"time\" is 3601"},
        {R"({"tcp":true,"time":1,"parallel":129})", 6, "\"parallel\" is 129"},
        {R"({"tcp":true,"time":1,"parallel":0})", 6, "\"parallel\" is 0"},
        {R"({"tcp":true,"time":1,"len":2000000})", 7, "\"len\" is 2000000"},
        {R"({"udp":true,"time":1,"len":65508})", 20, "\"len\" is 65508"},
        {R"({"tcp":true,"time":-1})", 114, "\"time\" is negative"},
        {R"({"tcp":true,"time":1.5})", 114, "\"time\" is not a whole number"},
        {R"({"tcp":true,"time":"1"})", 114, "\"time\" is not a number"},
        {R"({"tcp":true,"udp":true})", 114, "both"},
        {R"({"sctp":true})", 13, "SCTP"},
        {R"({"tcp":true,"congestion":"abcdefghijklmnopq"})", 114, "\"congestion\" is longer"},
        {R"({"tcp":true,"title":5})", 114, "\"title\" is not a string"},
    };
    for (const auto& t : cases) {
        detail::iperf3_params_error err;
        (void)detail::parse_iperf3_params(text_bytes(t.json), err);
        EXPECT_EQ(err.iperf_error, t.code) << t.json;
        EXPECT_NE(err.why.find(t.words), std::string::npos) << t.json << ": " << err.why;
    }
    // Unknown fields are ignored.
    detail::iperf3_params_error err;
    (void)detail::parse_iperf3_params(text_bytes(R"({"tcp":true,"time":1,"future_field":[1,{"a":2}]})"), err);
    EXPECT_EQ(err.iperf_error, 0) << err.why;
}

TEST(Iperf3ServerParams, FramedWithTheCap) {
    detail::iperf3_params_error err;
    std::string big(8193, ' ');
    (void)detail::parse_iperf3_params_message(text_bytes(framed_text(big)), err);
    EXPECT_EQ(err.why, "parameters of 8193 bytes, over the 8192-byte limit");
    (void)detail::parse_iperf3_params_message(text_bytes(framed_text("")), err);
    EXPECT_EQ(err.why, "the parameters are empty");
    const auto p = detail::parse_iperf3_params_message(text_bytes(framed_text(params_p2)), err);
    EXPECT_EQ(err.iperf_error, 0);
    EXPECT_EQ(p.parallel, 2u);
}

// Every prefix of a real message is a clean "truncated" (or, cut inside the JSON, not JSON).
TEST(Iperf3ServerParams, TruncationSweep) {
    for (const auto* json : {&params_p2, &params_udp}) {
        const auto msg = framed_text(*json);
        for (std::size_t n = 0; n < msg.size(); ++n) {
            detail::iperf3_params_error err;
            (void)detail::parse_iperf3_params_message(text_bytes(msg.substr(0, n)), err);
            EXPECT_EQ(err.iperf_error, 114) << n;
            EXPECT_FALSE(err.why.empty()) << n;
        }
        for (std::size_t n = 0; n < json->size(); ++n) {
            detail::iperf3_params_error err;
            (void)detail::parse_iperf3_params(text_bytes(json->substr(0, n)), err);
            EXPECT_EQ(err.iperf_error, 114) << n;
        }
    }
}

// ---- against Debian's iperf3 -c ------------------------------------------------------------------

using nettool::test::relative_difference;

// The most TCP's buffers hold on a connection: the receiver's (the third value of
// net.ipv4.tcp_rmem) and the sender's (of tcp_wmem).
std::uint64_t buffers_max() {
    std::uint64_t sum = 0;
    for (const char* f : {"/proc/sys/net/ipv4/tcp_rmem", "/proc/sys/net/ipv4/tcp_wmem"}) {
        std::ifstream in{f};
        std::uint64_t lo = 0, def = 0, hi = 6 * 1024 * 1024;
        in >> lo >> def >> hi;
        sum += hi;
    }
    return sum;
}

std::uint64_t bytes_at(const nlohmann::json& doc, const char* sum) {
    return doc.at("end").at(sum).at("bytes").get<std::uint64_t>();
}

class Iperf3Serve : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_iperf3()) GTEST_SKIP() << "iperf3 is not installed";
    }
    // A server on a free loopback port; its log into log_.
    void start(const std::function<void(responder_config&)>& tweak = {}) {
        iperf3_server_config cfg{.bind_address = "127.0.0.1", .port = 0};
        cfg.guards.log_lines_per_second = 1000;
        cfg.guards.handshake_timeout = 2s;
        cfg.guards.log = [this](std::string_view l) { log_.add(l); };
        if (tweak) tweak(cfg.guards);
        std::error_code ec;
        srv_ = iperf3_server::start(cfg, ec);
        ASSERT_TRUE(srv_) << ec.message();
        ASSERT_NE(srv_->port(), 0);
    }
    // Waits until the server has counted `n` completed tests (the client may exit first).
    iperf3_server_stats completed(std::uint64_t n) {
        for (int i = 0; i < 200 && srv_->stats().completed < n; ++i) std::this_thread::sleep_for(10ms);
        return srv_->stats();
    }
    test::iperf3_run client(const std::vector<std::string>& extra) {
        std::vector<std::string> args{"-t", "1"};
        args.insert(args.end(), extra.begin(), extra.end());
        return test::run_iperf3_client(srv_->port(), args);
    }
    void TearDown() override {
        if (srv_) srv_->stop();
    }
    test::log_sink log_;
    std::unique_ptr<iperf3_server> srv_;
};

TEST_F(Iperf3Serve, UploadAgreesWithIperf3sJson) {
    start();
    const auto r = client({});
    ASSERT_TRUE(r.ok()) << r.proc.out << r.proc.err;
    const auto s = completed(1);
    EXPECT_EQ(s.completed, 1u) << log_.all();
    EXPECT_GT(s.bytes_received, 0u);
    EXPECT_EQ(s.bytes_sent, 0u);
    // What nettool reported in the results exchange, and what iperf3 sent, within 1%.
    EXPECT_EQ(bytes_at(r.doc, "sum_received"), s.bytes_received);
    EXPECT_LT(relative_difference(bytes_at(r.doc, "sum_sent"), s.bytes_received), 0.01);
    EXPECT_TRUE(log_.wait_for("completed: TCP upload, 1 stream")) << log_.all();
}

TEST_F(Iperf3Serve, ReverseAgreesWithIperf3sJson) {
    start();
    const auto r = client({"-R"});
    ASSERT_TRUE(r.ok()) << r.proc.out << r.proc.err;
    const auto s = completed(1);
    EXPECT_EQ(s.completed, 1u) << log_.all();
    EXPECT_GT(s.bytes_sent, 0u);
    EXPECT_EQ(s.bytes_received, 0u);
    EXPECT_EQ(bytes_at(r.doc, "sum_sent"), s.bytes_sent);
    EXPECT_LT(relative_difference(bytes_at(r.doc, "sum_received"), s.bytes_sent), 0.01);
    // The retransmit count of the sender is nettool's (TCP_INFO), a number, not "none".
    EXPECT_TRUE(r.doc.at("end").at("sum_sent").contains("retransmits"));
}

TEST_F(Iperf3Serve, BidirAgreesWithIperf3sJson) {
    start();
    const auto r = client({"--bidir"});
    ASSERT_TRUE(r.ok()) << r.proc.out << r.proc.err;
    const auto s = completed(1);
    EXPECT_EQ(s.completed, 1u) << log_.all();
    EXPECT_GT(s.bytes_sent, 0u);
    EXPECT_GT(s.bytes_received, 0u);
    EXPECT_EQ(s.streams, 2u);
    // The client's upload, then its download.
    EXPECT_EQ(bytes_at(r.doc, "sum_received"), s.bytes_received);
    EXPECT_LT(relative_difference(bytes_at(r.doc, "sum_sent"), s.bytes_received), 0.01);
    EXPECT_EQ(bytes_at(r.doc, "sum_sent_bidir_reverse"), s.bytes_sent);
    // The stock client reads its download on the thread that writes its upload, one block per
    // stream per turn against up to ten written, so its receive buffer is full when its time is
    // up: what sits there and in nettool's send buffer (at most tcp_rmem's and tcp_wmem's maxima)
    // was sent and never read. Within 1% of what nettool sent, or within those buffers
    // (docs/iperf3.md, "nettool as an iperf3 server").
    const auto got = bytes_at(r.doc, "sum_received_bidir_reverse");
    EXPECT_LE(got, s.bytes_sent);
    EXPECT_TRUE(relative_difference(got, s.bytes_sent) < 0.01 || s.bytes_sent - got <= buffers_max())
        << got << " read by iperf3, " << s.bytes_sent << " sent";
}

TEST_F(Iperf3Serve, FourParallelStreamsAgreeWithIperf3sJson) {
    start();
    const auto r = client({"-P", "4"});
    ASSERT_TRUE(r.ok()) << r.proc.out << r.proc.err;
    const auto s = completed(1);
    EXPECT_EQ(s.streams, 4u);
    EXPECT_EQ(r.doc.at("end").at("streams").size(), 4u);
    EXPECT_EQ(bytes_at(r.doc, "sum_received"), s.bytes_received);
    EXPECT_LT(relative_difference(bytes_at(r.doc, "sum_sent"), s.bytes_received), 0.01);
}

TEST_F(Iperf3Serve, TwoClientsAtOnceBothComplete) {
    start();
    auto a = std::async(std::launch::async, [&] { return client({}); });
    auto b = std::async(std::launch::async, [&] { return client({"-R"}); });
    const auto ra = a.get();
    const auto rb = b.get();
    ASSERT_TRUE(ra.ok()) << ra.proc.out << ra.proc.err;
    ASSERT_TRUE(rb.ok()) << rb.proc.out << rb.proc.err;
    EXPECT_GT(bytes_at(ra.doc, "sum_received"), 0u);
    EXPECT_GT(bytes_at(rb.doc, "sum_received"), 0u);
    const auto s = completed(2);
    EXPECT_EQ(s.tests, 2u);
    EXPECT_EQ(s.completed, 2u);
    EXPECT_EQ(s.refused_busy, 0u);
}

TEST_F(Iperf3Serve, SessionLimitAnswersAccessDenied) {
    start([](responder_config& g) { g.max_sessions = 1; });
    test::raw_control first{srv_->port()};
    ASSERT_TRUE(first.send(test::cookie()));
    ASSERT_EQ(first.read_byte(), 9);  // PARAM_EXCHANGE: this one holds the only slot
    // A stock client is told the server is busy, as iperf3 -s tells it.
    const auto r = client({});
    EXPECT_FALSE(r.ok());  // iperf3 3.12 -J exits 0 and says why in "error"
    EXPECT_NE(r.doc.value("error", "").find("the server is busy running a test"), std::string::npos) << r.proc.out;
    test::raw_control second{srv_->port()};
    ASSERT_TRUE(second.send(test::cookie()));
    EXPECT_EQ(second.read_byte(), 0xff);
    EXPECT_EQ(srv_->stats().refused_busy, 2u);
    EXPECT_TRUE(log_.wait_for("refused (ACCESS_DENIED): busy"));
}

TEST_F(Iperf3Serve, UdpUploadCountsEveryDatagram) {
    start();
    const auto r = client({"-u", "-b", "10M"});
    ASSERT_TRUE(r.ok()) << r.proc.out << r.proc.err;
    const auto s = completed(1);
    const auto& sum = r.doc.at("end").at("sum");
    // What iperf3 prints as the receiver's count is what nettool counted.
    EXPECT_EQ(sum.at("lost_packets").get<std::uint64_t>(), s.udp_lost);
    EXPECT_EQ(s.udp_lost, 0u);
    EXPECT_EQ(sum.at("packets").get<std::uint64_t>(), s.udp_datagrams);
    EXPECT_GT(s.udp_datagrams, 0u);
    EXPECT_LT(relative_difference(sum.at("bytes").get<std::uint64_t>(), s.bytes_received), 0.01);
    EXPECT_GE(sum.at("jitter_ms").get<double>(), 0.0);
}

TEST_F(Iperf3Serve, UdpReverseSendsAtTheRequestedRateOnly) {
    start();
    const auto r = client({"-u", "-b", "10M", "-R"});
    ASSERT_TRUE(r.ok()) << r.proc.out << r.proc.err;
    const auto s = completed(1);
    const auto& sum = r.doc.at("end").at("sum");
    EXPECT_EQ(sum.at("lost_packets").get<std::uint64_t>(), 0u);
    EXPECT_GT(s.bytes_sent, 0u);
    EXPECT_LT(relative_difference(sum.at("bytes").get<std::uint64_t>(), s.bytes_sent), 0.01);
    // No faster than asked (10 Mbit/s for 1 s, plus one datagram), never longer than the test.
    EXPECT_LE(s.bytes_sent, 10'000'000 / 8 + 65507u);
}

TEST_F(Iperf3Serve, UdpBidirCountsBothDirections) {
    start();
    const auto r = client({"-u", "-b", "10M", "--bidir"});
    ASSERT_TRUE(r.ok()) << r.proc.out << r.proc.err;
    const auto s = completed(1);
    EXPECT_EQ(s.completed, 1u) << log_.all();
    EXPECT_EQ(s.streams, 2u);
    const auto& end = r.doc.at("end");
    // The client's upload: what nettool received is what iperf3 prints as the receiver's count.
    const auto& up = end.at("sum_received");
    EXPECT_EQ(up.at("packets").get<std::uint64_t>(), s.udp_datagrams);
    EXPECT_EQ(up.at("lost_packets").get<std::uint64_t>(), s.udp_lost);
    EXPECT_EQ(s.udp_lost, 0u);
    EXPECT_GT(s.udp_datagrams, 0u);
    EXPECT_LT(relative_difference(up.at("bytes").get<std::uint64_t>(), s.bytes_received), 0.01);
    // Its download: what nettool sent, all of it read by iperf3, at the requested rate only.
    const auto& down = end.at("sum_received_bidir_reverse");
    EXPECT_EQ(down.at("lost_packets").get<std::uint64_t>(), 0u);
    EXPECT_GT(s.bytes_sent, 0u);
    EXPECT_LT(relative_difference(down.at("bytes").get<std::uint64_t>(), s.bytes_sent), 0.01);
    EXPECT_LE(s.bytes_sent, 10'000'000 / 8 + 65507u);
}

TEST_F(Iperf3Serve, UdpTwoParallelStreamsCountEachDatagram) {
    start();
    const auto r = client({"-u", "-b", "5M", "-P", "2"});
    ASSERT_TRUE(r.ok()) << r.proc.out << r.proc.err;
    const auto s = completed(1);
    EXPECT_EQ(s.streams, 2u);
    EXPECT_EQ(r.doc.at("end").at("streams").size(), 2u);
    const auto& sum = r.doc.at("end").at("sum");
    EXPECT_EQ(sum.at("packets").get<std::uint64_t>(), s.udp_datagrams);
    EXPECT_EQ(sum.at("lost_packets").get<std::uint64_t>(), s.udp_lost);
    EXPECT_EQ(s.udp_lost, 0u);
    EXPECT_LT(relative_difference(sum.at("bytes").get<std::uint64_t>(), s.bytes_received), 0.01);
}

TEST_F(Iperf3Serve, UdpConnectWithoutATestIsNotAnswered) {
    start();
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(srv_->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::send(fd, "9876", 4, 0), 4);
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    EXPECT_EQ(::poll(&p, 1, 300), 0);  // nothing comes back
    ::close(fd);
    EXPECT_TRUE(log_.wait_for("no UDP test of that address awaits its streams; not answered")) << log_.all();
    EXPECT_EQ(srv_->stats().udp_connects_refused, 1u);
}

// Each malformed control conversation ends its test with one log line naming the reason; the
// server carries on and a real client after it completes.
class Iperf3ServeMalformed : public Iperf3Serve {
protected:
    void SetUp() override {
        Iperf3Serve::SetUp();
        if (IsSkipped()) return;
        start([](responder_config& g) { g.handshake_timeout = 500ms; });
    }
    // A control connection that has sent its cookie and read PARAM_EXCHANGE.
    std::unique_ptr<test::raw_control> at_params(const std::string& cookie = test::cookie()) {
        auto c = std::make_unique<test::raw_control>(srv_->port());
        EXPECT_TRUE(c->send(cookie));
        EXPECT_EQ(c->read_byte(), 9);
        return c;
    }
    void then_a_real_client_completes() {
        const auto before = srv_->stats().completed;
        const auto r = client({});
        EXPECT_TRUE(r.ok()) << r.proc.out << r.proc.err;
        EXPECT_EQ(completed(before + 1).completed, before + 1);
    }
    // What follows SERVER_ERROR: iperf3's error number and errno 0.
    static std::string server_error(std::uint32_t code) {
        return std::string{"\xfe"} + std::string{static_cast<char>(code >> 24), static_cast<char>(code >> 16), static_cast<char>(code >> 8),
                           static_cast<char>(code)} +
               std::string(4, '\0');
    }
};

TEST_F(Iperf3ServeMalformed, ParametersOver8KiB) {
    auto c = at_params();
    c->send_length(8193);
    EXPECT_EQ(c->read_to_end(), server_error(114));
    EXPECT_TRUE(log_.wait_for("malformed: parameters of 8193 bytes, over the 8192-byte limit")) << log_.all();
    EXPECT_EQ(srv_->stats().ended_malformed, 1u);
    then_a_real_client_completes();
}

TEST_F(Iperf3ServeMalformed, ParametersNotJson) {
    auto c = at_params();
    c->send_message("{\"tcp\":true,");
    EXPECT_EQ(c->read_to_end(), server_error(114));
    EXPECT_TRUE(log_.wait_for("malformed: the parameters are not JSON")) << log_.all();
    then_a_real_client_completes();
}

TEST_F(Iperf3ServeMalformed, IperfDoneAtParamExchange) {
    auto c = at_params();
    c->send_byte(16);
    EXPECT_EQ(c->read_to_end(), server_error(110));
    EXPECT_TRUE(log_.wait_for("malformed: IPERF_DONE out of order where parameters were expected")) << log_.all();
    then_a_real_client_completes();
}

TEST_F(Iperf3ServeMalformed, TestEndBeforeTestStart) {
    const auto cookie = test::cookie();
    auto c = at_params(cookie);
    c->send_message(params_p2);
    EXPECT_EQ(c->read_byte(), 10);  // CREATE_STREAMS
    c->send_byte(4);                // TEST_END, with no stream connected
    EXPECT_EQ(c->read_to_end(), server_error(110));
    EXPECT_TRUE(log_.wait_for("malformed: TEST_END out of order before TEST_START")) << log_.all();
    // The cookie of the ended test opens nothing: not a stream, not a new test.
    for (int i = 0; i < 100 && srv_->stats().ended_malformed < 1; ++i) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(300ms);  // reaped within a tick
    test::raw_control late{srv_->port()};
    ASSERT_TRUE(late.send(cookie));
    EXPECT_EQ(late.read_to_end(), "");
    EXPECT_TRUE(log_.wait_for("the cookie of a test that has ended; closed")) << log_.all();
    EXPECT_EQ(srv_->stats().streams_refused, 1u);
    then_a_real_client_completes();
}

TEST_F(Iperf3ServeMalformed, StalledInTheMiddleOfTheLength) {
    auto c = at_params();
    c->send(std::string(2, '\0'));  // 2 of the 4 length bytes
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(c->read_to_end(), server_error(112));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 400ms);
    EXPECT_TRUE(log_.wait_for("stalled: the client stalled in the middle of the length of parameters (2 of 4 bytes"))
        << log_.all();
    EXPECT_EQ(srv_->stats().ended_stalled, 1u);
    then_a_real_client_completes();
}

TEST_F(Iperf3ServeMalformed, NoCookieInTime) {
    test::raw_control c{srv_->port()};
    c.send("abc");
    EXPECT_EQ(c.read_to_end(), "");
    EXPECT_TRUE(log_.wait_for("3 of the cookie's 37 bytes within")) << log_.all();
    EXPECT_EQ(srv_->stats().no_cookie, 1u);
}

TEST_F(Iperf3ServeMalformed, AStreamOutsideCreateStreamsIsClosed) {
    const auto cookie = test::cookie();
    auto c = at_params(cookie);  // the test waits for its parameters
    test::raw_control stream{srv_->port()};
    ASSERT_TRUE(stream.send(cookie));
    EXPECT_EQ(stream.read_to_end(), "");
    EXPECT_TRUE(log_.wait_for("a data connection outside CREATE_STREAMS; closed")) << log_.all();
}

// ---- the command line ---------------------------------------------------------------------------

TEST(Iperf3ServeCli, PortOutOfRangeIsAUsageError) {
    const auto p = test::run_nettool({"serve", "--port", "1", "--iperf3", "70000"});
    EXPECT_EQ(p.exit_code, 2);
    EXPECT_NE(p.err.find("--iperf3"), std::string::npos) << p.err;
    const auto h = test::run_nettool({"serve", "--help"});
    EXPECT_EQ(h.exit_code, 0);
    EXPECT_NE(h.out.find("--iperf3"), std::string::npos);
    EXPECT_NE(h.out.find("5201 when given without one"), std::string::npos) << h.out;
}

// `nettool serve --iperf3 PORT` serves a stock client beside the responder, and prints the iperf3
// server's counters when stopped.
TEST(Iperf3ServeCli, ServesAClientAndPrintsItsCounters) {
    if (!test::have_iperf3()) GTEST_SKIP() << "iperf3 is not installed";
    const auto port = test::free_port();
    test::background_process srv{{NETTOOL_BIN, "serve", "--bind", "127.0.0.1", "--port",
                                  std::to_string(test::free_port()), "--iperf3", std::to_string(port)}};
    for (int i = 0; i < 200 && !test::listening(port); ++i) std::this_thread::sleep_for(10ms);
    const auto r = test::run_iperf3_client(port, {"-t", "1"});
    EXPECT_TRUE(r.ok()) << r.proc.out;
    const auto stopped = srv.stop(SIGINT);
    EXPECT_EQ(stopped.exit_code, 0);
    EXPECT_NE(stopped.err.find("iperf3 server on port " + std::to_string(port)), std::string::npos) << stopped.err;
    EXPECT_NE(stopped.err.find("1 iperf3 tests (1 completed)"), std::string::npos) << stopped.err;
}

// ---- through a lossy path: nftables drops every 50th datagram ---------------------------------

// Two namespaces joined by a veth pair (203.0.113.0/24); in the server's, nftables counts the
// iperf3 data datagrams to the port and drops every 50th of them (the 4-byte connect datagrams
// pass). nettool serve --iperf3 runs there, a stock iperf3 -c -u in the other.
class Iperf3ServeLossy : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_iperf3()) GTEST_SKIP() << "iperf3 is not installed";
        if (!test::is_root()) GTEST_SKIP() << "needs root to build network namespaces";
        if (test::sh("command -v nft >/dev/null && command -v ip >/dev/null") != 0) GTEST_SKIP() << "needs ip and nft";
        const auto id = std::to_string(::getpid());
        server_ = "ntis" + id;
        client_ = "ntic" + id;
        const auto va = "ntia" + id, vb = "ntib" + id;
        built_ = true;  // from here on TearDown removes whatever part of the lab exists
        const std::string cmds[] = {
            fmt::format("ip netns add {}", server_),
            fmt::format("ip netns add {}", client_),
            fmt::format("ip link add {} type veth peer name {}", va, vb),
            fmt::format("ip link set {} netns {}", va, server_),
            fmt::format("ip link set {} netns {}", vb, client_),
            fmt::format("ip -n {} addr add 203.0.113.1/24 dev {}", server_, va),
            fmt::format("ip -n {} addr add 203.0.113.2/24 dev {}", client_, vb),
            fmt::format("ip -n {} link set {} up", server_, va),
            fmt::format("ip -n {} link set {} up", client_, vb),
            fmt::format("ip -n {} link set lo up", server_),
            fmt::format("ip -n {} link set lo up", client_),
            fmt::format("ip netns exec {} nft add table inet ntip3", server_),
            fmt::format("ip netns exec {} nft 'add chain inet ntip3 in {{ type filter hook input priority 0; }}'",
                        server_),
            fmt::format("ip netns exec {} nft 'add rule inet ntip3 in udp dport 5201 udp length > 64 counter'",
                        server_),
            fmt::format("ip netns exec {} nft 'add rule inet ntip3 in udp dport 5201 udp length > 64 "
                        "numgen inc mod 50 == 0 counter drop'",
                        server_),
        };
        for (const auto& c : cmds) ASSERT_EQ(test::sh(c + " 2>&1"), 0) << c;
    }
    void TearDown() override {
        if (!built_) return;
        // The namespaces take their nftables table and veth pair with them.
        test::sh(fmt::format("ip netns del {} 2>/dev/null; ip netns del {} 2>/dev/null", server_, client_));
    }
    // The packet counts of the two rules: every data datagram, and those dropped.
    std::pair<std::uint64_t, std::uint64_t> nft_counters() {
        const auto r = test::run_process({"/usr/sbin/ip", "netns", "exec", server_, "nft", "-j", "list", "table",
                                          "inet", "ntip3"});
        std::vector<std::uint64_t> counts;
        const auto j = nlohmann::json::parse(r.out, nullptr, false);
        if (j.is_object())
            for (const auto& item : j.at("nftables"))
                if (item.contains("rule"))
                    for (const auto& e : item.at("rule").at("expr"))
                        if (e.contains("counter")) counts.push_back(e.at("counter").at("packets").get<std::uint64_t>());
        if (counts.size() != 2) return {0, 0};
        return {counts[0], counts[1]};
    }
    std::string server_, client_;
    bool built_ = false;
};

TEST_F(Iperf3ServeLossy, UdpLossCountedExactly) {
    test::background_process srv{{"/usr/sbin/ip", "netns", "exec", server_, NETTOOL_BIN, "serve", "--bind",
                                  "203.0.113.1", "--iperf3", "5201"}};
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
        up = test::run_process({"/usr/sbin/ip", "netns", "exec", server_, "ss", "-Hltn", "sport = :5201"}).out.find(
                 "5201") != std::string::npos;
        if (!up) std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(up);
    const auto c = test::run_process({"/usr/sbin/ip", "netns", "exec", client_, "/usr/bin/iperf3", "-c", "203.0.113.1",
                                      "-p", "5201", "-u", "-b", "10M", "-t", "1", "-J"},
                                     30s);
    const auto stopped = srv.stop(SIGINT);
    const auto doc = nlohmann::json::parse(c.out, nullptr, false);
    ASSERT_TRUE(doc.is_object() && !doc.contains("error")) << c.out << c.err;
    const auto [total, dropped] = nft_counters();
    ASSERT_GT(total, 100u);
    ASSERT_GT(dropped, 0u);
    // nftables dropped datagrams 1, 51, 101... of the stream (numgen counts from 0). A drop of the
    // very last datagram is invisible to any receiver: nothing after it shows the gap.
    const std::uint64_t visible = dropped - ((total - 1) % 50 == 0 ? 1 : 0);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(stopped.err, m, std::regex{R"((\d+) UDP datagrams \((\d+) lost)"})) << stopped.err;
    EXPECT_EQ(std::stoull(m[2]), visible) << stopped.err;
    EXPECT_EQ(std::stoull(m[1]), total - dropped) << stopped.err;
    // And iperf3 prints the same count, from nettool's results.
    EXPECT_EQ(doc.at("end").at("sum").at("lost_packets").get<std::uint64_t>(), visible);
}

}  // namespace
