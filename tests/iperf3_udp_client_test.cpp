#include <nettool/iperf3/udp_client.hpp>

#include <nettool/core/clock.hpp>

#include "support/child.hpp"
#include "support/iperf3_server.hpp"
#include "support/loopback_capture.hpp"
#include "support/netns_lab.hpp"
#include "support/process.hpp"
#include "support/numbers.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using namespace nettool;
namespace fs = std::filesystem;

// ---- the parameters, as iperf3 3.12 sends them ------------------------------------------------

TEST(Iperf3UdpParams, AsIperf3312SendsThem) {
    // Captured from `iperf3 -c 127.0.0.1 -u -b 10M -t 1` (3.12): the params message, byte for byte.
    EXPECT_EQ(iperf3_udp_params_json({.duration = 1s, .rate = 10e6}, 32768),
              R"({"udp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"len":32768,)"
              R"("bandwidth":10000000,"pacing_timer":1000,"client_version":"3.12"})");
    // ... and from `iperf3 -c 127.0.0.1 -u -b 10M -t 1 -R --udp-counters-64bit -P 2`.
    EXPECT_EQ(iperf3_udp_params_json({.duration = 1s,
                                      .rate = 10e6,
                                      .direction = stream_direction::download,
                                      .parallel = 2,
                                      .counters_64bit = true},
                                     32768),
              R"({"udp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":2,"reverse":true,)"
              R"("len":32768,"bandwidth":10000000,"pacing_timer":1000,"udp_counters_64bit":1,)"
              R"("client_version":"3.12"})");
}

// ---- the report, from a result built by hand --------------------------------------------------

TEST(Iperf3UdpReport, BothSidesSideBySide) {
    iperf3_udp_result r;
    std::error_code ec;
    r.target = socket_address::from_numeric("192.0.2.1", 5201, ec);
    r.streams = 1;
    r.size = 1448;
    r.rate = 10e6;
    r.sent = 863;
    r.bytes_sent = 863ull * 1448;
    r.seconds = 1.0;
    r.bits_per_second = 10e6;
    r.server_results = true;
    r.server_packets_received = 863;
    r.server_bytes_received = 846ull * 1448;
    r.server_lost = 17;
    r.server_seconds = 1.02;
    r.per_stream.push_back({.id = 1, .nettool_sends = true, .packets = 863, .bytes = r.bytes_sent,
                            .server_reported = true, .server_packets = 863, .server_bytes = r.server_bytes_received,
                            .server_lost = 17, .server_jitter_us = 12.5});
    const auto rep = make_report(r);
    ASSERT_EQ(rep.tables().size(), 2u);
    EXPECT_EQ(rep.tables()[0].title.rfind("iperf3 UDP test with 192.0.2.1:5201 (upload, 1 stream, 1448 B datagrams", 0),
              0u)
        << rep.tables()[0].title;
    ASSERT_EQ(rep.tables()[0].rows.size(), 2u);
    EXPECT_EQ(rep.tables()[0].rows[1][0], "iperf3 server");
    ASSERT_GE(rep.readings().size(), 2u);
    EXPECT_NE(rep.readings()[0].find("counted 17 of them lost"), std::string::npos) << rep.readings()[0];
    const auto& j = rep.data();
    EXPECT_EQ(j["iperf3"], true);
    EXPECT_EQ(j["result"]["server"]["lost"], 17);
    EXPECT_EQ(j["result"]["per_stream"][0]["server_packets"], 863);
}

// ---- against Debian's iperf3 ------------------------------------------------------------------

// The server's own -J document. iperf3 3.12 writes 0 for "bytes" in end.streams[].udp of a stream
// it received (its own bytes sent); its sum_received and sum_sent carry the counts.
struct server_udp {
    std::uint64_t bytes = 0, packets = 0, lost = 0;
    bool sender = false;
};
server_udp udp_from_log(const std::string& log) {
    std::istringstream in{log};
    nlohmann::json j;
    in >> j;
    const auto& end = j.at("end");
    const bool sender = end.at("sum_sent").at("packets").get<std::uint64_t>() > 0;
    const auto& u = sender ? end.at("sum_sent") : end.at("sum_received");
    return {u.at("bytes").get<std::uint64_t>(), u.at("packets").get<std::uint64_t>(),
            u.at("lost_packets").get<std::uint64_t>(), sender};
}

using nettool::test::relative_difference;

void expect_one_line_failure(const test::process_result& p, const std::string& words) {
    EXPECT_EQ(p.exit_code, 1);
    EXPECT_TRUE(p.out.empty()) << p.out;
    EXPECT_EQ(std::count(p.err.begin(), p.err.end(), '\n'), 1) << p.err;
    EXPECT_NE(p.err.find(words), std::string::npos) << p.err;
}

class Iperf3UdpLive : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_iperf3()) GTEST_SKIP() << "iperf3 is not installed";
    }
    // nettool udp --iperf3 at 10 Mbit/s for 1 s against a fresh iperf3 -s -1 -J.
    nlohmann::json run(const std::vector<std::string>& extra, server_udp& log) {
        test::iperf3_server srv{true, true};
        EXPECT_TRUE(srv.ready());
        std::vector<std::string> args{"--json", "udp", srv.target(), "--iperf3", "--mode", "stream",
                                      "--duration", "1", "--bitrate", "10M"};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto p = test::run_nettool(args, 30s);
        EXPECT_EQ(p.exit_code, 0) << p.err;
        EXPECT_EQ(srv.wait_exit(10s), 0);
        log = udp_from_log(srv.log());
        const auto j = nlohmann::json::parse(p.out);
        const std::vector<std::string> states{"PARAM_EXCHANGE", "CREATE_STREAMS",   "TEST_START",
                                              "TEST_RUNNING",   "EXCHANGE_RESULTS", "DISPLAY_RESULTS"};
        EXPECT_EQ(j.at("result").at("states").get<std::vector<std::string>>(), states);
        return j.at("result");
    }
    void upload(const std::vector<std::string>& extra) {
        server_udp log;
        const auto r = run(extra, log);
        const auto sent = r.at("sent").get<std::uint64_t>();
        // 10 Mbit/s for 1 s in datagrams of the size nettool reports (its choice when none is given).
        const double expected = 10e6 / (r.at("size").get<double>() * 8.0);
        EXPECT_GT(static_cast<double>(sent), expected * 0.9);
        EXPECT_LT(static_cast<double>(sent), expected * 1.1 + 2);
        ASSERT_EQ(r.at("per_stream").size(), 1u);
        const auto& s = r.at("per_stream").at(0);
        // Every datagram nettool sent reached the server before TEST_END: its highest sequence number.
        EXPECT_EQ(s.at("server_packets"), sent);
        EXPECT_EQ(s.at("server_lost"), 0);
        EXPECT_FALSE(log.sender);
        EXPECT_EQ(log.packets, sent);
        EXPECT_EQ(log.lost, 0u);
        EXPECT_LT(relative_difference(r.at("bytes_sent"), log.bytes), 0.01) << r.dump();
        EXPECT_EQ(r.at("server").at("bytes_received"), log.bytes);
        EXPECT_GE(r.at("intervals").size(), 1u);
    }
};

TEST_F(Iperf3UdpLive, UploadAgreesWithTheServer) {
    upload({});
}

TEST_F(Iperf3UdpLive, UploadWith64BitCountersAgreesWithTheServer) {
    upload({"--udp-counters-64bit", "--size", "1400"});
}

TEST_F(Iperf3UdpLive, ReverseAgreesWithTheServer) {
    server_udp log;
    const auto r = run({"--reverse", "--udp-counters-64bit", "--size", "1400"}, log);
    EXPECT_TRUE(log.sender);
    const auto received = r.at("received").get<std::uint64_t>();
    EXPECT_GT(received, 800u);  // 10 Mbit/s of 1400-byte datagrams for 1 s: 893
    EXPECT_EQ(received, log.packets);  // nothing is lost on loopback
    EXPECT_EQ(r.at("server").at("packets_sent"), log.packets);
    EXPECT_EQ(r.at("lost"), 0);
    EXPECT_EQ(r.at("duplicates"), 0);
    EXPECT_LT(relative_difference(r.at("bytes_received"), log.bytes), 0.01) << r.dump();
    EXPECT_TRUE(std::isfinite(r.at("jitter_us").get<double>()));
}

TEST_F(Iperf3UdpLive, TextReportAndIntervalLines) {
    test::iperf3_server srv{true};
    const auto p = test::run_nettool(
        {"udp", srv.target(), "--iperf3", "--mode", "stream", "--duration", "1.2", "-b", "2M"}, 30s);
    ASSERT_EQ(p.exit_code, 0) << p.err;
    EXPECT_NE(p.out.find("iperf3 UDP test with " + srv.target() + " (upload, 1 stream"), std::string::npos) << p.out;
    EXPECT_NE(p.out.find("iperf3 server"), std::string::npos);
    EXPECT_NE(p.out.find("The iperf3 server used"), std::string::npos);
}

TEST_F(Iperf3UdpLive, BusyServerIsOneLineAndExit1) {
    test::iperf3_server srv{true};
    const auto log = (fs::temp_directory_path() / ("nettool-iperf3-udp-busy-" + std::to_string(::getpid()))).string();
    test::child busy{{"iperf3", "-c", "127.0.0.1", "-p", std::to_string(srv.port()), "-u", "-t", "2"}, log};
    std::this_thread::sleep_for(700ms);  // iperf3's own test is running
    const auto p = test::run_nettool({"udp", srv.target(), "--iperf3", "--mode", "stream", "--duration", "1"}, 30s);
    expect_one_line_failure(p, "is busy running a test (ACCESS_DENIED)");
    EXPECT_EQ(busy.wait_for(10s), 0);
    fs::remove(log);
}

TEST_F(Iperf3UdpLive, UsageErrorsSendNothing) {
    const std::string t = "127.0.0.1:1";
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"udp", t, "--iperf3"},
             {"udp", t, "--iperf3", "-m", "stream", "--size", "11"},
             {"udp", t, "--iperf3", "-m", "stream", "--size", "12", "--udp-counters-64bit"},
             {"udp", t, "--iperf3", "-m", "stream", "--size", "65508"},
             {"udp", t, "--iperf3", "-m", "stream", "-b", "nan"},
             {"udp", t, "--iperf3", "-m", "stream", "-b", "-1M"},
             {"udp", t, "--iperf3", "-m", "stream", "-b", "101G"},
             {"udp", t, "--iperf3", "-m", "stream", "-b", "10X"},
             {"udp", t, "--iperf3", "-m", "stream", "--rate", "1000"},  // datagrams/s without --size
             {"udp", t, "-m", "stream", "--reverse"},
             {"udp", t, "-m", "stream", "--size", "20"},  // nettool's own header is 32 bytes
             {"udp", t, "-m", "stream", "-b", "10M"},
         }) {
        const auto p = test::run_nettool(args, 10s);
        EXPECT_EQ(p.exit_code, 2) << ::testing::PrintToString(args) << p.err;
        EXPECT_TRUE(p.out.empty()) << p.out;
    }
    const auto h = test::run_nettool({"udp", "--help"}, 10s);
    EXPECT_NE(h.out.find("--udp-counters-64bit"), std::string::npos);
}

TEST_F(Iperf3UdpLive, NothingListeningIsOneLineAndExit1) {
    const auto p = test::run_nettool(
        {"udp", "127.0.0.1:" + std::to_string(test::free_port()), "--iperf3", "-m", "stream"}, 10s);
    expect_one_line_failure(p, "connecting to iperf3 server");
}

// ---- a server that never answers the UDP connect datagram ----------------------------------------

// Speaks the control protocol up to CREATE_STREAMS, and has a UDP socket on the same port that
// reads every datagram and answers none (so no ICMP error tells the client anything either).
class silent_udp_server {
public:
    silent_udp_server() {
        tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(tcp_, 4);
        socklen_t len = sizeof a;
        ::getsockname(tcp_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        ::bind(udp_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        timeval tv{3, 0};
        ::setsockopt(tcp_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        thread_ = std::thread([this] { run(); });
    }
    ~silent_udp_server() {
        thread_.join();
        ::close(tcp_);
        ::close(udp_);
    }
    std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
    // The connect datagrams that arrived, as hex.
    std::vector<std::string> datagrams() {
        std::vector<std::string> v;
        std::array<unsigned char, 64> b{};
        for (;;) {
            const auto n = ::recv(udp_, b.data(), b.size(), MSG_DONTWAIT);
            if (n < 0) return v;
            std::string hex;
            for (ssize_t i = 0; i < n; ++i) hex += fmt::format("{:02x}", b[static_cast<std::size_t>(i)]);
            v.push_back(hex);
        }
    }

private:
    void run() {
        const int ctl = ::accept(tcp_, nullptr, nullptr);
        if (ctl < 0) return;
        timeval tv{3, 0};
        ::setsockopt(ctl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::array<char, 4096> buf{};
        ::recv(ctl, buf.data(), 37, MSG_WAITALL);
        ::send(ctl, "\x09", 1, MSG_NOSIGNAL);
        std::array<unsigned char, 4> len{};
        ::recv(ctl, len.data(), 4, MSG_WAITALL);
        ::recv(ctl, buf.data(), std::min<std::size_t>(buf.size(), (std::size_t{len[2]} << 8) | len[3]), MSG_WAITALL);
        ::send(ctl, "\x0a", 1, MSG_NOSIGNAL);
        while (::recv(ctl, buf.data(), buf.size(), 0) > 0) {
        }
        ::close(ctl);
    }
    int tcp_ = -1, udp_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

TEST(Iperf3UdpConnectExchange, NoAnswerIsThreeTriesThenOneLine) {
    silent_udp_server srv;
    const auto t0 = mono_clock::now();
    const auto p = test::run_nettool({"udp", srv.target(), "--iperf3", "-m", "stream", "-t", "0.6"}, 10s);
    EXPECT_LT(mono_clock::now() - t0, 3s);
    expect_one_line_failure(p, "did not answer the UDP connect datagram of stream 1 (3 tries");
    // The current version's connect datagram, in this (little-endian) host's order, three times.
    EXPECT_EQ(srv.datagrams(), (std::vector<std::string>{"39383736", "39383736", "39383736"}));
}

// ---- a lossy path: nftables drops every 50th data datagram --------------------------------------

class Iperf3UdpLossy : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_iperf3()) GTEST_SKIP() << "iperf3 is not installed";
        if (!test::is_root()) GTEST_SKIP() << "the lossy path needs root (network namespaces, nftables)";
        if (test::sh("command -v nft >/dev/null && command -v ip >/dev/null") != 0) GTEST_SKIP() << "needs ip and nft";
        lab_ = std::make_unique<test::netns_lab>("iu");
        server_ = lab_->add_namespace("s");
        client_ = lab_->add_namespace("c");
        ASSERT_FALSE(server_.empty() || client_.empty()) << lab_->errors();
        const auto tag = std::to_string(::getpid() % 100000);
        ASSERT_TRUE(lab_->veth(server_, "ntius" + tag, client_, "ntiuc" + tag)) << lab_->errors();
        ASSERT_TRUE(lab_->ip(server_, {"addr", "add", "203.0.113.1/24", "dev", "ntius" + tag})) << lab_->errors();
        ASSERT_TRUE(lab_->ip(client_, {"addr", "add", "203.0.113.2/24", "dev", "ntiuc" + tag})) << lab_->errors();
    }
    // Drops one in 50 of the data datagrams (longer than the 4-byte connect exchange) arriving in
    // `ns` with the iperf3 port as `side` ("dport" or "sport"), counting what it drops. The first
    // is the 26th, so the first and the last few datagrams of a 1 s test are not the dropped ones.
    void drop_every_50th(const std::string& ns, const std::string& side) {
        ASSERT_EQ(lab_->exec(ns, {"nft", "add", "table", "inet", "ntiu"}).exit_code, 0);
        ASSERT_EQ(lab_->exec(ns, {"nft", "add chain inet ntiu in { type filter hook input priority 0; }"}).exit_code,
                  0);
        const auto r = lab_->exec(ns, {"nft", "add rule inet ntiu in udp " + side +
                                                  " 5201 udp length > 100 numgen inc mod 50 == 25 counter drop"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    std::uint64_t dropped(const std::string& ns) {
        const auto r = lab_->exec(ns, {"nft", "-j", "list", "table", "inet", "ntiu"});
        const auto j = nlohmann::json::parse(r.out);
        for (const auto& item : j.at("nftables"))
            if (item.contains("rule"))
                for (const auto& e : item.at("rule").at("expr"))
                    if (e.contains("counter")) return e.at("counter").at("packets").get<std::uint64_t>();
        ADD_FAILURE() << r.out << r.err;
        return 0;
    }
    // iperf3 -s -1 -J in the server namespace; nettool in the client namespace.
    nlohmann::json run(const std::vector<std::string>& extra) {
        const auto log = (fs::temp_directory_path() / ("nettool-iperf3-udp-lossy-" + std::to_string(::getpid())))
                             .string();
        test::child srv{{"ip", "netns", "exec", server_, "iperf3", "-s", "-1", "-B", "203.0.113.1", "-p", "5201"},
                        log};
        for (int i = 0; i < 200; ++i) {
            if (lab_->exec(server_, {"sh", "-c", "grep -q ':1451 00000000:0000 0A' /proc/net/tcp"}).exit_code == 0)
                break;
            std::this_thread::sleep_for(20ms);
        }
        std::vector<std::string> argv{"ip",     "netns",    "exec",     client_,    NETTOOL_BIN,  "--json", "udp",
                                      "203.0.113.1", "--iperf3", "--mode", "stream", "--duration", "1",
                                      "--bitrate", "10M", "--size", "1200"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        const auto p = test::run_process(argv, 30s);
        EXPECT_EQ(p.exit_code, 0) << p.err;
        EXPECT_EQ(srv.wait_for(10s), 0);
        fs::remove(log);
        return nlohmann::json::parse(p.out).at("result");
    }
    std::unique_ptr<test::netns_lab> lab_;
    std::string server_, client_;
};

TEST_F(Iperf3UdpLossy, UploadLossCountedByTheServerIsWhatNftablesDropped) {
    drop_every_50th(server_, "dport");
    const auto r = run({});
    const auto drops = dropped(server_);
    const auto sent = r.at("sent").get<std::uint64_t>();
    EXPECT_GT(drops, 10u);
    // The server counts a gap before a later arrival: a drop of the very last datagram is invisible.
    const std::uint64_t invisible = (sent - 1) % 50 == 25 ? 1 : 0;
    EXPECT_EQ(r.at("server").at("lost").get<std::uint64_t>(), drops - invisible) << r.dump();
    EXPECT_EQ(r.at("server").at("packets_received").get<std::uint64_t>(), sent - invisible);
}

TEST_F(Iperf3UdpLossy, ReverseLossCountedByNettoolIsWhatNftablesDropped) {
    drop_every_50th(client_, "sport");
    const auto r = run({"--reverse"});
    const auto drops = dropped(client_);
    const auto server_sent = r.at("server").at("packets_sent").get<std::uint64_t>();
    EXPECT_GT(drops, 10u);
    const std::uint64_t invisible = (server_sent - 1) % 50 == 25 ? 1 : 0;
    EXPECT_EQ(r.at("lost").get<std::uint64_t>(), drops - invisible) << r.dump();
    EXPECT_EQ(r.at("received").get<std::uint64_t>() + drops, server_sent);
    EXPECT_EQ(r.at("duplicates"), 0);
    EXPECT_TRUE(std::isfinite(r.at("jitter_us").get<double>()));
}

// ---- on the wire: the same states as iperf3's own UDP client -------------------------------------


// The UDP payloads the server sent from its port (the connect replies) as hex, in order.
std::vector<std::string> server_udp_small(const std::string& pcap, std::uint16_t port) {
    const auto out = test::run_process({"/usr/bin/tshark", "-r", pcap, "-Y",
                                        "udp.srcport==" + std::to_string(port) + " && udp.length==12", "-T",
                                        "fields", "-e", "data"},
                                       60s)
                         .out;
    std::istringstream in{out};
    std::vector<std::string> v;
    for (std::string hex; in >> hex;) v.push_back(hex);
    return v;
}

struct wire {
    std::vector<int> states;
    std::vector<std::string> connect_replies;
};

wire captured(std::uint16_t port, const std::function<void()>& run) {
    // The server's control bytes (TCP segments with a payload) and its 4-byte UDP datagrams
    // (the connect replies): a reverse test's data and the bare ACKs would only load the capture.
    test::loopback_capture cap{fs::temp_directory_path() / ("nettool-iperf3-udp-" + std::to_string(::getpid()) + "-" +
                                                            std::to_string(port) + ".pcap"),
                               "src port " + std::to_string(port) + " and (" + test::tcp_with_payload +
                                   " or (udp and udp[4:2] == 12)) and less 1500"};
    EXPECT_TRUE(cap.ready()) << cap.log();
    run();
    EXPECT_TRUE(cap.finish()) << "the capture lost packets: " << cap.log();
    return {test::iperf3_states(cap.stream_from(port)), server_udp_small(cap.file().string(), port)};
}

TEST_F(Iperf3UdpLive, OnTheWireTheServerSendsTheSameStatesAsToIperf3sClient) {
    if (!test::is_root()) GTEST_SKIP() << "capturing on lo needs root (CAP_NET_RAW)";
    if (!test::have_tool("tcpdump") || !test::have_tool("tshark")) GTEST_SKIP() << "tcpdump or tshark missing";
    test::iperf3_server srv{false};
    ASSERT_TRUE(srv.ready());
    const auto port = srv.port();
    for (const auto& extra : {std::vector<std::string>{}, {"-R"}}) {
        const auto theirs = captured(port, [&] {
            std::vector<std::string> argv{"/usr/bin/iperf3", "-c", "127.0.0.1", "-p", std::to_string(port),
                                          "-u",              "-t", "1"};
            argv.insert(argv.end(), extra.begin(), extra.end());
            EXPECT_EQ(test::run_process(argv, 30s).exit_code, 0);
        });
        const auto ours = captured(port, [&] {
            std::vector<std::string> args{"udp", srv.target(), "--iperf3", "-m", "stream", "-d", "1"};
            args.insert(args.end(), extra.begin(), extra.end());
            const auto p = test::run_nettool(args, 30s);
            EXPECT_EQ(p.exit_code, 0) << p.err;
        });
        const std::vector<int> expected{9, 10, 1, 2, 13, 14};
        EXPECT_EQ(theirs.states, expected) << "iperf3's own client, " << ::testing::PrintToString(extra);
        EXPECT_EQ(ours.states, theirs.states) << ::testing::PrintToString(extra);
        // The server answered one current-version connect datagram ("6789" on x86) for each.
        EXPECT_EQ(theirs.connect_replies, std::vector<std::string>{"36373839"});
        EXPECT_EQ(ours.connect_replies, theirs.connect_replies);
    }
}

}  // namespace
