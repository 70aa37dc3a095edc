// The probe subcommands end to end: tcp-vs-udp, tcp, udp and serve as a user runs them.
#include "support/process.hpp"
#include "support/files.hpp"

#include <nettool/probe/protocol.hpp>
#include <nettool/probe/responder.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <thread>

namespace {

using namespace std::chrono_literals;
using nettool::test::background_process;
using nettool::test::free_port;
using nettool::test::run_nettool;

using nettool::test::count_lines;

void expect_latency_summary(const nlohmann::json& j) {
    for (const char* k :
         {"count", "min_us", "mean_us", "stddev_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"})
        EXPECT_TRUE(j.contains(k)) << k;
    // Plus the distribution, "cdf", when there are samples (docs/JSON.md).
    EXPECT_EQ(j.size(), j["count"].get<int>() > 0 ? 10u : 9u);
    if (j["count"].get<int>() > 0) {
        EXPECT_TRUE(j["cdf"].is_array());
    }
}

TEST(ProbeCli, TcpVsUdpOnLoopbackPrintsOneJsonDocument) {
    auto r = run_nettool({"--json", "tcp-vs-udp", "--count", "100", "--duration", "0.5"}, 120s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);  // throws (fails) on anything but one document
    EXPECT_EQ(j["schema_version"], 1);
    EXPECT_EQ(j["command"], "tcp-vs-udp");
    EXPECT_EQ(j["in_process_responder"], true);
    expect_latency_summary(j["tcp"]["connect"]["connect"]);
    expect_latency_summary(j["tcp"]["rr"]["rtt"]);
    expect_latency_summary(j["udp"]["rr"]["rtt"]);
    EXPECT_EQ(j["tcp"]["rr"]["completed"], 100);
    EXPECT_EQ(j["tcp"]["rr"]["rtt"]["count"], 100);
    EXPECT_GT(j["tcp"]["stream"]["bits_per_second"].get<double>(), 0);
    EXPECT_GT(j["udp"]["stream"]["packets_per_second"].get<double>(), 0);
    EXPECT_GE(j["readings"].size(), 2u);
}

TEST(ProbeCli, TcpVsUdpTextHasTheTableAndReadings) {
    auto r = run_nettool({"tcp-vs-udp", "-c", "50", "-d", "0.3"}, 120s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("TCP vs UDP to 127.0.0.1:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("RTT p99"), std::string::npos);
    EXPECT_NE(r.out.find("retransmissions by the kernel"), std::string::npos);
    EXPECT_NE(r.out.find("three-way handshake"), std::string::npos);
    EXPECT_EQ(r.err, "");  // not a terminal: no progress lines
}

TEST(ProbeCli, BadTargetsAreUsageErrors) {
    for (const char* bad : {"exa mple", "127.0.0.1:99999", "127.0.0.1:0", "[::1", "host:port"}) {
        auto r = run_nettool({"tcp", bad});
        EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1u) << r.err;
        EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
    }
    auto r = run_nettool({"udp", "127.0.0.1", "--size", "8"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
}

TEST(ProbeCli, NothingListeningIsExitOneWithTheReason) {
    const auto port = std::to_string(free_port());
    auto r = run_nettool({"tcp", "127.0.0.1:" + port, "--mode", "connect", "--count", "2"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("2 refused"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    r = run_nettool({"udp", "127.0.0.1:" + port});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
}

TEST(ProbeCli, ABusyResponderIsAnErrorNotAReportOfZeros) {
    // A responder with room for one session, and that session held open.
    nettool::responder_config cfg;
    cfg.bind_address = "127.0.0.1";
    cfg.port = 0;
    cfg.max_sessions = 1;
    std::error_code ec;
    auto resp = nettool::responder::start(cfg, ec);
    ASSERT_TRUE(resp) << ec.message();
    const auto target = resp->local_endpoint().to_string();
    const int held = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(resp->local_endpoint().port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(held, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::array<std::byte, nettool::proto::hello_size> hello{};
    nettool::proto::encode(nettool::proto::hello{nettool::proto::mode::echo, 64, 0, 0}, hello);
    ASSERT_EQ(::send(held, hello.data(), hello.size(), 0), static_cast<ssize_t>(hello.size()));
    std::array<std::byte, nettool::proto::hello_reply_size> reply{};
    ASSERT_EQ(::recv(held, reply.data(), reply.size(), MSG_WAITALL), static_cast<ssize_t>(reply.size()));

    for (const auto& args : std::vector<std::vector<std::string>>{{"tcp", target, "--mode", "rr", "-c", "3"},
                                                                  {"tcp", target, "--mode", "stream", "-d", "0.2"},
                                                                  {"udp", target, "-c", "3"},
                                                                  {"udp", target, "--mode", "stream", "-d", "0.2"},
                                                                  {"--json", "tcp", target, "--mode", "rr"}}) {
        auto r = run_nettool(args);
        EXPECT_EQ(r.exit_code, 1) << args[1];
        EXPECT_EQ(r.out, "") << args[1] << " printed a report for a session it never had";
        EXPECT_EQ(count_lines(r.err), 1u) << r.err;
        EXPECT_NE(r.err.find("busy"), std::string::npos) << r.err;
    }
    ::close(held);
}

TEST(ProbeCli, ServeAnswersProbesAndStopsCleanlyOnSigterm) {
    const auto port = std::to_string(free_port());
    background_process serve({NETTOOL_BIN, "serve", "--port", port, "--bind", "127.0.0.1"});
    // Wait until it listens: a connect probe succeeds.
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
        up = run_nettool({"tcp", "127.0.0.1:" + port, "-m", "connect", "-c", "1"}).exit_code == 0;
        if (!up) std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(up);
    auto rr = run_nettool({"--json", "tcp", "127.0.0.1:" + port, "-m", "rr", "-c", "20"});
    EXPECT_EQ(rr.exit_code, 0) << rr.err;
    EXPECT_EQ(nlohmann::json::parse(rr.out)["result"]["completed"], 20);
    auto ur = run_nettool({"--json", "udp", "127.0.0.1:" + port, "-m", "stream", "-d", "0.3", "-r", "1000"});
    EXPECT_EQ(ur.exit_code, 0) << ur.err;
    EXPECT_GT(nlohmann::json::parse(ur.out)["result"]["received"].get<int>(), 0);
    auto st = serve.stop(SIGTERM);
    EXPECT_FALSE(st.timed_out);
    EXPECT_EQ(st.exit_code, 0) << st.err;
    // One log line per session: the rr session and the UDP stream session.
    EXPECT_NE(st.err.find("echo: 20 messages of 64 B"), std::string::npos) << st.err;
    EXPECT_NE(st.err.find("udp-sink:"), std::string::npos) << st.err;
    EXPECT_NE(st.err.find("stopped by SIGTERM"), std::string::npos) << st.err;
}

TEST(ProbeCli, ServeOnATakenPortSaysSo) {
    const auto port = std::to_string(free_port());
    background_process first({NETTOOL_BIN, "serve", "--port", port, "--bind", "127.0.0.1"});
    std::this_thread::sleep_for(300ms);
    auto r = run_nettool({"serve", "--port", port, "--bind", "127.0.0.1"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot listen"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
}

}  // namespace
