#include <nettool/iperf3/client.hpp>

#include <nettool/core/clock.hpp>

#include "support/child.hpp"
#include "support/iperf3_server.hpp"
#include "support/loopback_capture.hpp"
#include "support/process.hpp"
#include "support/numbers.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace nettool;
namespace fs = std::filesystem;

// ---- the report, from a result built by hand ----------------------------------------------------

iperf3_tcp_result sample_result() {
    iperf3_tcp_result r;
    std::error_code ec;
    r.target = socket_address::from_numeric("127.0.0.1", 5201, ec);
    r.direction = stream_direction::bidir;
    r.streams = 2;
    r.bytes_sent = 1000000;
    r.bytes_received = 2000000;
    r.seconds = 1.0;
    r.bits_per_second = 24e6;
    r.kernel = {
        .connections = 1, .retransmits = 4, .rtt_us = 50, .cwnd_segments = 10, .congestion_control = "cubic"};
    r.per_stream = {{.id = 1,
                     .nettool_sends = true,
                     .bytes = 1000000,
                     .server_bytes = 990000,
                     .server_reported = true,
                     .retransmits = 4},
                    {.id = 3,
                     .nettool_sends = false,
                     .bytes = 2000000,
                     .server_bytes = 2000000,
                     .server_reported = true,
                     .server_retransmits = 7}};
    r.server_results = true;
    r.server.cpu_util_total = 40;
    r.server.congestion_used = "bbr";
    r.server_bytes_received = 990000;
    r.server_bytes_sent = 2000000;
    r.server_seconds = 1.0;
    r.states = {9, 10, 1, 2, 13, 14};
    return r;
}

TEST(Iperf3Report, BothSidesSideBySide) {
    const auto rep = make_report(sample_result());
    ASSERT_EQ(rep.tables().size(), 2u);
    const auto& t = rep.tables()[0];
    EXPECT_EQ(t.title, "iperf3 TCP test with 127.0.0.1:5201 (bidir, 2 streams)");
    ASSERT_EQ(t.rows.size(), 2u);
    EXPECT_EQ(t.rows[0][0], "nettool");
    EXPECT_EQ(t.rows[1][0], "iperf3 server");
    EXPECT_EQ(t.rows[1][5], "7");  // the server's retransmits on the stream it sent
    const auto& per = rep.tables()[1];
    ASSERT_EQ(per.rows.size(), 2u);
    EXPECT_EQ(per.rows[0][4], "-1.000%");
    EXPECT_EQ(per.rows[1][4], "+0.000%");
    ASSERT_GE(rep.readings().size(), 3u);
    EXPECT_NE(rep.readings()[0].find("The server read"), std::string::npos);
    EXPECT_NE(rep.readings()[2].find("sent with bbr"), std::string::npos);
    const auto& j = rep.data();
    EXPECT_EQ(j["mode"], "stream");
    EXPECT_EQ(j["iperf3"], true);
    EXPECT_EQ(j["bits_per_second"], 24e6);
    EXPECT_EQ(j["result"]["server"]["bytes_received"], 990000);
    EXPECT_EQ(j["result"]["states"][4], "EXCHANGE_RESULTS");
    EXPECT_EQ(j["result"]["per_stream"][1]["server_retransmits"], 7);
    EXPECT_TRUE(j["result"]["per_stream"][1]["retransmits"].is_null());
}

TEST(Iperf3Report, WithoutTheServersResults) {
    auto r = sample_result();
    r.server_results = false;
    const auto rep = make_report(r);
    EXPECT_EQ(rep.tables()[0].rows.size(), 1u);
    EXPECT_TRUE(rep.data()["result"]["server"].is_null());
    EXPECT_NE(rep.readings().back().find("did not arrive"), std::string::npos);
}

// ---- against Debian's iperf3 ------------------------------------------------------------------

struct server_counts {
    std::uint64_t received = 0;  // by the server
    std::uint64_t sent = 0;
};

// The server's own -J document (the first one in its log): per stream, what it received or sent.
server_counts counts_from_log(const std::string& log) {
    std::istringstream in{log};
    nlohmann::json j;
    in >> j;
    server_counts c;
    for (const auto& s : j.at("end").at("streams")) {
        if (s.at("sender").at("sender").get<bool>())
            c.sent += s.at("sender").at("bytes").get<std::uint64_t>();
        else
            c.received += s.at("receiver").at("bytes").get<std::uint64_t>();
    }
    return c;
}

// A failed run: exit 1, nothing on stdout, one line on stderr that says `words`.
void expect_one_line_failure(const test::process_result& p, const std::string& words) {
    EXPECT_EQ(p.exit_code, 1);
    EXPECT_TRUE(p.out.empty()) << p.out;
    EXPECT_EQ(std::count(p.err.begin(), p.err.end(), '\n'), 1) << p.err;
    EXPECT_NE(p.err.find(words), std::string::npos) << p.err;
}

using nettool::test::relative_difference;

class Iperf3Live : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_iperf3()) GTEST_SKIP() << "iperf3 is not installed";
    }
    // nettool tcp --iperf3 against a fresh iperf3 -s -1 -J; checks the byte counts against the
    // server's own JSON, within 1%.
    void agree(const std::vector<std::string>& extra, unsigned streams) {
        test::iperf3_server srv{true, true};
        ASSERT_TRUE(srv.ready());
        std::vector<std::string> args{"--json", "tcp",    srv.target(), "--iperf3",
                                      "--mode", "stream", "--duration", "2"};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto p = test::run_nettool(args, 30s);
        ASSERT_EQ(p.exit_code, 0) << p.err;
        ASSERT_EQ(srv.wait_exit(10s), 0);
        const auto j = nlohmann::json::parse(p.out);
        const auto& r = j.at("result");
        EXPECT_EQ(r.at("streams"), streams);
        const auto c = counts_from_log(srv.log());
        const auto sent = r.at("bytes_sent").get<std::uint64_t>();
        const auto received = r.at("bytes_received").get<std::uint64_t>();
        EXPECT_EQ(sent > 0, c.received > 0);
        EXPECT_EQ(received > 0, c.sent > 0);
        if (sent > 0) {
            EXPECT_LT(relative_difference(sent, c.received), 0.01) << sent << " sent, the server read " << c.received;
        }
        if (received > 0) {
            EXPECT_LT(relative_difference(received, c.sent), 0.01) << received << " read, the server sent " << c.sent;
        }
        // What the server said in the results exchange is what it wrote in its own JSON.
        EXPECT_EQ(r.at("server").at("bytes_received"), c.received);
        EXPECT_EQ(r.at("server").at("bytes_sent"), c.sent);
        ASSERT_EQ(r.at("per_stream").size(), streams);
        for (const auto& s : r.at("per_stream")) {
            EXPECT_TRUE(s.at("server_reported").get<bool>());
            EXPECT_LT(relative_difference(s.at("bytes"), s.at("server_bytes")), 0.01) << s.dump();
        }
        EXPECT_GE(r.at("intervals").size(), 1u);
        const std::vector<std::string> states{"PARAM_EXCHANGE", "CREATE_STREAMS",   "TEST_START",
                                              "TEST_RUNNING",   "EXCHANGE_RESULTS", "DISPLAY_RESULTS"};
        EXPECT_EQ(r.at("states").get<std::vector<std::string>>(), states);
    }
};

TEST_F(Iperf3Live, UploadAgreesWithTheServer) {
    agree({}, 1);
}
TEST_F(Iperf3Live, ReverseAgreesWithTheServer) {
    agree({"--reverse"}, 1);
}
TEST_F(Iperf3Live, BidirAgreesWithTheServer) {
    agree({"--bidir"}, 2);
}
TEST_F(Iperf3Live, TwoParallelStreamsAgreeWithTheServer) {
    agree({"-P", "2"}, 2);
}

TEST_F(Iperf3Live, TextReportAndIntervalLines) {
    test::iperf3_server srv{true};
    const auto p =
        test::run_nettool({"tcp", srv.target(), "--iperf3", "--mode", "stream", "--duration", "2"}, 30s);
    ASSERT_EQ(p.exit_code, 0) << p.err;
    EXPECT_NE(p.out.find("iperf3 TCP test with " + srv.target() + " (upload, 1 stream)"), std::string::npos)
        << p.out;
    EXPECT_NE(p.out.find("iperf3 server"), std::string::npos);
    EXPECT_NE(p.out.find("The server read"), std::string::npos);
    EXPECT_NE(p.out.find("The iperf3 server used"), std::string::npos);
}

TEST_F(Iperf3Live, BusyServerIsOneLineAndExit1) {
    test::iperf3_server srv{true};
    const auto log =
        (fs::temp_directory_path() / ("nettool-iperf3-busy-" + std::to_string(::getpid()))).string();
    test::child busy{{"iperf3", "-c", "127.0.0.1", "-p", std::to_string(srv.port()), "-t", "3"}, log};
    std::this_thread::sleep_for(1s);  // iperf3's own test is running
    const auto t0 = mono_clock::now();
    const auto p =
        test::run_nettool({"tcp", srv.target(), "--iperf3", "--mode", "stream", "--duration", "1"}, 30s);
    EXPECT_LT(mono_clock::now() - t0, 5s);
    expect_one_line_failure(p, "is busy running a test (ACCESS_DENIED)");
    EXPECT_EQ(busy.wait_for(10s), 0);  // the real test was not disturbed
    fs::remove(log);
}

TEST_F(Iperf3Live, AuthenticationIsOneLineAndExit1) {
    const auto dir = fs::temp_directory_path() / ("nettool-iperf3-auth-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto key = (dir / "private.pem").string();
    const auto users = (dir / "users.csv").string();
    ASSERT_EQ(test::sh("openssl genrsa -out " + key + " 2048 2>/dev/null"), 0);
    {
        std::ofstream u{users};  // user mario, password rossi: sha256("{mario}rossi")
        u << "mario,bf7a49a846d44b454a5d11e7acfaf13d138bbe0b7483aa3e050879700572709b\n";
    }
    test::iperf3_server srv{true, false, {"--rsa-private-key-path", key, "--authorized-users-path", users}};
    ASSERT_TRUE(srv.ready());
    const auto p =
        test::run_nettool({"tcp", srv.target(), "--iperf3", "--mode", "stream", "--duration", "1"}, 30s);
    fs::remove_all(dir);
    expect_one_line_failure(p, "requires authentication");
    EXPECT_NE(p.err.find("SERVER_ERROR 142: test authorization failed"), std::string::npos) << p.err;
}

TEST_F(Iperf3Live, UsageErrors) {
    const auto a = test::run_nettool({"tcp", "127.0.0.1:1", "--iperf3"}, 10s);
    EXPECT_EQ(a.exit_code, 2);
    EXPECT_NE(a.err.find("add --mode stream"), std::string::npos) << a.err;
    const auto b =
        test::run_nettool({"tcp", "127.0.0.1:1", "--iperf3", "-m", "stream", "--congestion", "reno"}, 10s);
    EXPECT_EQ(b.exit_code, 2);
    const auto h = test::run_nettool({"tcp", "--help"}, 10s);
    EXPECT_NE(h.out.find("--iperf3"), std::string::npos);
}

TEST_F(Iperf3Live, NothingListeningIsOneLineAndExit1) {
    const auto p = test::run_nettool(
        {"tcp", "127.0.0.1:" + std::to_string(test::free_port()), "--iperf3", "-m", "stream"}, 10s);
    expect_one_line_failure(p, "connecting to iperf3 server");
}

// ---- a fake server that breaks the protocol ---------------------------------------------------

enum class misbehaviour {
    bad_state,
    server_error,
    over_cap,
    bad_json,
    stall_mid_message,
    stall_before_state
};

class fake_server {
public:
    explicit fake_server(misbehaviour m) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(fd_, 8);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        set_timeout(fd_);
        thread_ = std::thread([this, m] { run(m); });
    }
    ~fake_server() {
        thread_.join();
        ::close(fd_);
    }
    socket_address target() const {
        std::error_code ec;
        return socket_address::from_numeric("127.0.0.1", port_, ec);
    }
    std::string target_text() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    static void set_timeout(int fd) {
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    static bool read_n(int fd, std::size_t n) {
        std::array<char, 4096> buf{};
        while (n > 0) {
            const auto got = ::recv(fd, buf.data(), std::min(n, buf.size()), 0);
            if (got <= 0) return false;
            n -= static_cast<std::size_t>(got);
        }
        return true;
    }
    static bool read_message(int fd) {
        std::array<unsigned char, 4> len{};
        if (::recv(fd, len.data(), 4, MSG_WAITALL) != 4) return false;
        return read_n(fd, (std::size_t{len[0]} << 24) | (std::size_t{len[1]} << 16) |
                              (std::size_t{len[2]} << 8) | len[3]);
    }
    static void send_bytes(int fd, const std::string& s) { ::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }
    static void hold(int fd) {  // until the client closes (or 5 s)
        std::array<char, 256> buf{};
        while (::recv(fd, buf.data(), buf.size(), 0) > 0) {
        }
    }
    void run(misbehaviour m) {
        const int ctl = ::accept(fd_, nullptr, nullptr);
        if (ctl < 0) return;
        set_timeout(ctl);
        read_n(ctl, 37);
        if (m == misbehaviour::bad_state) {
            send_bytes(ctl, "\x63");
        } else if (m == misbehaviour::server_error) {
            send_bytes(ctl, std::string("\xfe\x00\x00\x00\x64\x00\x00\x00\x0c", 9));
        } else if (m == misbehaviour::stall_before_state) {
            // nothing: the client waits for PARAM_EXCHANGE
        } else {
            send_bytes(ctl, "\x09");
            read_message(ctl);
            send_bytes(ctl, "\x0a");
            const int data = ::accept(fd_, nullptr, nullptr);
            set_timeout(data);
            read_n(data, 37);
            send_bytes(ctl, "\x01\x02");
            read_n(ctl, 1);  // TEST_END
            ::close(data);
            send_bytes(ctl, "\x0d");
            read_message(ctl);
            if (m == misbehaviour::over_cap) send_bytes(ctl, std::string("\x00\x10\x00\x00{", 5));
            if (m == misbehaviour::bad_json)
                send_bytes(ctl, std::string("\x00\x00\x00\x09{not json\x0e", 14));
            if (m == misbehaviour::stall_mid_message)
                send_bytes(ctl, std::string("\x00\x00\x00\x64{\"cpu", 9));
        }
        hold(ctl);
        ::close(ctl);
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

iperf3_tcp_result run_against(const fake_server& f) {
    return iperf3_tcp_client(f.target(), {.duration = 200ms, .write_size = 16384, .timeout = 500ms});
}

// nettool tcp --iperf3 against the fake server with a 0.5 s timeout; it must end within 3 s.
test::process_result run_cli_against(misbehaviour m) {
    fake_server f{m};
    const auto t0 = mono_clock::now();
    auto p = test::run_nettool({"tcp", f.target_text(), "--iperf3", "-m", "stream", "-t", "0.5"}, 10s);
    EXPECT_LT(mono_clock::now() - t0, 3s);
    return p;
}

TEST(Iperf3Fake, BadStateByteIsAVersionMismatch) {
    const auto p = run_cli_against(misbehaviour::bad_state);
    expect_one_line_failure(p, "sent state byte 99 where PARAM_EXCHANGE was expected");
    EXPECT_NE(p.err.find("another protocol version"), std::string::npos) << p.err;
}

TEST(Iperf3Fake, ServerErrorNamesItsCodeAndErrno) {
    fake_server f{misbehaviour::server_error};
    const auto r = run_against(f);
    EXPECT_NE(r.error.find("failed: unable to create a new test (SERVER_ERROR, iperf3 error 100, errno 12: "),
              std::string::npos)
        << r.error;
}

TEST(Iperf3Fake, ResultsOverTheCapAreRefused) {
    fake_server f{misbehaviour::over_cap};
    const auto t0 = mono_clock::now();
    const auto r = run_against(f);
    EXPECT_LT(mono_clock::now() - t0, 3s);
    EXPECT_GT(r.bytes_sent, 0u);
    EXPECT_FALSE(r.server_results);
    EXPECT_NE(r.error.find("announced 1048576 bytes of the server's results, over nettool's limit of 65536"),
              std::string::npos)
        << r.error;
}

TEST(Iperf3Fake, BadJsonIsMalformed) {
    fake_server f{misbehaviour::bad_json};
    const auto r = run_against(f);
    EXPECT_EQ(r.error, "iperf3 server sent malformed results: not JSON");
    EXPECT_FALSE(r.server_results);
}

TEST(Iperf3Fake, StallInTheMiddleOfAMessageEndsWithinTheTimeout) {
    fake_server f{misbehaviour::stall_mid_message};
    const auto t0 = mono_clock::now();
    const auto r = run_against(f);
    EXPECT_LT(mono_clock::now() - t0, 3s);
    EXPECT_NE(
        r.error.find("sent nothing for 500.0 ms in the middle of the server's results (100 bytes announced)"),
        std::string::npos)
        << r.error;
}

TEST(Iperf3Fake, StallBeforeTheFirstStateEndsWithinTheTimeout) {
    const auto p = run_cli_against(misbehaviour::stall_before_state);
    expect_one_line_failure(p, "waiting for PARAM_EXCHANGE");
}

// ---- on the wire: the same states as iperf3's own client ----------------------------------------


std::vector<int> captured_states(std::uint16_t port, const std::function<void()>& run) {
    // Only the segments the server sends with a payload below 1500 bytes: its control bytes.
    // Its bare acknowledgements are left out: an upload makes tens of thousands of them, and a
    // loaded machine may drop some in the capture, a state byte with them.
    test::loopback_capture cap{fs::temp_directory_path() / ("nettool-iperf3-" + std::to_string(::getpid()) + "-" +
                                                            std::to_string(port) + ".pcap"),
                               "tcp src port " + std::to_string(port) + " and less 1500 and " +
                                   test::tcp_with_payload};
    EXPECT_TRUE(cap.ready()) << cap.log();
    run();
    EXPECT_TRUE(cap.finish()) << "the capture lost packets: " << cap.log();
    return test::iperf3_states(cap.stream_from(port));
}

TEST_F(Iperf3Live, OnTheWireTheServerSendsTheSameStatesAsToIperf3sClient) {
    if (!test::is_root()) GTEST_SKIP() << "capturing on lo needs root (CAP_NET_RAW)";
    if (!test::have_tool("tcpdump") || !test::have_tool("tshark")) GTEST_SKIP() << "tcpdump or tshark missing";
    test::iperf3_server srv{false};
    ASSERT_TRUE(srv.ready());
    const auto port = srv.port();
    for (const auto& extra : {std::vector<std::string>{}, {"-R"}, {"--bidir"}}) {
        const auto theirs = captured_states(port, [&] {
            std::vector<std::string> argv{"/usr/bin/iperf3",    "-c", "127.0.0.1", "-p",
                                          std::to_string(port), "-t", "1"};
            argv.insert(argv.end(), extra.begin(), extra.end());
            EXPECT_EQ(test::run_process(argv, 30s).exit_code, 0);
        });
        const auto ours = captured_states(port, [&] {
            std::vector<std::string> args{"tcp", srv.target(), "--iperf3", "-m", "stream", "-d", "1"};
            args.insert(args.end(), extra.begin(), extra.end());
            const auto p = test::run_nettool(args, 30s);
            EXPECT_EQ(p.exit_code, 0) << p.err;
        });
        const std::vector<int> expected{9, 10, 1, 2, 13, 14};
        EXPECT_EQ(theirs, expected) << "iperf3's own client, " << ::testing::PrintToString(extra);
        EXPECT_EQ(ours, theirs) << ::testing::PrintToString(extra);
    }
}

}  // namespace
