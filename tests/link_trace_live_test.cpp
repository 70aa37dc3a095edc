// A mahimahi delivery trace with real traffic: a TCP stream from the link's namespace to a
// responder on the host's end crosses data/links/12mbit.trace in the uplink, and its goodput is
// what the trace lets through. The same pattern as link_live_test.cpp: root only, one link test
// at a time (the shared lock file), nothing left behind.
#include <nettool/link/emulator.hpp>

#include <nettool/probe/responder.hpp>
#include <nettool/probe/tcp_probe.hpp>

#include "support/link_test_lock.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <optional>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using nettool::socket_address;
namespace link = nettool::link;
using nettool::test::run_process;

// What is left on this host of the link whose host-side device is `device` with address
// `address`: the device and the address, each on a line; empty when the kernel removed both.
// (Only this link's: on a shared machine someone may be running `nettool link` by hand, outside
// the tests' lock, and their devices are not this test's leftovers.)
std::string leftovers(const std::string& device, const std::string& address) {
    const auto r = run_process({"/bin/sh", "-c",
                                "ip -o link show | grep -ow '" + device + "'; ip -o addr show | grep -oF '" +
                                    address + "/'"});
    return r.out;
}

std::string trace_path(const char* name) {
    return (std::filesystem::path{NETTOOL_SOURCE_DIR} / "data" / "links" / name).string();
}

class LinkTraceLive : public ::testing::Test {
protected:
    void SetUp() override {
        if (!link::have_link_privileges()) GTEST_SKIP() << "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to build a link";
        if (::access("/dev/net/tun", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/net/tun on this machine";
        lock_.emplace();
        ASSERT_TRUE(lock_->held()) << "cannot lock /tmp/nettool-link-tests.lock";
    }
    void TearDown() override {
        if (!lock_) return;
        stop();
        lock_.reset();
    }

    // Starts the link and a responder on the host's end of it.
    void start(const link::link_config& cfg) {
        link::emulator_options o;
        o.link = cfg;
        em_ = link::emulator::start(o);
        device_ = em_->addresses().host_interface;
        address_ = em_->addresses().host_v4.to_string();
        const auto rc = nettool::own_probe_responder(em_->addresses().host_v4.to_string());
        std::error_code ec;
        responder_ = nettool::responder::start(rc, ec);
        ASSERT_FALSE(ec) << ec.message();
        target_ = socket_address::from_numeric(rc.bind_address, responder_->port(), ec);
        ASSERT_FALSE(ec) << ec.message();
    }
    // Ends the link and the responder; the kernel must have removed the link's device and address.
    void stop() {
        em_.reset();
        responder_.reset();
        if (!device_.empty()) {
            EXPECT_EQ(leftovers(device_, address_), "") << "the link left its device or address behind";
        }
        device_.clear();
    }

    std::optional<nettool::test::link_test_lock> lock_;
    std::string device_;
    std::string address_;
    std::unique_ptr<link::emulator> em_;
    std::unique_ptr<nettool::responder> responder_;
    socket_address target_;
};

TEST_F(LinkTraceLive, TcpGoodputOverTheTwelveMbitTraceIsTheTracesRateLessHeaders) {
    link::link_config cfg;
    cfg.uplink.trace_ms = link::load_trace(trace_path("12mbit.trace"));
    cfg.uplink.queue.max_packets = 100;
    // One 1500-byte packet per opportunity, 1000 per second; each carries 1448 bytes of payload
    // (20 IP + 20 TCP + 12 of timestamps). The trace is a hard ceiling: never above it.
    const double ceiling = 12e6 * 1448.0 / 1500.0;
    // A window of D ms holds at most floor(D) + 1 opportunities (one at each end may fall inside),
    // so the most a measured window can carry is that many full packets, not exactly the rate.
    const auto most_in_window = [](double seconds) {
        return (std::floor(seconds * 1000.0) + 1.0) * 1448.0 * 8.0 / seconds;
    };
    nettool::tcp_stream_result r;
    // Traffic through the emulator on a shared machine: up to three tries for the lower bound.
    for (int attempt = 1; attempt <= 3; ++attempt) {
        ASSERT_NO_FATAL_FAILURE(start(cfg));
        em_->run_inside([&] {
            nettool::tcp_stream_options o;
            o.duration = 3s;
            r = nettool::tcp_stream_probe(target_, o);
        });
        const auto s = em_->stop();
        stop();
        ASSERT_EQ(r.error, "");
        EXPECT_EQ(s.uplink.dropped_no_buffer, 0u);
        std::fprintf(stderr, "attempt %d: goodput %.0f bit/s, %.2f%% of %.0f\n", attempt, r.bits_per_second,
                     100 * r.bits_per_second / ceiling, ceiling);
        ASSERT_GT(r.seconds, 0.0);
        ASSERT_LE(r.bits_per_second, most_in_window(r.seconds))
            << "faster than the trace allows over " << r.seconds << " s (attempt " << attempt << ")";
        if (r.bits_per_second >= ceiling * 0.95) break;
    }
    EXPECT_GE(r.bits_per_second, ceiling * 0.95);
}

}  // namespace
