#pragma once
// What every TCP stream test (nettool's own, iperf3's) does on its data sockets: the layout of the
// streams, what they send, the send and receive loops (no allocation, no formatting, one relaxed
// store per call), and folding each sending socket's TCP_INFO into a kernel_tcp_view.

#include <nettool/core/clock.hpp>
#include <nettool/core/export.hpp>
#include <nettool/probe/stream_interval.hpp>
#include <nettool/probe/tcp_probe.hpp>

#include "net/socket.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

// Exported for tests only (see nettool/core/export.hpp); not public API.
NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

/// A stream's running byte count, sampled once a second by the probing thread, and the stream's
/// socket when this host sends on it (-1 otherwise), whose TCP_INFO the probing thread reads at
/// the same moments. The stream's thread keeps that socket open until the probing thread has
/// taken its last sample.
struct alignas(64) stream_counter {
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<int> sending_fd{-1};
};

/// How many streams a test runs: `per_direction` (1..128) in each direction it uses.
struct stream_layout {
    unsigned per_direction = 1;
    bool up = true;     ///< this host sends
    bool down = false;  ///< this host receives
    unsigned total() const noexcept { return per_direction * ((up ? 1u : 0u) + (down ? 1u : 0u)); }
};
stream_layout layout_streams(stream_direction d, unsigned parallel) noexcept;

/// What a TCP stream sends: `size` bytes of 0x5a, also written once into a memfd, which
/// send_until hands the kernel with sendfile(2). The kernel then sends the same pages again and
/// again and copies nothing from user memory (iperf3's -Z, netperf's TCP_SENDFILE): the test
/// measures the path, not nettool's memcpy. Where no memfd can be made, send_until sends the
/// bytes with send(2). Made before the clock starts; read-only after, so streams may share one.
class stream_payload {
public:
    explicit stream_payload(std::size_t size);
    std::span<const std::byte> bytes() const noexcept { return bytes_; }
    int file() const noexcept { return file_.get(); }  ///< the memfd, or -1
private:
    std::vector<std::byte> bytes_;
    unique_fd file_;
};

/// Sends the payload again and again on the non-blocking fd until `end` (or *stop), counting into
/// `sent` and `counter`. Returns 0, or the errno that ended it. Never raises SIGPIPE.
int send_until(int fd, const stream_payload& payload, mono_clock::time_point end,
               std::chrono::nanoseconds timeout, stream_counter& counter, std::uint64_t& sent,
               const std::atomic<bool>* stop = nullptr) noexcept;

/// Why a receive loop ended.
enum class receive_end { closed, reset, stalled, failed, stopped };
/// Reads the non-blocking TCP fd until the peer closes it, nothing arrives for `timeout`,
/// `hard_end` passes, or *stop; counts into `received` and `counter`; `last_byte` is when the
/// last byte arrived; `err` the errno when it failed. The bytes are only counted, so they are read
/// with MSG_TRUNC: TCP takes them from the socket (and acknowledges them, and opens the window)
/// without copying them to user memory; `buf` gives only the most taken per call, and stays
/// untouched. Where a socket refuses MSG_TRUNC, it is read into `buf`.
receive_end receive_until(int fd, std::span<std::byte> buf, mono_clock::time_point hard_end,
                          std::chrono::nanoseconds timeout, stream_counter& counter, std::uint64_t& received,
                          mono_clock::time_point& last_byte, int& err,
                          const std::atomic<bool>* stop = nullptr) noexcept;

/// Counts t into k: retransmits summed, RTT averaged (rtt_sum carries the running sum), the
/// largest congestion window, the first congestion control's name. An invalid t is skipped.
void sample(kernel_tcp_view& k, const tcp_info_snapshot& t, double& rtt_sum);

}  // namespace nettool::detail
NETTOOL_TESTING_API_END
