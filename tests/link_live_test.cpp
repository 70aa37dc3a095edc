// The link emulator with real traffic: nettool's own probes (and ping) cross the TUN devices
// between this namespace and the link's, and what they measure must match what was configured.
#include <nettool/link/emulator.hpp>

#include <nettool/packet/capture_file.hpp>
#include <nettool/packet/packet.hpp>
#include <nettool/probe/protocol.hpp>
#include <nettool/probe/responder.hpp>
#include <nettool/probe/tcp_probe.hpp>
#include <nettool/probe/udp_probe.hpp>

#include "support/link_test_lock.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <csignal>
#include <fstream>
#include <limits>
#include <thread>
#include <vector>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using nettool::histogram;
using nettool::socket_address;
namespace link = nettool::link;
using nettool::test::run_nettool;
using nettool::test::run_process;
using nettool::test::sh;

// The nettool devices and addresses on this host, to compare before and after.
std::string leftovers() {
    const auto r = run_process({"/bin/sh", "-c",
                                "ip -o link show | grep -o 'ntlink[0-9]*' | sort; "
                                "ip -o addr show | grep -oE '100\\.64\\.[0-9]+\\.[12]/30|2001:db8:6e74:[0-9a-f]*::[12]' | sort"});
    return r.out;
}

// The 99% two-sided binomial interval around p for n trials (normal approximation).
std::pair<double, double> binomial_99(double p, double n) {
    const double half = 2.576 * std::sqrt(p * (1 - p) / n);
    return {p - half, p + half};
}

class LinkLive : public ::testing::Test {
protected:
    void SetUp() override {
        if (!link::have_link_privileges()) GTEST_SKIP() << "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to build a link";
        if (::access("/dev/net/tun", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/net/tun on this machine";
        lock_.emplace();
        ASSERT_TRUE(lock_->held()) << "cannot lock /tmp/nettool-link-tests.lock";
        before_ = leftovers();
    }
    void TearDown() override {
        if (!lock_) return;
        em_.reset();
        responder_.reset();
        EXPECT_EQ(leftovers(), before_) << "the link left devices or addresses behind";
        lock_.reset();
    }

    // Starts the link and a responder on the host's end of it.
    void start(const link::link_config& cfg) {
        link::emulator_options o;
        o.link = cfg;
        start(o);
    }
    void start(const link::emulator_options& o) {
        em_ = link::emulator::start(o);
        const auto rc = nettool::own_probe_responder(em_->addresses().host_v4.to_string());
        std::error_code ec;
        responder_ = nettool::responder::start(rc, ec);
        ASSERT_FALSE(ec) << ec.message();
        target_ = socket_address::from_numeric(rc.bind_address, responder_->port(), ec);
        ASSERT_FALSE(ec) << ec.message();
    }

    // A UDP stream from inside the link to the responder, paced, one packet per datagram.
    nettool::udp_stream_result paced_stream(std::uint32_t size, double rate, std::chrono::seconds duration) {
        nettool::udp_stream_result r;
        em_->run_inside([&] {
            nettool::udp_stream_options o;
            o.size = size;
            o.rate = rate;
            o.duration = duration;
            o.gso = false;
            r = nettool::udp_stream_probe(target_, o);
        });
        return r;
    }

    // count of n within the 99% binomial interval around the configured probability p.
    static void expect_rate(double p, std::uint64_t count, std::uint64_t n) {
        const auto [lo, hi] = binomial_99(p, static_cast<double>(n));
        const double seen = static_cast<double>(count) / static_cast<double>(n);
        EXPECT_GE(seen, lo) << count << " of " << n;
        EXPECT_LE(seen, hi) << count << " of " << n;
    }

    std::optional<nettool::test::link_test_lock> lock_;
    std::string before_;
    std::unique_ptr<link::emulator> em_;
    std::unique_ptr<nettool::responder> responder_;
    socket_address target_;
};

// How late this machine wakes a thread from a 9.5 ms sleep, sampled while a test runs: on a
// shared VM the host's scheduler alone can add milliseconds, to every timer-driven forwarder.
class timer_noise {
public:
    timer_noise()
        : thread_([this] {
              while (!done_.load()) {
                  const auto t0 = std::chrono::steady_clock::now();
                  std::this_thread::sleep_for(9500us);
                  late_.record(std::chrono::steady_clock::now() - t0 - 9500us);
              }
          }) {}
    ~timer_noise() { stop(); }
    const histogram& stop() {
        done_.store(true);
        if (thread_.joinable()) thread_.join();
        return late_;
    }

private:
    std::atomic<bool> done_{false};
    histogram late_;
    std::thread thread_;
};

TEST_F(LinkLive, DelayAddsTwiceTheOneWayDelayToTheRoundTrip) {
    link::link_config cfg;
    cfg.uplink.delay = cfg.downlink.delay = 10ms;
    ASSERT_NO_FATAL_FAILURE(start(cfg));
    // The probe's own cost (both ends waking up) is what it measures on loopback in the same run.
    nettool::responder_config lc;
    lc.bind_address = "127.0.0.1";
    lc.port = 0;
    std::error_code ec;
    auto loop_responder = nettool::responder::start(lc, ec);
    ASSERT_FALSE(ec) << ec.message();
    nettool::udp_rr_options o;
    o.count = 200;
    // Up to three tries: the tail bound holds when the machine's own noise, measured beside the
    // probe, is the only other thing in the tail; a burst of load from a parallel test is not.
    nettool::udp_rr_result loopback, r;
    histogram late;
    for (int attempt = 0; attempt < 3; ++attempt) {
        timer_noise noise;
        loopback = nettool::udp_rr_probe(loop_responder->local_endpoint(), o);
        em_->run_inside([&] { r = nettool::udp_rr_probe(target_, o); });
        late = noise.stop();
        if (r.rtt.percentile(99) <= 21'000'000u + loopback.rtt.percentile(99) + 2 * late.percentile(99)) break;
    }
    ASSERT_EQ(r.error, "");
    ASSERT_EQ(r.received, 200u);
    ASSERT_EQ(loopback.received, 200u);
    EXPECT_GE(r.rtt.min(), 20'000'000u) << "a packet left the emulator before its delay";
    // The emulator's budget is 0.3 ms over the delay. The probe's two ends also pay, on this path
    // and not on loopback, for waking from a 20 ms sleep: what a 9.5 ms sleep costs here (p50).
    const auto wake = late.percentile(50);
    EXPECT_LE(r.rtt.percentile(50), 20'300'000u + loopback.rtt.percentile(50) + 2 * wake)
        << "timer lateness p50 here: " << wake << " ns";
    // The tail: 1 ms over the delay, plus what this machine's timers and the probe add anyway.
    EXPECT_LE(r.rtt.percentile(99), 21'000'000u + loopback.rtt.percentile(99) + 2 * late.percentile(99))
        << "timer lateness p99 here: " << late.percentile(99) << " ns";

    // ping, an independent measurer with no responder process (the kernel answers), agrees.
    const char* out = "/tmp/nettool-link-ping.txt";
    const int pid = em_->spawn_inside(
        {"/bin/sh", "-c", fmt::format("ping -n -c 50 -i 0.02 $NETTOOL_LINK_HOST > {}", out)});
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::ifstream in(out);
    std::vector<double> times;
    for (std::string line; std::getline(in, line);)
        if (const auto at = line.find("time="); at != std::string::npos) times.push_back(std::stod(line.substr(at + 5)));
    std::remove(out);
    ASSERT_EQ(WEXITSTATUS(status), 0) << "ping failed";
    ASSERT_EQ(times.size(), 50u);
    std::sort(times.begin(), times.end());
    EXPECT_GE(times.front(), 20.0);
    EXPECT_LE(times[times.size() / 2], 20.3 + static_cast<double>(wake) / 1e6);  // ping wakes once
}

TEST_F(LinkLive, UdpLossMatchesTheConfiguredRateAndTheLinkCountsIt) {
    link::link_config cfg;
    cfg.uplink.loss = 0.05;
    cfg.seed = 7;
    ASSERT_NO_FATAL_FAILURE(start(cfg));
    const auto r = paced_stream(200, 6000, 2s);
    ASSERT_EQ(r.error, "");
    ASSERT_GE(r.sent, 10'000u);
    ASSERT_TRUE(r.path_lost.has_value());
    expect_rate(0.05, *r.path_lost, r.sent);
    EXPECT_EQ(*r.receiver_dropped, 0u);
    const auto s = em_->stop();
    EXPECT_EQ(s.downlink.dropped(), 0u);
    // The emulator dropped what the application lost (the control connection's own segments
    // crossed it too, and TCP resent the ones it lost).
    EXPECT_GE(s.uplink.dropped_random, *r.path_lost);
    EXPECT_EQ(s.uplink.in, s.uplink.out + s.uplink.dropped());
}

TEST_F(LinkLive, RateCapsTcpGoodputJustUnderTheRate) {
    link::link_config cfg;
    cfg.uplink.rate_bps = cfg.downlink.rate_bps = 20'000'000;
    cfg.uplink.queue.max_packets = cfg.downlink.queue.max_packets = 100;
    ASSERT_NO_FATAL_FAILURE(start(cfg));
    nettool::tcp_stream_result r;
    em_->run_inside([&] {
        nettool::tcp_stream_options o;
        o.duration = 3s;
        r = nettool::tcp_stream_probe(target_, o);
    });
    ASSERT_EQ(r.error, "");
    // Goodput is the rate less the IP and TCP headers (40 bytes, 12 more of timestamps) of each
    // 1500-byte packet.
    const double ceiling = 20e6 * 1448.0 / 1500.0;
    EXPECT_LE(r.bits_per_second, ceiling * 1.005);
    EXPECT_GE(r.bits_per_second, ceiling * 0.95);
}

TEST_F(LinkLive, Iperf3GoodputIsTheRateLessHeadersAndNeverAbove) {
    // iperf3, a peer measurer, through a 100 Mbit/s link: its receiver's goodput is what 1500-byte
    // packets carry of the rate (1448 bytes of each), within 5%, and never above it.
    if (sh("command -v iperf3 >/dev/null") != 0) GTEST_SKIP() << "needs iperf3 (scripts/install-deps.sh --test)";
    link::link_config cfg;
    cfg.uplink.rate_bps = cfg.downlink.rate_bps = 100'000'000;
    cfg.uplink.queue.max_packets = cfg.downlink.queue.max_packets = 200;
    ASSERT_NO_FATAL_FAILURE(start(cfg));
    const auto port = nettool::test::free_port();
    const int server = em_->spawn_on_host(fmt::format("exec iperf3 -s -1 -B $NETTOOL_LINK_HOST -p {}", port));
    const std::string out = "/tmp/nettool-link-iperf3.json";
    double bps = 0;
    for (int attempt = 0; attempt < 3 && bps == 0; ++attempt) {
        std::this_thread::sleep_for(300ms);  // the server binds
        const int client = em_->spawn_inside(
            {"/bin/sh", "-c",
             fmt::format("iperf3 -c $NETTOOL_LINK_HOST -p {} -t 3 -C cubic -J > {}", port, out)});
        int status = 0;
        ::waitpid(client, &status, 0);
        std::ifstream in(out);
        const auto j = nlohmann::json::parse(in, nullptr, false);
        if (!j.is_discarded() && j.contains("end")) bps = j["end"]["sum_received"]["bits_per_second"].get<double>();
    }
    ::kill(-server, SIGKILL);
    ::waitpid(server, nullptr, 0);
    std::remove(out.c_str());
    ASSERT_GT(bps, 0) << "iperf3 did not run";
    const double ceiling = 100e6 * 1448.0 / 1500.0;
    EXPECT_LE(bps, ceiling * 1.005);
    EXPECT_GE(bps, ceiling * 0.95);
}

TEST_F(LinkLive, DroptailQueueHoldsItsSizeInDelay) {
    link::link_config cfg;
    cfg.uplink.rate_bps = 10'000'000;
    cfg.uplink.queue.max_packets = 50;
    ASSERT_NO_FATAL_FAILURE(start(cfg));
    em_->run_inside([&] {
        nettool::udp_stream_options o;
        o.size = 1472;  // a 1500-byte IP packet
        o.rate = 1700;  // twice what 10 Mbit/s carries
        o.duration = 2s;
        (void)nettool::udp_stream_probe(target_, o);
    });
    const auto s = em_->stop();
    const double expected = 50 * 1500 * 8 / 10e6 * 1e9;  // 60 ms
    const auto p50 = static_cast<double>(s.uplink.queue_delay.percentile(50));
    EXPECT_GE(p50, expected * 0.9);
    EXPECT_LE(p50, expected * 1.1);
    EXPECT_GT(s.uplink.dropped_queue_full, 0u);
}

TEST_F(LinkLive, DuplicatesReachTheApplicationAtTheConfiguredRate) {
    link::link_config cfg;
    cfg.uplink.duplicate = 0.02;
    cfg.seed = 11;
    ASSERT_NO_FATAL_FAILURE(start(cfg));
    const auto r = paced_stream(200, 6000, 2s);
    ASSERT_EQ(r.error, "");
    ASSERT_GE(r.sent, 10'000u);
    expect_rate(0.02, r.duplicates, r.sent);
    EXPECT_EQ(r.lost, 0u);
}

TEST_F(LinkLive, CorruptedPacketsFailTheirChecksumAndAreLost) {
    // One flipped bit is always caught by the IP or UDP checksum: the receiving kernel drops the
    // datagram, so the application sees corruption as loss (a bad UDP checksum is counted among
    // the receiving socket's drops, so the probe cannot tell it from a full buffer).
    link::link_config cfg;
    cfg.uplink.corrupt = 0.02;
    cfg.seed = 12;
    ASSERT_NO_FATAL_FAILURE(start(cfg));
    const auto r = paced_stream(200, 6000, 2s);
    ASSERT_EQ(r.error, "");
    ASSERT_GE(r.sent, 10'000u);
    expect_rate(0.02, r.lost, r.sent);
    EXPECT_GT(em_->stop().uplink.corrupted, 0u);
}

TEST_F(LinkLive, ReorderedPacketsOvertakeTheDelayedOnesInTheCapture) {
    // With 3 ms of delay and a datagram every 0.4 ms, a packet sent at once overtakes the ones
    // still in flight: in the order packets leave the emulator (its --capture), a reordered packet
    // is one that leaves before a packet with a lower sequence number.
    char path[] = "/tmp/nettool-link-reorder-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    link::emulator_options o;
    o.link.uplink.delay = 3ms;
    o.link.uplink.reorder = 0.02;
    o.link.seed = 13;
    o.capture_file = path;
    ASSERT_NO_FATAL_FAILURE(start(o));
    const auto r = paced_stream(200, 2500, 4s);
    ASSERT_EQ(r.error, "");
    const auto stats = em_->stop();
    ASSERT_FALSE(stats.capture_failed);

    auto file = nettool::capture_file::open(path);
    nettool::captured_packet p;
    std::vector<std::uint64_t> order;
    while (file.next(p)) {
        const auto d = nettool::decode(file.link_type(), p.data);
        if (!d.udp || d.udp->dst_port() != responder_->port()) continue;
        const auto h = nettool::proto::decode_udp_header(d.payload);
        if (h) order.push_back(h.value.seq);
    }
    std::remove(path);
    // From the end: a packet is ahead when a later one carries a lower sequence number.
    std::uint64_t descents = 0, lowest_after = std::numeric_limits<std::uint64_t>::max();
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        if (*it > lowest_after) ++descents;
        lowest_after = std::min(lowest_after, *it);
    }
    const std::uint64_t datagrams = order.size();
    ASSERT_GE(datagrams, 9'000u);
    EXPECT_EQ(datagrams, r.sent + r.duplicates);
    expect_rate(0.02, descents, datagrams);
    EXPECT_GT(r.out_of_order, 0u) << "the application saw no reordering";
}

TEST_F(LinkLive, CodelKeepsTheStandingQueueNearItsTarget) {
    // A TCP upload fills a 10 Mbit/s bottleneck; CoDel drops early so that packets wait about
    // its 5 ms target, where a 1000-packet droptail queue would hold 1.2 s.
    link::link_config cfg;
    cfg.uplink.rate_bps = 10'000'000;
    cfg.uplink.queue = link::parse_queue("codel");
    ASSERT_NO_FATAL_FAILURE(start(cfg));
    em_->run_inside([&] {
        nettool::tcp_stream_options o;
        o.duration = 4s;
        o.congestion_control = "cubic";
        (void)nettool::tcp_stream_probe(target_, o);
    });
    const auto s = em_->stop();
    EXPECT_GT(s.uplink.dropped_codel, 0u);
    EXPECT_LE(s.uplink.queue_delay.percentile(50), 15'000'000u);
    EXPECT_LE(s.uplink.queue_delay.percentile(99), 60'000'000u);
}

// The command line: exit status, faults, usage errors. Each leaves nothing behind.
class LinkCli : public LinkLive {};

TEST_F(LinkCli, ExitStatusIsTheCommandsAndTheEnvironmentNamesTheHost) {
    auto r = run_nettool({"link", "--delay", "1ms", "--", "/bin/sh", "-c",
                          "ping -n -q -c 1 -W 2 $NETTOOL_LINK_HOST >/dev/null && echo host=$NETTOOL_LINK_HOST; exit 7"});
    EXPECT_EQ(r.exit_code, 7) << r.err;
    EXPECT_NE(r.out.find("host=100.64."), std::string::npos) << r.out << r.err;
    EXPECT_NE(r.err.find("packets in"), std::string::npos) << r.err;

    r = run_nettool({"link", "--", "/bin/sh", "-c", "kill -SEGV $$"});
    EXPECT_EQ(r.exit_code, 128 + SIGSEGV) << r.err;
    r = run_nettool({"link", "--", "/nonexistent/program"});
    EXPECT_EQ(r.exit_code, 127) << r.err;
}

TEST_F(LinkCli, JsonReportCountsBothDirections) {
    const auto r = run_nettool({"--json", "link", "--seed", "3", "--", "/bin/sh", "-c",
                                "ping -n -q -c 5 -i 0.05 $NETTOOL_LINK_HOST >/dev/null"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["command"], "link");
    EXPECT_GE(j["stats"]["uplink"]["packets_out"].get<int>(), 5);
    EXPECT_GE(j["stats"]["downlink"]["packets_out"].get<int>(), 5);
    EXPECT_EQ(j["config"]["seed"], 3);
}

TEST_F(LinkCli, LogHasALinePerSecondAndCaptureIsReadableByTsharkAndInspect) {
    char dir[] = "/tmp/nettool-link-cli-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    const std::string log = std::string{dir} + "/link.log", pcap = std::string{dir} + "/link.pcap";
    const auto r = run_nettool({"link", "--delay", "1ms", "--log", log, "--capture", pcap, "--", "/bin/sh", "-c",
                                "ping -n -q -c 5 -i 0.5 $NETTOOL_LINK_HOST >/dev/null"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::ifstream in(log);
    int lines = 0;
    for (std::string line; std::getline(in, line); ++lines) {
        const auto j = nlohmann::json::parse(line);
        EXPECT_TRUE(j.contains("uplink") && j.contains("downlink")) << line;
    }
    EXPECT_GE(lines, 2);  // ping runs about 2 s
    EXPECT_LE(lines, 4);
    // What left the emulator: 5 echo requests up, 5 replies down, as tshark and inspect read it.
    if (sh("command -v tshark >/dev/null") == 0) {
        const auto t = run_process({"/bin/sh", "-c", "tshark -r " + pcap + " -Y icmp 2>/dev/null | wc -l"});
        EXPECT_EQ(std::stoi(t.out), 10) << t.out;
    }
    const auto inspect = run_nettool({"--json", "inspect", pcap});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_EQ(nlohmann::json::parse(inspect.out)["protocols"]["icmp"], 10) << inspect.out;
    sh(fmt::format("rm -rf {}", dir));
}

TEST_F(LinkCli, SigkillOfTheEmulatorLeavesNothingBehind) {
    nettool::test::background_process p({NETTOOL_BIN, "link", "--", "/bin/sleep", "30"});
    // Wait for the device to appear, then kill without warning.
    for (int i = 0; i < 100 && leftovers() == before_; ++i) std::this_thread::sleep_for(50ms);
    ASSERT_NE(leftovers(), before_) << "the link never came up";
    const auto r = p.stop(SIGKILL);
    EXPECT_EQ(r.exit_code, 128 + SIGKILL);
    for (int i = 0; i < 100 && leftovers() != before_; ++i) std::this_thread::sleep_for(50ms);
}

TEST_F(LinkCli, SigtermEndsTheCommandAndTheLink) {
    nettool::test::background_process p({NETTOOL_BIN, "link", "--", "/bin/sleep", "30"});
    for (int i = 0; i < 100 && leftovers() == before_; ++i) std::this_thread::sleep_for(50ms);
    const auto r = p.stop(SIGTERM);
    EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.err;  // sleep's own status: killed by the forwarded SIGTERM
}

TEST_F(LinkCli, TwoLinksAtOnceGetTheirOwnSubnets) {
    nettool::test::background_process a({NETTOOL_BIN, "link", "--", "/bin/sh", "-c",
                                         "echo $NETTOOL_LINK_HOST; sleep 2"});
    const auto b = run_nettool({"link", "--", "/bin/sh", "-c", "sleep 0.5; echo $NETTOOL_LINK_HOST"});
    const auto ra = a.stop(SIGTERM);  // a is still sleeping; it ends through the forwarded signal
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_NE(ra.out, "");
    EXPECT_NE(ra.out, b.out) << "two links share a subnet";
}

TEST_F(LinkCli, ImpossibleOptionsAreOneLineUsageErrors) {
    char trace[] = "/tmp/nettool-trace-XXXXXX";
    const int fd = ::mkstemp(trace);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "5\n10\n7\n", 7), 7);
    ::close(fd);
    const std::vector<std::vector<std::string>> cases = {
        {"link", "--loss", "150%", "--", "true"},
        {"link", "--delay", "-5ms", "--", "true"},
        {"link", "--rate", "10zbit", "--", "true"},
        {"link", "--uplink-trace", trace, "--", "true"},
        {"link", "--queue", "droptail:packets=0x", "--", "true"},
    };
    for (const auto& args : cases) {
        const auto r = run_nettool(args);
        EXPECT_EQ(r.exit_code, 2) << args[1] << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_NE(r.err.find(args[1] + ":"), std::string::npos) << "the message names another option: " << r.err;
    }
    std::remove(trace);
}

}  // namespace
