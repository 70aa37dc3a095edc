#include "probe/stream_loop.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>

#include <pthread.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nettool::detail {

using namespace std::chrono_literals;

stream_layout layout_streams(stream_direction d, unsigned parallel) noexcept {
    return {.per_direction = std::clamp(parallel, 1u, 128u),
            .up = d != stream_direction::download,
            .down = d != stream_direction::upload};
}

namespace {

// sendfile(2) takes no MSG_NOSIGNAL: a write to a connection the peer reset raises SIGPIPE, which
// kills a process that has not ignored it (nettool ignores it; a program using the library may
// not). The sending thread blocks SIGPIPE while it sends, and takes a SIGPIPE it raised itself
// before it unblocks it.
class sigpipe_blocked {
public:
    sigpipe_blocked() noexcept {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
        blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0;
    }
    ~sigpipe_blocked() {
        if (!blocked_) return;
        sigset_t pending;
        if (!was_pending_ && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
            const timespec now{};
            while (sigtimedwait(&pipe_, nullptr, &now) < 0 && errno == EINTR) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    sigpipe_blocked(const sigpipe_blocked&) = delete;
    sigpipe_blocked& operator=(const sigpipe_blocked&) = delete;

private:
    sigset_t pipe_{}, old_{};
    bool was_pending_ = false, blocked_ = false;
};

}  // namespace

stream_payload::stream_payload(std::size_t size) : bytes_(size, std::byte{0x5a}) {
    if (bytes_.empty()) return;
    unique_fd f{::memfd_create("nettool-payload", MFD_CLOEXEC)};
    if (!f) return;
    for (std::size_t done = 0; done < bytes_.size();) {
        const ssize_t n = ::write(f.get(), bytes_.data() + done, bytes_.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // no memfd: send() from bytes_
        done += static_cast<std::size_t>(n);
    }
    file_ = std::move(f);
}

int send_until(int fd, const stream_payload& payload, mono_clock::time_point end,
               std::chrono::nanoseconds timeout, stream_counter& counter, std::uint64_t& sent,
               const std::atomic<bool>* stop) noexcept {
    std::error_code ec;
    const auto buf = payload.bytes();
    int file = payload.file();
    const sigpipe_blocked no_sigpipe;
    for (;;) {
        const auto now = mono_clock::now();
        if (now >= end || (stop && stop->load(std::memory_order_relaxed))) return 0;
        off_t from = 0;  // every call sends the payload from its start: the bytes are all alike
        const ssize_t n = file >= 0 ? ::sendfile(fd, file, &from, buf.size())
                                    : ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::uint64_t>(n);
            counter.bytes.store(sent, std::memory_order_relaxed);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && file >= 0 && (errno == EINVAL || errno == ENOSYS)) {  // no sendfile to this socket
            file = -1;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_writable(fd, std::min(end, now + timeout), ec) && ec != errc::timed_out) return 0;
            continue;
        }
        return n < 0 ? errno : EPIPE;
    }
}

receive_end receive_until(int fd, std::span<std::byte> buf, mono_clock::time_point hard_end,
                          std::chrono::nanoseconds timeout, stream_counter& counter, std::uint64_t& received,
                          mono_clock::time_point& last_byte, int& err,
                          const std::atomic<bool>* stop) noexcept {
    std::error_code ec;
    last_byte = mono_clock::now();
    int discard = MSG_TRUNC;
    for (;;) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), discard);
        if (n > 0) {
            received += static_cast<std::uint64_t>(n);
            counter.bytes.store(received, std::memory_order_relaxed);
            last_byte = mono_clock::now();
            continue;
        }
        if (n == 0) return receive_end::closed;
        if (errno == EINTR) continue;
        if (discard != 0 && (errno == EINVAL || errno == EOPNOTSUPP)) {  // no discarding read here
            discard = 0;
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (stop && stop->load(std::memory_order_relaxed)) return receive_end::stopped;
            const auto now = mono_clock::now();
            if (now >= hard_end || now - last_byte >= timeout) return receive_end::stalled;
            // Short waits, so a stop is seen within 100 ms.
            wait_readable(fd, std::min({hard_end, last_byte + timeout, now + 100ms}), ec);
            continue;
        }
        if (errno == ECONNRESET) return receive_end::reset;
        err = errno;
        return receive_end::failed;
    }
}

void sample(kernel_tcp_view& k, const tcp_info_snapshot& t, double& rtt_sum) {
    if (!t.valid) return;
    ++k.connections;
    k.retransmits += t.total_retrans;
    rtt_sum += t.rtt_us;
    k.rtt_us = rtt_sum / static_cast<double>(k.connections);
    k.cwnd_segments = std::max(k.cwnd_segments, t.snd_cwnd);
    if (k.congestion_control.empty()) k.congestion_control = t.congestion.data();
}

}  // namespace nettool::detail
