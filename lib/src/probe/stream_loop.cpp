#include "probe/stream_loop.hpp"

#include <algorithm>
#include <cerrno>

#include <sys/socket.h>

namespace nettool::detail {

using namespace std::chrono_literals;

stream_layout layout_streams(stream_direction d, unsigned parallel) noexcept {
    return {.per_direction = std::clamp(parallel, 1u, 128u),
            .up = d != stream_direction::download,
            .down = d != stream_direction::upload};
}

int send_until(int fd, std::span<const std::byte> buf, mono_clock::time_point end,
               std::chrono::nanoseconds timeout, stream_counter& counter, std::uint64_t& sent,
               const std::atomic<bool>* stop) noexcept {
    std::error_code ec;
    for (;;) {
        const auto now = mono_clock::now();
        if (now >= end || (stop && stop->load(std::memory_order_relaxed))) return 0;
        const ssize_t n = ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::uint64_t>(n);
            counter.bytes.store(sent, std::memory_order_relaxed);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
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
    for (;;) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n > 0) {
            received += static_cast<std::uint64_t>(n);
            counter.bytes.store(received, std::memory_order_relaxed);
            last_byte = mono_clock::now();
            continue;
        }
        if (n == 0) return receive_end::closed;
        if (errno == EINTR) continue;
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
