#pragma once
// Test helpers for nettool's iperf3 server: Debian's `iperf3 -c` run against it (its -J document
// parsed), a raw control connection that says exactly what a test tells it to, and a log sink.

#include "support/process.hpp"

#include <nettool/iperf3/control.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nettool::test {

/// `iperf3 -c 127.0.0.1 -p PORT -t 1 -J EXTRA...`: its exit status, and its -J document when it
/// printed one.
struct iperf3_run {
    process_result proc;
    nlohmann::json doc;
    bool ok() const { return proc.exit_code == 0 && doc.is_object() && !doc.contains("error"); }
};
inline iperf3_run run_iperf3_client(std::uint16_t port, const std::vector<std::string>& extra,
                                    std::chrono::seconds timeout = std::chrono::seconds{30}) {
    std::vector<std::string> argv{"/usr/bin/iperf3", "-c", "127.0.0.1", "-p", std::to_string(port), "-J"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    iperf3_run r;
    r.proc = run_process(argv, timeout);
    r.doc = nlohmann::json::parse(r.proc.out, nullptr, false);
    return r;
}

/// The log lines a server wrote, collected from its callback (any thread).
class log_sink {
public:
    void add(std::string_view line) {
        std::lock_guard lock{mu_};
        lines_.emplace_back(line);
        cv_.notify_all();
    }
    /// Waits up to timeout for a line containing words; true when one came.
    bool wait_for(std::string_view words, std::chrono::milliseconds timeout = std::chrono::milliseconds{5000}) {
        std::unique_lock lock{mu_};
        return cv_.wait_for(lock, timeout, [&] {
            return std::any_of(lines_.begin(), lines_.end(),
                               [&](const std::string& l) { return l.find(words) != std::string::npos; });
        });
    }
    std::string all() {
        std::lock_guard lock{mu_};
        std::string s;
        for (const auto& l : lines_) s += l + "\n";
        return s;
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::string> lines_;
};

/// A raw TCP connection to 127.0.0.1:port that plays an iperf3 client's part byte by byte.
class raw_control {
public:
    explicit raw_control(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    ~raw_control() {
        if (fd_ >= 0) ::close(fd_);
    }
    raw_control(const raw_control&) = delete;
    raw_control& operator=(const raw_control&) = delete;

    bool connected() const { return connected_; }
    bool send(std::string_view bytes) {
        return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
    }
    bool send_byte(std::uint8_t b) { return send(std::string_view{reinterpret_cast<const char*>(&b), 1}); }
    bool send_length(std::uint32_t n) {
        const std::array<char, 4> b{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                                    static_cast<char>(n)};
        return send({b.data(), b.size()});
    }
    bool send_message(std::string_view json) {
        return send_length(static_cast<std::uint32_t>(json.size())) && send(json);
    }
    /// The next byte, -1 at end of stream (or a reset), -2 when nothing came within timeout.
    int read_byte(std::chrono::milliseconds timeout = std::chrono::milliseconds{3000}) {
        pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -2;
        unsigned char c = 0;
        const auto n = ::recv(fd_, &c, 1, 0);
        return n == 1 ? c : -1;
    }
    /// Reads until end of stream (or timeout); what came.
    std::string read_to_end(std::chrono::milliseconds timeout = std::chrono::milliseconds{3000}) {
        std::string s;
        for (;;) {
            pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
            if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return s;
            char buf[512];
            const auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) return s;
            s.append(buf, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_ = -1;
    bool connected_ = false;
};

/// A cookie as iperf3 makes them (36 characters of [a-z2-7] and a NUL).
inline std::string cookie() {
    return iperf3::make_cookie();
}

}  // namespace nettool::test
