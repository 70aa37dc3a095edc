#pragma once
// Test helper: tcpdump on lo as an oracle. Starts it with a filter, waits until it listens, and
// on finish() stops it and says how many packets the kernel dropped, so a test that needs every
// packet fails on a lossy capture with that reason instead of with a wrong result.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "child.hpp"

namespace nettool::test {

/// A BPF expression true for IPv4 TCP segments that carry a payload (bare ACKs excluded).
inline constexpr const char* tcp_with_payload =
    "(tcp and (ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) > 0)";

class loopback_capture {
public:
    loopback_capture(std::filesystem::path pcap, const std::string& filter)
        : pcap_{std::move(pcap)}, log_{pcap_.string() + ".log"} {
        dump_.start({"tcpdump", "-i", "lo", "-n", "-U", "--immediate-mode", "-B", "32768", "-w", pcap_.string(),
                     filter},
                    log_.string());
        for (int i = 0; i < 500 && !ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    ~loopback_capture() {
        dump_.stop();
        std::error_code ec;
        std::filesystem::remove(pcap_, ec);
        std::filesystem::remove(log_, ec);
    }
    loopback_capture(const loopback_capture&) = delete;
    loopback_capture& operator=(const loopback_capture&) = delete;

    /// True once tcpdump said it is listening.
    bool ready() const { return log().find("listening on") != std::string::npos; }
    /// Waits for the last packets to reach the file, stops tcpdump and returns true if the
    /// kernel dropped none of them. The file stays until the object goes away.
    bool finish() {
        std::this_thread::sleep_for(std::chrono::milliseconds{300});
        dump_.stop();
        return log().find("\n0 packets dropped by kernel") != std::string::npos;
    }
    const std::filesystem::path& file() const { return pcap_; }
    /// What tcpdump printed (its counts after finish()).
    std::string log() const {
        std::ifstream in{log_};
        return {std::istreambuf_iterator<char>{in}, {}};
    }

private:
    std::filesystem::path pcap_;
    std::filesystem::path log_;
    child dump_;
};

}  // namespace nettool::test
