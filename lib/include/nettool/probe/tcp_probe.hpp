#pragma once
// TCP probes against a nettool responder: connection setup cost, request/response round trips,
// and bulk throughput. Each returns a value-type result; a refused or timed-out connection is a
// measured outcome in it, not an error.

#include <nettool/core/export.hpp>
#include <nettool/net/endpoint.hpp>
#include <nettool/core/histogram.hpp>
#include <nettool/core/report.hpp>
#include <nettool/probe/stream_interval.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

/// Why connects failed, by kind.
struct connect_failures {
    std::uint64_t refused = 0;      ///< RST in answer to SYN: nothing listens there
    std::uint64_t timed_out = 0;    ///< no answer before the timeout (SYNs retransmitted)
    std::uint64_t unreachable = 0;  ///< no route, or ICMP unreachable
    std::uint64_t other = 0;
    std::uint64_t total() const noexcept { return refused + timed_out + unreachable + other; }
    void count(const std::error_code& ec) noexcept;
    bool operator==(const connect_failures&) const = default;
};

/// The kernel's view of TCP connections (TCP_INFO), summed or sampled across them.
struct kernel_tcp_view {
    std::uint64_t connections = 0;    ///< connections sampled
    std::uint64_t retransmits = 0;    ///< segments the kernel retransmitted (tcpi_total_retrans)
    double rtt_us = 0;                ///< mean smoothed RTT the kernel measured (tcpi_rtt)
    std::uint32_t cwnd_segments = 0;  ///< largest congestion window seen (tcpi_snd_cwnd)
    std::string congestion_control;   ///< the algorithm the sampled sockets ran (TCP_CONGESTION): cubic, bbr...
    bool operator==(const kernel_tcp_view&) const = default;
};

struct tcp_connect_options {
    std::uint64_t count = 10;
    std::chrono::nanoseconds interval{0};  ///< pause between connects
    std::chrono::nanoseconds timeout{std::chrono::seconds{3}};
    /// One untimed connect first, so the timed ones pay for the handshake and not for the first
    /// run of this process's code (page faults, lazy symbol binding).
    bool warm_up = true;
};

struct tcp_connect_result {
    socket_address target;
    std::uint64_t attempts = 0;  ///< timed attempts (the warm-up is not one)
    std::uint64_t established = 0;
    bool warmed_up = false;  ///< an untimed connect ran first
    histogram connect_time;  ///< connect() call to established (socket creation excluded), ns
    std::chrono::nanoseconds first_connect{0};  ///< the first timed connect, to set beside a capture
    socket_address first_local;                 ///< its client end, to find it in a capture
    connect_failures failures;
    kernel_tcp_view kernel;
    std::chrono::nanoseconds elapsed{0};
    double connects_per_second() const noexcept;
    bool operator==(const tcp_connect_result&) const = default;
};

struct tcp_rr_options {
    std::uint32_t size = 64;                                    ///< request and response size, bytes
    std::uint64_t count = 1000;                                 ///< stop after this many (0: use duration)
    std::chrono::nanoseconds duration{0};                       ///< stop after this long (0: use count)
    std::chrono::nanoseconds interval{0};                       ///< pause between requests
    std::chrono::nanoseconds timeout{std::chrono::seconds{3}};  ///< per request
    /// One untimed session (connect, hello, one exchange) first, so the timed one pays for the
    /// protocol and not for the first run of either side's code.
    bool warm_up = true;
};

struct tcp_rr_result {
    socket_address target;
    socket_address local;    ///< the client end of the timed connection, to find it in a capture
    bool warmed_up = false;  ///< an untimed session ran first
    std::chrono::nanoseconds connect_time{0};  ///< connect() call to established: the handshake
    /// connect() call to the first response read in full: the handshake plus one round trip
    /// (the first request rides with the session hello, so it costs no round trip of its own).
    std::chrono::nanoseconds first_reply{0};
    std::uint64_t sent = 0;
    std::uint64_t completed = 0;
    std::uint64_t corrupted = 0;  ///< responses whose bytes differ from the request
    histogram rtt;
    kernel_tcp_view kernel;
    std::string error;  ///< why the run stopped early, empty when it did not
    std::chrono::nanoseconds elapsed{0};
    bool operator==(const tcp_rr_result&) const = default;
};


struct tcp_stream_options {
    std::chrono::nanoseconds duration{std::chrono::seconds{3}};
    std::uint32_t write_size = 128 * 1024;  ///< bytes per write/read call
    stream_direction direction = stream_direction::upload;
    unsigned parallel = 1;                                      ///< streams per direction
    std::chrono::nanoseconds timeout{std::chrono::seconds{3}};  ///< connect and stall limit
    /// This host's sending sockets use this congestion control (TCP_CONGESTION); empty: the
    /// system's default (net.ipv4.tcp_congestion_control). Downloads are paced by the responder's.
    std::string congestion_control;
};

struct tcp_stream_result {
    socket_address target;
    stream_direction direction = stream_direction::upload;
    unsigned streams = 0;
    std::uint64_t bytes_sent = 0;      ///< by this host
    std::uint64_t bytes_received = 0;  ///< by the receiving side: the responder for uploads
    double seconds = 0;
    double bits_per_second = 0;  ///< received bytes over the test's duration
    std::vector<stream_interval> intervals;
    kernel_tcp_view kernel;  ///< this host's sending sockets
    std::string error;
    bool operator==(const tcp_stream_result&) const = default;
};

tcp_connect_result tcp_connect_probe(const socket_address& target, const tcp_connect_options& opt);
tcp_rr_result tcp_rr_probe(const socket_address& target, const tcp_rr_options& opt);
tcp_stream_result tcp_stream_probe(const socket_address& target, const tcp_stream_options& opt,
                                   const interval_callback& on_interval = {});


void to_json(nlohmann::json& j, const connect_failures& f);
void to_json(nlohmann::json& j, const kernel_tcp_view& k);
void to_json(nlohmann::json& j, const tcp_connect_result& r);
void to_json(nlohmann::json& j, const tcp_rr_result& r);
void to_json(nlohmann::json& j, const tcp_stream_result& r);

// What `nettool tcp` prints (docs/JSON.md, `tcp` and `udp`): the body is {"mode", "result"}, the
// result as to_json writes it; tables and readings for people.
/// Connect latency table titled "TCP connect to T: E of A established", a failures table when
/// any failed, and the kernel's handshake reading.
report make_report(const tcp_connect_result& r);
/// Round-trip latency table for requests of opt.size bytes, and a reading of connect time, first
/// reply and retransmissions.
report make_report(const tcp_rr_result& r, const tcp_rr_options& opt);
/// Throughput table; the body also carries bits_per_second at the top level, as iperf3 does.
report make_report(const tcp_stream_result& r);

}  // namespace nettool
NETTOOL_API_END
