#pragma once
// The responder: the far end of every TCP and UDP probe (`nettool serve`).
//
// One process serves TCP and UDP on the same port, IPv4 and IPv6, many clients at once, on its
// own thread (Asio inside; nothing of it in this header). It speaks nettool's protocol
// (protocol.hpp, docs/PROTOCOL.md) and guards itself (docs/PROTOCOL.md, "What the responder
// guards against"): limits on sessions overall and per source address, durations and message
// sizes; a read deadline during the handshake, a minimum progress rate while a transfer is in
// flight and an idle limit between; memory per session in proportion to what its client sent;
// accepts that back off when descriptors run out; a rate-limited log; UDP replies never larger
// than the datagram they answer, and only to the address a session's cookie was made for.

#include <nettool/core/export.hpp>
#include <nettool/net/endpoint.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

NETTOOL_API_BEGIN
namespace nettool {

/// Hard maxima of the responder's limits: responder::start() clamps a config into them, and
/// `nettool serve` refuses options beyond them, so no setting switches a guard off.
struct responder_caps {
    static constexpr std::size_t max_sessions = 100'000;
    static constexpr std::size_t max_sessions_per_source = 1'024;
    static constexpr std::size_t max_session_rate_per_source = 1'000;  ///< new sessions per second
    static constexpr std::chrono::milliseconds max_handshake_timeout{60'000};
    static constexpr std::chrono::milliseconds max_idle_timeout{600'000};
    static constexpr std::chrono::milliseconds max_progress_window{60'000};
    static constexpr std::size_t max_log_lines_per_second = 1'000;
    static constexpr std::chrono::microseconds max_udp_poll{1'000};
};

struct responder_config {
    /// Address to bind; empty means every address, IPv6 and IPv4 (dual-stack "::", or
    /// "0.0.0.0" where IPv6 is off).
    std::string bind_address;
    /// TCP and UDP port; 0 picks a free port that is free for both.
    std::uint16_t port = 51423;
    std::size_t max_sessions = 256;
    /// A source is one IPv4 address, or one IPv6 /64. It may hold this many sessions at once and
    /// open this many a second (a bucket of as many, refilled continuously); beyond either its
    /// hellos are answered busy. max_sessions still caps every source together.
    std::size_t max_sessions_per_source = 32;
    std::size_t max_session_rate_per_source = 64;
    std::chrono::milliseconds handshake_timeout{5'000};  ///< hello must arrive within this
    std::chrono::milliseconds idle_timeout{30'000};      ///< no bytes for this long ends a session
    /// While a transfer is in flight -- an echo message from its first byte in to its last byte
    /// out, a sink upload from its first byte to the half-close, a source download -- the session
    /// must move at least min_progress_rate bytes per second, judged over each progress_window;
    /// slower, it is reset. 0 turns the rule off: only for a responder that serves nobody but the
    /// caller's own probes (own_probe_responder()), never for one open to others.
    std::uint32_t min_progress_rate = 4 * 1024;
    std::chrono::milliseconds progress_window{10'000};
    /// Session lines (one per session, and one per refused hello) logged per second; beyond, one
    /// summary line a second: "N more sessions ended (M refused busy)".
    std::size_t log_lines_per_second = 10;
    /// The UDP thread sleeps in recvmmsg until a wake-up finds more than one datagram waiting (a
    /// stream arriving faster than the thread wakes); then it polls without sleeping until no
    /// datagram has come for this long, and sleeps again: a NIC's NAPI, in one thread. A sender
    /// no longer pays for a wake-up every few datagrams, and fewer datagrams wait in the socket
    /// buffer. Request/response traffic (one datagram per wake-up) never polls. 0: always sleep.
    /// At most responder_caps::max_udp_poll, so no setting keeps a core busy on an idle socket.
    std::chrono::microseconds udp_poll{50};
    /// Called on the responder's thread with each log line.
    std::function<void(std::string_view)> log;
};

/// The config with every limit inside its hard maximum (responder_caps): a caller can tighten the
/// guards, not switch them off. responder::start() and every other server that takes these guards
/// (`nettool serve --iperf3`) apply it.
responder_config within_caps(responder_config c) noexcept;

/// The config of a responder that serves only the caller's own probes, at its end of an emulated
/// link (the link lab, `tcp --link`): its one client may open as many sessions as a probe can,
/// and the link may be slower than any progress floor, so the per-source limits are at their
/// maxima and the progress rule is off. The rest are the defaults. Never for `nettool serve`.
responder_config own_probe_responder(std::string bind_address);

/// Counters since start; read from any thread.
struct responder_stats {
    std::uint64_t sessions = 0;          ///< TCP sessions that sent a valid hello
    std::uint64_t rejected = 0;          ///< hellos refused (limits, version, mode, parameters)
    std::uint64_t refused_busy = 0;      ///< of those, refused for the session limits (status busy)
    std::uint64_t dropped_idle = 0;      ///< sessions closed for silence (no hello in time, or idle)
    std::uint64_t dropped_slow = 0;      ///< sessions reset for moving less than min_progress_rate
    std::uint64_t accept_pauses = 0;     ///< accepts put off for lack of descriptors or memory
    std::uint64_t udp_datagrams = 0;     ///< datagrams with a live cookie from its client
    std::uint64_t udp_dropped = 0;       ///< datagrams dropped silently (bad or no cookie, malformed)
    std::uint64_t udp_wrong_source = 0;  ///< of those, a live cookie from another address
    std::uint64_t udp_replies = 0;
    std::uint64_t udp_polls = 0;         ///< times the UDP thread turned from sleeping to polling (udp_poll)
    /// Of `sessions`, by mode (docs/PROTOCOL.md): TCP request/response, upload, download and
    /// connect-only; UDP request/response and stream (each controlled by its TCP connection).
    std::uint64_t sessions_echo = 0;
    std::uint64_t sessions_sink = 0;
    std::uint64_t sessions_source = 0;
    std::uint64_t sessions_connect_only = 0;
    std::uint64_t sessions_udp_echo = 0;
    std::uint64_t sessions_udp_sink = 0;
    /// Bytes read from and written to TCP connections: hellos and their replies, echoed messages,
    /// uploads, downloads, UDP sessions' control requests and reports. Everything the responder
    /// moved, whatever became of the connection.
    std::uint64_t tcp_bytes_received = 0;
    std::uint64_t tcp_bytes_sent = 0;
    /// UDP payload bytes: every datagram received (dropped ones too) and every reply sent.
    std::uint64_t udp_bytes_received = 0;
    std::uint64_t udp_bytes_sent = 0;
};

class responder {
public:
    /// Binds and starts serving on a thread of its own. On failure returns null and sets ec
    /// (e.g. address in use).
    static std::unique_ptr<responder> start(const responder_config& cfg, std::error_code& ec);
    ~responder();
    responder(const responder&) = delete;
    responder& operator=(const responder&) = delete;

    /// The bound port (TCP and UDP).
    std::uint16_t port() const noexcept;
    /// Where clients on this host can reach it ("127.0.0.1" when bound to every address).
    socket_address local_endpoint() const;
    responder_stats stats() const noexcept;
    /// Stops serving, closes every session and joins the thread. Idempotent.
    void stop() noexcept;
    /// Blocks until stop() is called from another thread or a signal handler's thread.
    void wait() noexcept;

    struct impl;

private:
    explicit responder(std::unique_ptr<impl> p) noexcept;
    std::unique_ptr<impl> impl_;
};

}  // namespace nettool
NETTOOL_API_END
