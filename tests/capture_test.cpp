// capture: the library on its own thread while the test sends loopback traffic, and the CLI
// (SIGTERM leaves a valid file whose count tcpdump agrees with, count limit, error lines).
#include <nettool/packet/capture.hpp>

#include <nettool/core/error.hpp>
#include <nettool/packet/inspect.hpp>

#include "support/child.hpp"
#include "support/process.hpp"
#include "support/files.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

namespace {

namespace fs = std::filesystem;
using namespace nettool;
using nettool::test::child;
using nettool::test::is_root;
using nettool::test::run_nettool;
using nettool::test::run_process;

using nettool::test::temp_path;

using nettool::test::read_text;

/// A UDP socket bound to 127.0.0.1 and its port; closed on destruction.
struct udp_socket {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    std::uint16_t port = 0;
    udp_socket() {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~udp_socket() { ::close(fd); }
    void send_to(std::uint16_t to_port, int n) const {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(to_port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        char d[48] = {};
        for (int i = 0; i < n; ++i) ::sendto(fd, d, sizeof d, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
};

TEST(Capture, DefaultInterfaceIsNamed) {
    EXPECT_FALSE(default_capture_interface().empty());
}

TEST(Capture, LibraryCapturesOnItsOwnThreadWhileTrafficRuns) {
    if (!is_root()) GTEST_SKIP() << "capturing on lo needs root (CAP_NET_RAW): skipped";
    udp_socket sender, receiver;
    capture_options o;
    o.interface = "lo";
    o.filter = "udp dst port " + std::to_string(receiver.port);
    o.output_file = temp_path("lib.pcap");
    o.buffer_size = 32 << 20;
    std::error_code ec;
    auto cap = capture_session::open(o, ec);
    ASSERT_TRUE(cap) << ec.message();
    EXPECT_EQ(cap->interface(), "lo");
    std::atomic<int> seen{0};
    cap->start([&seen](const captured_packet& p) {
        if (p.wire_length > 0) ++seen;
    });
    EXPECT_TRUE(cap->running());
    sender.send_to(receiver.port, 25);
    for (int i = 0; i < 300 && cap->stats().captured < 25; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    auto s = cap->stop();
    EXPECT_FALSE(cap->running());
    EXPECT_EQ(s.captured, static_cast<std::uint64_t>(seen.load()));
    if (s.dropped_kernel == 0) {
        EXPECT_EQ(s.captured, 25u);
    }
    // The file is complete and inspect reads the datagrams the test sent.
    auto r = inspect_file(o.output_file, {}, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.packets, s.captured);
    EXPECT_EQ(totals_for_port(r, "udp", receiver.port).packets_to_port, s.captured);
    EXPECT_EQ(cap->stop(), s);  // idempotent
    fs::remove(o.output_file);
}

TEST(Capture, PacketLimitStopsTheThread) {
    if (!is_root()) GTEST_SKIP() << "capturing on lo needs root (CAP_NET_RAW): skipped";
    udp_socket sender, receiver;
    capture_options o;
    o.interface = "lo";
    o.filter = "udp dst port " + std::to_string(receiver.port);
    o.max_packets = 3;
    std::error_code ec;
    auto cap = capture_session::open(o, ec);
    ASSERT_TRUE(cap) << ec.message();
    cap->start();
    for (int i = 0; i < 100 && cap->running(); ++i) {
        sender.send_to(receiver.port, 2);
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    EXPECT_FALSE(cap->running());
    EXPECT_EQ(cap->stop().captured, 3u);
}

TEST(Capture, BadFilterIsAUsageError) {
    if (!is_root()) GTEST_SKIP() << "opening lo needs root: skipped";
    capture_options o;
    o.interface = "lo";
    o.filter = "port nonsense";
    std::error_code ec;
    EXPECT_FALSE(capture_session::open(o, ec));
    EXPECT_EQ(ec, make_error_code(errc::bad_argument));
    try {
        (void)capture_session::open(o);
        ADD_FAILURE() << "opened";
    } catch (const nettool::error& e) {
        EXPECT_EQ(e.code(), make_error_code(errc::bad_argument));
        EXPECT_NE(std::string{e.what()}.find("nonsense"), std::string::npos) << e.what();
    }
}

TEST(CaptureCli, SigtermLeavesAValidFileWithTheReportedCount) {
    if (!is_root()) GTEST_SKIP() << "capturing on lo needs root (CAP_NET_RAW): skipped";
    udp_socket sender, receiver;
    auto file = temp_path("cli.pcap");
    auto log = temp_path("cli.log");
    child cap{{NETTOOL_BIN, "capture", "-i", "lo", "-B", "32768", "-f",
               "udp dst port " + std::to_string(receiver.port), "-w", file},
              log};
    for (int i = 0; i < 200 && read_text(log).find("capturing on lo") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    ASSERT_NE(read_text(log).find("capturing on lo"), std::string::npos) << read_text(log);
    sender.send_to(receiver.port, 40);
    std::this_thread::sleep_for(std::chrono::milliseconds{300});
    EXPECT_EQ(cap.stop(), 0);
    auto said = read_text(log);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(said, m, std::regex{"(\\d+) packets captured"})) << said;
    auto reported = std::stoul(m[1]);
    EXPECT_GT(reported, 0u);
    if (said.find("\n0 packets dropped by kernel") != std::string::npos) {
        EXPECT_EQ(reported, 40u) << said;
    }
    auto r = run_process({"tcpdump", "-n", "-r", file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(static_cast<unsigned long>(std::count(r.out.begin(), r.out.end(), '\n')), reported) << r.err;
    fs::remove(file);
    fs::remove(log);
}

TEST(CaptureCli, LinesLikeTcpdumpAndCountLimit) {
    if (!is_root()) GTEST_SKIP() << "capturing on lo needs root (CAP_NET_RAW): skipped";
    udp_socket sender, receiver;
    auto log = temp_path("lines.log");
    child cap{{NETTOOL_BIN, "capture", "-i", "lo", "-c", "2", "-f",
               "udp dst port " + std::to_string(receiver.port)},
              log};
    for (int i = 0; i < 200 && read_text(log).find("capturing on lo") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    int status = -1;
    for (int i = 0; i < 100 && status < 0; ++i) {
        sender.send_to(receiver.port, 1);
        status = cap.wait_for(std::chrono::milliseconds{50});
    }
    EXPECT_EQ(status, 0) << read_text(log);
    auto out = read_text(log);
    std::string expect = "IP 127.0.0.1." + std::to_string(sender.port) + " > 127.0.0.1." +
                         std::to_string(receiver.port) + ": UDP, length 48";
    EXPECT_NE(out.find(expect), std::string::npos) << out;
    EXPECT_NE(out.find("2 packets captured"), std::string::npos) << out;
    fs::remove(log);
}

TEST(CaptureCli, DurationLimitEndsWithOneJsonDocument) {
    if (!is_root()) GTEST_SKIP() << "capturing on lo needs root (CAP_NET_RAW): skipped";
    udp_socket unused;
    auto start = std::chrono::steady_clock::now();
    auto r = run_nettool(
        {"capture", "-i", "lo", "-d", "0.3", "-f", "udp dst port " + std::to_string(unused.port), "--json"},
        std::chrono::seconds{20});
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds{10});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["command"], "capture");
    EXPECT_EQ(j["captured"], 0);
    EXPECT_EQ(j["interface"], "lo");
    EXPECT_TRUE(j["dropped_by_kernel"].is_number());
}

TEST(CaptureCli, ErrorsAreOneLine) {
    auto r = run_nettool({"capture", "-i", "nettool-no-such0", "-c", "1"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("nettool: capture: nettool-no-such0: ", 0), 0u) << r.err;

    if (is_root() && run_process({"sh", "-c", "command -v setpriv"}).exit_code == 0) {
        // Drop to nobody: no CAP_NET_RAW.
        auto np = run_process({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", NETTOOL_BIN,
                               "capture", "-i", "lo", "-c", "1"});
        if (np.exit_code == 127 || np.err.find("Permission denied") != std::string::npos) {
            GTEST_SKIP() << "nobody cannot run the binary here: " << np.err;
        }
        EXPECT_EQ(np.exit_code, 1) << np.err;
        EXPECT_EQ(std::count(np.err.begin(), np.err.end(), '\n'), 1) << np.err;
        EXPECT_NE(np.err.find("permission denied"), std::string::npos) << np.err;
    }
}

}  // namespace
