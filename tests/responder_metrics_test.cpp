// `nettool serve --metrics`: the responder's counters as Prometheus reads them. A real `nettool
// serve` on loopback, driven by hand-made protocol traffic whose every byte the test knows (TCP
// echo messages, UDP echo datagrams, a session refused at the per-source limit, garbage and a
// datagram with a live cookie from the wrong address); the scraped counters must equal what was
// sent, and promtool must accept the exposition.
#include <nettool/exporter/responder_metrics.hpp>

#include <nettool/core/clock.hpp>
#include <nettool/probe/protocol.hpp>

#include "support/process.hpp"
#include "support/prometheus_lab.hpp"
#include "support/raw_session.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace nettool;
using namespace nettool::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct temp_dir {
    fs::path path = fs::temp_directory_path() / ("nettool-serve-metrics-" + std::to_string(::getpid()));
    temp_dir() { fs::create_directories(path); }
    ~temp_dir() { fs::remove_all(path); }
};

TEST(ResponderExposition, EveryCounterUnderItsNameAndPromtoolAcceptsIt) {
    if (!have_prometheus()) GTEST_SKIP() << "promtool is not installed (scripts/install-deps.sh --test installs it)";
    responder_stats s;
    s.sessions = 9;
    s.sessions_echo = 1;
    s.sessions_sink = 2;
    s.sessions_source = 3;
    s.sessions_udp_echo = 3;
    s.rejected = 7;
    s.refused_busy = 5;
    s.udp_dropped = 11;
    s.udp_wrong_source = 4;
    s.tcp_bytes_received = 1234;
    s.udp_bytes_sent = 99;
    const auto text = exporter::responder_exposition(s);
    EXPECT_EQ(metric_sample(text, "nettool_responder_sessions_total{protocol=\"tcp\",mode=\"sink\"}"), 2);
    EXPECT_EQ(metric_sample(text, "nettool_responder_sessions_total{protocol=\"udp\",mode=\"udp-echo\"}"), 3);
    EXPECT_EQ(metric_sample(text, "nettool_responder_sessions_rejected_total{reason=\"busy\"}"), 5);
    EXPECT_EQ(metric_sample(text, "nettool_responder_sessions_rejected_total{reason=\"protocol\"}"), 2);
    EXPECT_EQ(metric_sample(text, "nettool_responder_udp_datagrams_dropped_total{reason=\"garbage\"}"), 7);
    EXPECT_EQ(metric_sample(text, "nettool_responder_udp_datagrams_dropped_total{reason=\"wrong_source\"}"), 4);
    EXPECT_EQ(metric_sample(text, "nettool_responder_received_bytes_total{protocol=\"tcp\"}"), 1234);
    EXPECT_EQ(metric_sample(text, "nettool_responder_sent_bytes_total{protocol=\"udp\"}"), 99);
    EXPECT_EQ(text.find("iperf3"), std::string::npos);  // only with an iperf3 server
    const iperf3_server_stats ip3{.tests = 4, .completed = 3};
    const auto with_ip3 = exporter::responder_exposition(s, &ip3);
    EXPECT_EQ(metric_sample(with_ip3, "nettool_responder_iperf3_tests_total"), 4);
    EXPECT_EQ(metric_sample(with_ip3, "nettool_responder_iperf3_tests_ended_total{reason=\"completed\"}"), 3);
    temp_dir dir;
    for (const auto& t : {text, with_ip3}) {
        const auto lint = promtool_check(t, dir.path);
        EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err << t;
    }
}

// A UDP socket bound to source (an address of 127/8), 2 s receive timeout.
detail::unique_fd udp_from(const std::string& source) {
    detail::unique_fd fd{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &a.sin_addr);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return {};
    const timeval tv{2, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

bool send_to(int fd, std::uint16_t port, std::span<const std::byte> d) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    return ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
           static_cast<ssize_t>(d.size());
}

class ServeMetrics : public ::testing::Test {
protected:
    void start(std::vector<std::string> extra = {}) {
        port_ = free_port();
        metrics_port_ = free_port();
        std::vector<std::string> argv{NETTOOL_BIN, "serve", "--bind", "127.0.0.1", "--port", std::to_string(port_),
                                      "--metrics", "127.0.0.1:" + std::to_string(metrics_port_)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        serve_ = std::make_unique<background_process>(argv);
        for (int i = 0; i < 100 && http(url()).status != 200; ++i) std::this_thread::sleep_for(50ms);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(metrics_port_) + "/metrics"; }
    std::uint16_t port_ = 0, metrics_port_ = 0;
    std::unique_ptr<background_process> serve_;
};

TEST_F(ServeMetrics, CountersEqualTheTrafficSent) {
    if (!have_prometheus()) GTEST_SKIP() << "promtool is not installed (scripts/install-deps.sh --test installs it)";
    start({"--max-sessions-per-source", "1"});
    ASSERT_EQ(http(url()).status, 200) << "serve --metrics did not answer on " << url();

    constexpr std::uint32_t rr_size = 300, datagram_size = 100, garbage_size = 20;
    constexpr int rr_count = 25, datagrams = 40, garbage = 7;
    // TCP request/response from 127.0.0.2: rr_count messages of rr_size bytes, each echoed.
    {
        auto rr = nettool::test::open_from("127.0.0.2", port_, proto::mode::echo, rr_size);
        ASSERT_TRUE(rr.ok());
        std::vector<std::byte> msg(rr_size, std::byte{0x42}), back(rr_size);
        for (int i = 0; i < rr_count; ++i) {
            ASSERT_TRUE(send_all(rr.fd.get(), msg));
            ASSERT_TRUE(recv_all(rr.fd.get(), back));
        }
    }
    // A session held from 127.0.0.4, and a second one from there refused at the per-source limit.
    auto held = nettool::test::open_from("127.0.0.4", port_, proto::mode::echo, 64);
    ASSERT_TRUE(held.ok());
    const auto refused = nettool::test::open_from("127.0.0.4", port_, proto::mode::echo, 64);
    ASSERT_TRUE(refused.busy());
    // UDP request/response from 127.0.0.3: datagrams echoed; then garbage; then the session's
    // live cookie from 127.0.0.5, which must be dropped as from the wrong source.
    auto ctl = nettool::test::open_from("127.0.0.3", port_, proto::mode::udp_echo, datagram_size);
    ASSERT_TRUE(ctl.ok());
    const auto cookie = ctl.reply->cookie;
    auto u = udp_from("127.0.0.3");
    ASSERT_TRUE(u);
    std::vector<std::byte> d(datagram_size), in(2048);
    for (int i = 0; i < datagrams; ++i) {
        proto::encode(proto::udp_header{.kind = proto::udp_kind::echo_request,
                                        .cookie = cookie,
                                        .seq = static_cast<std::uint64_t>(i),
                                        .send_ns = 1},
                      d);
        ASSERT_TRUE(send_to(u.get(), port_, d));
        ASSERT_EQ(::recv(u.get(), in.data(), in.size(), 0), static_cast<ssize_t>(datagram_size)) << "reply " << i;
    }
    const std::vector<std::byte> junk(garbage_size, std::byte{'x'});
    for (int i = 0; i < garbage; ++i) ASSERT_TRUE(send_to(u.get(), port_, junk));
    auto thief = udp_from("127.0.0.5");
    ASSERT_TRUE(send_to(thief.get(), port_, d));

    const double tcp_in = 4.0 * proto::hello_size + rr_count * rr_size;  // four hellos, the messages
    const double tcp_out = 4.0 * proto::hello_reply_size + rr_count * rr_size;  // four replies (one busy), echoes
    const double udp_in = datagrams * datagram_size + garbage * garbage_size + datagram_size;
    // The datagrams are counted as the responder's UDP thread gets to them: wait (bounded).
    std::string text;
    for (int i = 0; i < 50; ++i) {
        text = http(url()).body;
        if (metric_sample(text, "nettool_responder_received_bytes_total{protocol=\"udp\"}") == udp_in &&
            metric_sample(text, "nettool_responder_sent_bytes_total{protocol=\"tcp\"}") == tcp_out)
            break;
        std::this_thread::sleep_for(100ms);
    }
    const auto sessions = [&](const char* protocol, const char* mode) {
        return metric_sample(text, std::string{"nettool_responder_sessions_total{protocol=\""} + protocol +
                                       "\",mode=\"" + mode + "\"}");
    };
    EXPECT_EQ(sessions("tcp", "echo"), 2) << text;
    EXPECT_EQ(sessions("udp", "udp-echo"), 1);
    EXPECT_EQ(sessions("tcp", "sink"), 0);
    EXPECT_EQ(sessions("tcp", "source"), 0);
    EXPECT_EQ(sessions("tcp", "connect-only"), 0);
    EXPECT_EQ(sessions("udp", "udp-sink"), 0);
    EXPECT_EQ(metric_sample(text, "nettool_responder_sessions_rejected_total{reason=\"busy\"}"), 1);
    EXPECT_EQ(metric_sample(text, "nettool_responder_sessions_rejected_total{reason=\"protocol\"}"), 0);
    EXPECT_EQ(metric_sample(text, "nettool_responder_sessions_dropped_total{reason=\"idle\"}"), 0);
    EXPECT_EQ(metric_sample(text, "nettool_responder_sessions_dropped_total{reason=\"slow\"}"), 0);
    EXPECT_EQ(metric_sample(text, "nettool_responder_udp_datagrams_total"), datagrams);
    EXPECT_EQ(metric_sample(text, "nettool_responder_udp_replies_total"), datagrams);
    EXPECT_EQ(metric_sample(text, "nettool_responder_udp_datagrams_dropped_total{reason=\"garbage\"}"), garbage);
    EXPECT_EQ(metric_sample(text, "nettool_responder_udp_datagrams_dropped_total{reason=\"wrong_source\"}"), 1);
    EXPECT_EQ(metric_sample(text, "nettool_responder_received_bytes_total{protocol=\"tcp\"}"), tcp_in);
    EXPECT_EQ(metric_sample(text, "nettool_responder_sent_bytes_total{protocol=\"tcp\"}"), tcp_out);
    EXPECT_EQ(metric_sample(text, "nettool_responder_received_bytes_total{protocol=\"udp\"}"), udp_in);
    EXPECT_EQ(metric_sample(text, "nettool_responder_sent_bytes_total{protocol=\"udp\"}"), datagrams * datagram_size);
    EXPECT_NE(text.find("nettool_responder_build_info{version=\""), std::string::npos);
    temp_dir dir;
    const auto lint = promtool_check(text, dir.path);
    EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;

    const auto stopped = serve_->stop(SIGTERM);
    EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
    EXPECT_NE(stopped.err.find(", metrics on http://127.0.0.1:" + std::to_string(metrics_port_) + "/metrics"),
              std::string::npos)
        << stopped.err;
}

TEST_F(ServeMetrics, WithIperf3TheIperf3ServersCountersToo) {
    if (!have_prometheus()) GTEST_SKIP() << "promtool is not installed (scripts/install-deps.sh --test installs it)";
    start({"--iperf3", std::to_string(free_port())});
    const auto a = http(url());
    ASSERT_EQ(a.status, 200);
    EXPECT_EQ(metric_sample(a.body, "nettool_responder_iperf3_tests_total"), 0) << a.body;
    EXPECT_EQ(metric_sample(a.body, "nettool_responder_sessions_total{protocol=\"tcp\",mode=\"echo\"}"), 0);
    temp_dir dir;
    const auto lint = promtool_check(a.body, dir.path);
    EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
}

TEST(ServeMetricsCli, ABadAddressIsAUsageErrorAndABusyPortAFailure) {
    const auto port = std::to_string(free_port());
    for (const char* bad : {"nonsense", "localhost:9430", "127.0.0.1:99999", "127.0.0.1:x", ""}) {
        const auto r = run_nettool({"serve", "--bind", "127.0.0.1", "--port", port, "--metrics", bad}, 10s);
        EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
        if (*bad != '\0') {
            EXPECT_NE(r.err.find(std::string{"--metrics '"} + bad + "': not a numeric IPv4 or IPv6 address"),
                      std::string::npos)
                << r.err;
        }
    }
    // A port somebody holds: the responder cannot serve its metrics, so it does not start.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const auto held = std::to_string(ntohs(a.sin_port));
    const auto r = run_nettool({"serve", "--bind", "127.0.0.1", "--port", port, "--metrics", "127.0.0.1:" + held}, 10s);
    ::close(fd);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("--metrics: cannot listen on 127.0.0.1 port " + held), std::string::npos) << r.err;
}

}  // namespace
