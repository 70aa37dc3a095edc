#pragma once
// nettool as an iperf3 server (`nettool serve --iperf3`): stock iperf3 3.x clients (TCP, -R,
// --bidir, -P N, -J) run their tests against it, several at once, under the responder's guards
// (docs/iperf3.md, "nettool as an iperf3 server"; docs/PROTOCOL.md, "What the responder guards
// against"): session limits overall and per source, a deadline on every control read, an idle
// limit and a minimum progress rate while data flows, a hard end to every test, a rate-limited
// log. A malformed, out-of-order or stalled control conversation ends that test with one log
// line, never the server.

#include <nettool/core/export.hpp>
#include <nettool/probe/responder.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

NETTOOL_API_BEGIN
namespace nettool {

/// The iperf3 server's own limits on what a client may ask for; beyond them the test ends with
/// SERVER_ERROR and iperf3's error number for it.
struct iperf3_server_caps {
    static constexpr std::chrono::seconds max_duration{3600};  ///< "time" + "omit"
    /// A test ends at the latest this long after its requested duration (bytes- and block-count
    /// tests, "time" 0, at max_duration plus this).
    static constexpr std::chrono::seconds end_margin{10};
    static constexpr unsigned max_parallel = 128;                 ///< streams per direction
    static constexpr std::uint32_t max_tcp_len = 1024 * 1024;     ///< "len", TCP
    static constexpr std::uint32_t max_udp_len = 65507;           ///< "len", UDP
    static constexpr std::uint32_t max_params = 8 * 1024;         ///< the parameters message
    static constexpr std::uint64_t max_udp_rate = 10'000'000'000;  ///< bits/s the server sends (-u -R)
    static constexpr std::size_t max_pending = 1024;  ///< connections waiting for their cookie
};

struct iperf3_server_config {
    /// Address to bind; empty means every address, IPv6 and IPv4 (dual-stack "::", or "0.0.0.0"
    /// where IPv6 is off).
    std::string bind_address;
    /// TCP port (and UDP, same number); 0 picks a free port.
    std::uint16_t port = 5201;
    /// The responder's guards, clamped into responder_caps; a session is one test (its data
    /// connections do not count). bind_address and port here are not used.
    /// handshake_timeout bounds every control read and the wait for the data streams;
    /// idle_timeout a test whose data stops; min_progress_rate/progress_window a test that
    /// moves less; log_lines_per_second and log as for the responder.
    responder_config guards{};
};

/// Counters since start; read from any thread.
struct iperf3_server_stats {
    std::uint64_t tests = 0;            ///< control connections that became a test
    std::uint64_t completed = 0;        ///< tests that ended with IPERF_DONE
    std::uint64_t refused_busy = 0;     ///< ACCESS_DENIED: max_sessions tests already running
    std::uint64_t refused_limits = 0;   ///< ACCESS_DENIED: the source's session count or rate
    std::uint64_t ended_malformed = 0;  ///< bad length, JSON or parameters, a state out of order
    std::uint64_t ended_stalled = 0;    ///< a control read or the data streams missed their deadline
    std::uint64_t ended_idle = 0;       ///< data idle, slower than the progress rate, or too long
    std::uint64_t ended_other = 0;      ///< client terminated or closed, server stopped, socket errors
    std::uint64_t no_cookie = 0;        ///< connections closed without a whole, valid cookie in time
    std::uint64_t streams = 0;          ///< data connections handed to a test
    std::uint64_t streams_refused = 0;  ///< data connections closed: ended test, wrong phase or source, extra
    std::uint64_t bytes_received = 0;   ///< payload read on data streams (TCP and UDP)
    std::uint64_t bytes_sent = 0;       ///< payload written on data streams
    std::uint64_t udp_datagrams = 0;    ///< UDP test datagrams received
    std::uint64_t udp_lost = 0;         ///< of the datagrams clients sent, missing (sequence gaps)
    std::uint64_t udp_connects_refused = 0;  ///< UDP connect datagrams not answered
    bool operator==(const iperf3_server_stats&) const = default;
};

void to_json(nlohmann::json& j, const iperf3_server_stats& s);
/// One line: "3 iperf3 tests (2 completed), 1 refused busy, ...".
std::string summary(const iperf3_server_stats& s);

class iperf3_server {
public:
    /// Binds and starts serving on threads of its own (one accepting, one per test). On failure
    /// returns null and sets ec (e.g. address in use).
    static std::unique_ptr<iperf3_server> start(const iperf3_server_config& cfg, std::error_code& ec);
    ~iperf3_server();
    iperf3_server(const iperf3_server&) = delete;
    iperf3_server& operator=(const iperf3_server&) = delete;

    std::uint16_t port() const noexcept;
    iperf3_server_stats stats() const noexcept;
    /// Stops accepting, ends every test (SERVER_TERMINATE to its client) and joins every thread.
    /// Idempotent.
    void stop() noexcept;

    struct impl;

private:
    explicit iperf3_server(std::unique_ptr<impl> p) noexcept;
    std::unique_ptr<impl> impl_;
};

}  // namespace nettool
NETTOOL_API_END
