#pragma once
// Test helper: tcpdump on lo as an oracle. Starts it with a filter, waits until it listens, and
// on finish() stops it and says how many packets the kernel dropped, so a test that needs every
// packet fails on a lossy capture with that reason instead of with a wrong result.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child.hpp"
#include "files.hpp"
#include "process.hpp"

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
    std::string log() const { return read_text(log_); }

    /// The bytes the first TCP connection from `port` in the capture carried, in stream order,
    /// each byte once: tshark reads the file, and a segment sent again (a retransmission on a
    /// loaded machine) adds only the bytes past what came before it.
    std::vector<unsigned char> stream_from(std::uint16_t port) const {
        const auto out = run_process({"/usr/bin/tshark", "-r", pcap_.string(), "-Y",
                                      "tcp.srcport==" + std::to_string(port) + " && tcp.len>0", "-T", "fields", "-e",
                                      "tcp.stream", "-e", "tcp.seq", "-e", "tcp.payload"},
                                     std::chrono::seconds{60})
                             .out;
        std::istringstream in{out};
        std::string stream, first, hex;
        std::uint64_t seq = 0, next = 0;
        std::vector<unsigned char> bytes;
        while (in >> stream >> seq >> hex) {
            if (first.empty()) {
                first = stream;
                next = seq;
            }
            if (stream != first) continue;
            const std::uint64_t len = hex.size() / 2;
            if (seq + len <= next) continue;  // all of it came before
            for (std::uint64_t i = next > seq ? next - seq : 0; i < len; ++i)
                bytes.push_back(static_cast<unsigned char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16)));
            next = seq + len;
        }
        return bytes;
    }

private:
    std::filesystem::path pcap_;
    std::filesystem::path log_;
    child dump_;
};

}  // namespace nettool::test
