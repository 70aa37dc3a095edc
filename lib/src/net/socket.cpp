#include "net/socket.hpp"

#include <nettool/core/error.hpp>

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nettool::detail {

namespace {
std::error_code last_error() noexcept {
    return {errno, std::system_category()};
}

int ms_until(mono_clock::time_point deadline) noexcept {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - mono_clock::now());
    if (left.count() <= 0) return 0;
    return left.count() > 60'000 ? 60'000 : static_cast<int>(left.count());
}

bool wait_for(int fd, short events, mono_clock::time_point deadline, std::error_code& ec) noexcept {
    for (;;) {
        pollfd p{fd, events, 0};
        const int ms = ms_until(deadline);
        const int n = ::poll(&p, 1, ms);
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) {
            ec = last_error();
            return false;
        }
        if (n == 0 && mono_clock::now() >= deadline) {
            ec = make_error_code(errc::timed_out);
            return false;
        }
    }
}
}  // namespace

void unique_fd::reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

tcp_info_snapshot read_tcp_info(int fd) noexcept {
    tcp_info ti{};
    socklen_t len = sizeof ti;
    tcp_info_snapshot s;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return s;
    s.rtt_us = ti.tcpi_rtt;
    s.rttvar_us = ti.tcpi_rttvar;
    s.total_retrans = ti.tcpi_total_retrans;
    s.snd_cwnd = ti.tcpi_snd_cwnd;
    s.snd_mss = ti.tcpi_snd_mss;
    socklen_t cc_len = sizeof s.congestion - 1;  // keeps the last byte NUL
    if (::getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, s.congestion.data(), &cc_len) != 0) s.congestion[0] = '\0';
    s.valid = true;
    return s;
}

void set_int_option(int fd, int level, int name, int value) noexcept {
    (void)::setsockopt(fd, level, name, &value, sizeof value);
}

unique_fd tcp_connect(const socket_address& to, mono_clock::time_point deadline, std::error_code& ec,
                      std::chrono::nanoseconds* handshake) noexcept {
    ec.clear();
    unique_fd fd{::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP)};
    if (!fd) {
        ec = last_error();
        return {};
    }
    const auto t0 = mono_clock::now();
    if (::connect(fd.get(), to.data(), to.size()) != 0) {
        if (errno != EINPROGRESS) {
            ec = last_error();
            return {};
        }
        if (!wait_writable(fd.get(), deadline, ec)) return {};
    }
    const auto t1 = mono_clock::now();
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
        ec = {err, std::system_category()};
        return {};
    }
    if (handshake != nullptr) *handshake = t1 - t0;
    return fd;
}

socket_address local_address(int fd) noexcept {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
    return socket_address::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
}

namespace {
timeval to_timeval(std::chrono::nanoseconds d) noexcept {
    // Rounded up: a timeval of zero means "wait forever" to SO_RCVTIMEO, so 1 ns must become 1 us.
    if (d <= std::chrono::nanoseconds{0}) d = std::chrono::microseconds{1};
    const auto us = std::chrono::ceil<std::chrono::microseconds>(d).count();
    return {static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
}
}  // namespace

unique_fd tcp_connect_blocking(const socket_address& to, std::chrono::nanoseconds timeout, std::error_code& ec,
                               std::chrono::nanoseconds* handshake) noexcept {
    ec.clear();
    unique_fd fd{::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP)};
    if (!fd) {
        ec = last_error();
        return {};
    }
    const timeval tv = to_timeval(timeout);
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const auto t0 = mono_clock::now();
    while (::connect(fd.get(), to.data(), to.size()) != 0) {
        if (errno == EINTR) continue;
        // A blocking connect cut short by SO_SNDTIMEO reports EINPROGRESS.
        ec = (errno == EINPROGRESS || errno == EAGAIN) ? make_error_code(errc::timed_out) : last_error();
        return {};
    }
    if (handshake != nullptr) *handshake = mono_clock::now() - t0;
    return fd;
}

void make_blocking(int fd, std::chrono::nanoseconds timeout) noexcept {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) (void)::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    const timeval tv = to_timeval(timeout);
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

unique_fd udp_connect(const socket_address& to, std::error_code& ec) noexcept {
    ec.clear();
    unique_fd fd{::socket(to.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP)};
    if (!fd) {
        ec = last_error();
        return {};
    }
    if (::connect(fd.get(), to.data(), to.size()) != 0) {
        ec = last_error();
        return {};
    }
    return fd;
}

bool wait_readable(int fd, mono_clock::time_point deadline, std::error_code& ec) noexcept {
    return wait_for(fd, POLLIN, deadline, ec);
}

bool wait_writable(int fd, mono_clock::time_point deadline, std::error_code& ec) noexcept {
    return wait_for(fd, POLLOUT, deadline, ec);
}

bool write_all(int fd, std::span<const std::byte> data, mono_clock::time_point deadline,
               std::error_code& ec) noexcept {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_writable(fd, deadline, ec)) return false;
            continue;
        }
        ec = last_error();
        return false;
    }
    return true;
}

void close_gracefully(int fd, mono_clock::time_point deadline) noexcept {
    if (::shutdown(fd, SHUT_WR) != 0) return;
    std::array<std::byte, 512> sink{};
    for (;;) {
        const ssize_t n = ::recv(fd, sink.data(), sink.size(), MSG_DONTWAIT);
        if (n == 0) return;
        if (n > 0 || errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return;
        std::error_code ec;
        if (!wait_readable(fd, deadline, ec)) return;
    }
}

// Reads exactly out.size() bytes. A clean end of stream before that is reported as
// std::errc::connection_aborted so callers can tell it from a timeout.
bool read_exact(int fd, std::span<std::byte> out, mono_clock::time_point deadline,
                std::error_code& ec) noexcept {
    std::size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::recv(fd, out.data() + done, out.size() - done, 0);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n == 0) {
            ec = std::make_error_code(std::errc::connection_aborted);
            return false;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait_readable(fd, deadline, ec)) return false;
            continue;
        }
        ec = last_error();
        return false;
    }
    return true;
}

}  // namespace nettool::detail
