#pragma once
// The responder: the far end of every TCP and UDP probe (`nettool serve`).
//
// One process serves TCP and UDP on the same port, IPv4 and IPv6, many clients at once, on its
// own thread (Asio inside; nothing of it in this header). It speaks nettool's protocol
// (protocol.hpp, docs/PROTOCOL.md) and guards itself: limits on sessions, durations and message
// sizes, a read deadline during the handshake, UDP replies never larger than the datagram they
// answer, and silence towards datagrams without a live session's cookie.

#include <nettool/core/export.hpp>
#include <nettool/net/endpoint.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

NETTOOL_API_BEGIN
namespace nettool {

struct responder_config {
    /// Address to bind; empty means every address, IPv6 and IPv4 (dual-stack "::", or
    /// "0.0.0.0" where IPv6 is off).
    std::string bind_address;
    /// TCP and UDP port; 0 picks a free port that is free for both.
    std::uint16_t port = 51423;
    std::size_t max_sessions = 256;
    std::chrono::milliseconds handshake_timeout{5'000};  ///< hello must arrive within this
    std::chrono::milliseconds idle_timeout{30'000};      ///< no bytes for this long ends a session
    /// One line per session (start, end, what was done); called on the responder's thread.
    std::function<void(std::string_view)> log;
};

/// Counters since start; read from any thread.
struct responder_stats {
    std::uint64_t sessions = 0;       ///< TCP sessions that sent a valid hello
    std::uint64_t rejected = 0;       ///< hellos refused (limits, version, mode)
    std::uint64_t dropped_idle = 0;   ///< sessions closed for silence or slowness
    std::uint64_t udp_datagrams = 0;  ///< datagrams with a live cookie
    std::uint64_t udp_dropped = 0;    ///< datagrams dropped silently (no or bad cookie, malformed)
    std::uint64_t udp_replies = 0;
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
