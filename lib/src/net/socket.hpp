#pragma once
// Private POSIX socket helpers for the probes: RAII descriptors and waits with deadlines.
// Every wait here has a deadline; every failure is a std::error_code (system category).

#include <nettool/core/export.hpp>
#include <nettool/core/clock.hpp>
#include <nettool/net/endpoint.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <utility>

// Exported for tests and benchmarks only (see nettool/core/export.hpp); not public API.
NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

class unique_fd {
public:
    unique_fd() noexcept = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    void reset() noexcept;

private:
    int fd_ = -1;
};

/// What the kernel says about a TCP connection (TCP_INFO).
struct tcp_info_snapshot {
    std::uint32_t rtt_us = 0;
    std::uint32_t rttvar_us = 0;
    std::uint32_t total_retrans = 0;  ///< segments retransmitted over the connection's life
    std::uint32_t snd_cwnd = 0;       ///< congestion window, segments
    std::uint32_t snd_mss = 0;
    std::array<char, 16> congestion{};  ///< TCP_CONGESTION: the algorithm's name, NUL-terminated
    bool valid = false;
};
tcp_info_snapshot read_tcp_info(int fd) noexcept;

/// Non-blocking connect with a deadline; the socket is left non-blocking. ec: the connect error
/// (ECONNREFUSED, ENETUNREACH, ...) or errc::timed_out. When handshake is given it receives the
/// time from the connect() call to the connection being usable: the three-way handshake as the
/// application sees it, without creating the socket.
unique_fd tcp_connect(const socket_address& to, mono_clock::time_point deadline, std::error_code& ec,
                      std::chrono::nanoseconds* handshake = nullptr) noexcept;

/// The local address and port the kernel gave fd (getsockname); empty on failure.
socket_address local_address(int fd) noexcept;

/// Blocking connect bounded by timeout (SO_SNDTIMEO): the fewest system calls, for connect-rate
/// probes. The socket is left blocking. ec: the connect error or errc::timed_out. handshake: as
/// for tcp_connect.
unique_fd tcp_connect_blocking(const socket_address& to, std::chrono::nanoseconds timeout, std::error_code& ec,
                               std::chrono::nanoseconds* handshake = nullptr) noexcept;

/// Makes fd blocking with kernel send/receive timeouts: a request/response loop then costs one
/// system call per send and per receive. write_all/read_exact still enforce their deadlines.
void make_blocking(int fd, std::chrono::nanoseconds timeout) noexcept;

/// A non-blocking UDP socket connected to to.
unique_fd udp_connect(const socket_address& to, std::error_code& ec) noexcept;

/// Waits until fd is readable/writable or the deadline passes (ec = timed_out).
bool wait_readable(int fd, mono_clock::time_point deadline, std::error_code& ec) noexcept;
bool wait_writable(int fd, mono_clock::time_point deadline, std::error_code& ec) noexcept;

/// Writes all of data (non-blocking fd), waiting as needed until deadline.
bool write_all(int fd, std::span<const std::byte> data, mono_clock::time_point deadline,
               std::error_code& ec) noexcept;
/// Reads exactly out.size() bytes; a clean end of stream first gives std::errc::connection_aborted.
bool read_exact(int fd, std::span<std::byte> out, mono_clock::time_point deadline,
                std::error_code& ec) noexcept;

/// Ends a TCP connection the orderly way: sends FIN, then reads (and discards) until the peer's
/// FIN or the deadline, so the peer has closed its side before this returns.
void close_gracefully(int fd, mono_clock::time_point deadline) noexcept;

/// Sets an int socket option, ignoring failures that only cost performance.
void set_int_option(int fd, int level, int name, int value) noexcept;

}  // namespace nettool::detail
NETTOOL_TESTING_API_END
