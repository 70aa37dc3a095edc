#pragma once
// Test helper: Debian's iperf3 server on a free loopback port, for one test (-1) or many, its
// output in a log file (with json = true, its -J document); stopped and reaped when the object
// goes away, also when the test fails.

#include "support/child.hpp"
#include "support/files.hpp"
#include "support/process.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace nettool::test {

/// The state bytes in what an iperf3 server sent on its control connection, in order; the
/// results message that follows EXCHANGE_RESULTS (13) is skipped.
inline std::vector<int> iperf3_states(const std::vector<unsigned char>& bytes) {
    std::vector<int> states;
    for (std::size_t i = 0; i < bytes.size();) {
        const int s = static_cast<signed char>(bytes[i++]);
        states.push_back(s);
        if (s == 13 && i + 4 <= bytes.size()) {
            const std::size_t len = (std::size_t{bytes[i]} << 24) | (std::size_t{bytes[i + 1]} << 16) |
                                    (std::size_t{bytes[i + 2]} << 8) | bytes[i + 3];
            i += 4 + len;
        }
    }
    return states;
}

/// True when a TCP socket listens on 127.0.0.1:port (read from /proc/net/tcp, so nothing
/// connects to the server: an iperf3 -s -1 would count a probe connection as its one test).
inline bool listening(std::uint16_t port) {
    std::ifstream in{"/proc/net/tcp"};
    std::string line;
    char want[32];
    std::snprintf(want, sizeof want, "0100007F:%04X", port);
    while (std::getline(in, line))
        if (line.find(want) != std::string::npos && line.find(" 0A ") != std::string::npos) return true;
    return false;
}

inline bool have_iperf3() {
    return std::filesystem::exists("/usr/bin/iperf3");
}

class iperf3_server {
public:
    /// iperf3 -s -B 127.0.0.1 -p PORT [-1] [-J --logfile LOG] EXTRA...; waits up to 5 s until it listens.
    explicit iperf3_server(bool one_off, bool json = false, const std::vector<std::string>& extra = {}) {
        port_ = free_port();
        log_ = (std::filesystem::temp_directory_path() /
                ("nettool-iperf3-" + std::to_string(::getpid()) + "-" + std::to_string(port_) + ".log"))
                   .string();
        std::vector<std::string> argv{"iperf3", "-s", "-B", "127.0.0.1", "-p", std::to_string(port_)};
        if (one_off) argv.push_back("-1");
        if (json) argv.insert(argv.end(), {"-J", "--logfile", log_});
        argv.insert(argv.end(), extra.begin(), extra.end());
        proc_.start(argv, json ? log_ + ".out" : log_);
        for (int i = 0; i < 500 && !listening(port_); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    ~iperf3_server() {
        proc_.stop();
        std::filesystem::remove(log_);
        std::filesystem::remove(log_ + ".out");
    }
    iperf3_server(const iperf3_server&) = delete;
    iperf3_server& operator=(const iperf3_server&) = delete;

    std::uint16_t port() const { return port_; }
    std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
    bool ready() const { return listening(port_); }
    /// Waits up to timeout for a -1 server to exit after its test; its exit status, or -1.
    int wait_exit(std::chrono::milliseconds timeout) { return proc_.wait_for(timeout); }
    /// What it wrote (its -J document when json was set).
    std::string log() const { return read_text(log_); }

private:
    std::uint16_t port_ = 0;
    std::string log_;
    child proc_;
};

}  // namespace nettool::test
