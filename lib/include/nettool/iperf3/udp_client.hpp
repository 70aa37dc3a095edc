#pragma once
// nettool as an iperf3 UDP client: the control protocol of nettool/iperf3/control.hpp against a
// stock `iperf3 -s`, the UDP data path of nettool/iperf3/udp_datagram.hpp (the connect exchange,
// the datagram header with 32- or 64-bit counters), nettool's own figures (datagrams sent and
// received, loss, duplicates and reordering counted apart, RFC 3550 jitter, interval lines) and
// the server's (packets, errors, jitter and bytes per stream from the results exchange) side by
// side. A busy server, a server error, an authentication requirement, a protocol nettool does not
// know and a server that never answers the connect datagram end the run with `error` set.

#include <nettool/core/export.hpp>
#include <nettool/core/report.hpp>
#include <nettool/iperf3/client.hpp>
#include <nettool/iperf3/control.hpp>
#include <nettool/net/endpoint.hpp>
#include <nettool/probe/stream_interval.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

/// The largest UDP payload over IPv4 (65535 - 20 - 8), iperf3's MAX_UDP_BLOCKSIZE.
inline constexpr std::uint32_t iperf3_max_udp_size = 65507;
/// iperf3's DEFAULT_UDP_BLKSIZE, used when the control connection's MSS is unknown.
inline constexpr std::uint32_t iperf3_default_udp_size = 1460;
/// The fastest rate nettool accepts per stream (bits/s): 100 Gbit/s.
inline constexpr double iperf3_max_udp_rate = 100e9;

struct iperf3_udp_options {
    std::chrono::nanoseconds duration{std::chrono::seconds{3}};  ///< sent rounded up to whole seconds
    /// Datagram payload bytes, iperf3's header included ("len"). 0: as iperf3 3.12 picks it, the
    /// control connection's TCP MSS (1460 when unknown). At most 65507.
    std::uint32_t size = 0;
    /// Bits per second per stream, iperf3's "bandwidth" (-b); 0: as fast as possible.
    double rate = 1e6;
    stream_direction direction = stream_direction::upload;      ///< download: iperf3's -R
    unsigned parallel = 1;                                      ///< streams per direction (-P), 1..128
    bool counters_64bit = false;                                ///< "udp_counters_64bit" (--udp-counters-64bit)
    std::chrono::nanoseconds timeout{std::chrono::seconds{3}};  ///< each control read, the connect exchange
};

/// One UDP stream, as nettool counted it and as the server reported it.
struct iperf3_udp_stream_figures {
    std::int64_t id = 0;           ///< iperf3's stream id: 1, 3, 4, 5... in connect order
    bool nettool_sends = false;    ///< nettool sent on it (else the server did)
    std::uint64_t packets = 0;     ///< nettool's count: datagrams sent, or received (duplicates included)
    std::uint64_t bytes = 0;       ///< nettool's count: payload bytes sent or received
    std::uint64_t send_errors = 0; ///< sends this host's stack refused (ENOBUFS, ECONNREFUSED...)
    // Receiving streams only (nettool's udp_sequence_counter):
    std::uint64_t lost = 0;              ///< sequence numbers up to the highest seen that never arrived
    std::uint64_t duplicates = 0;
    std::uint64_t out_of_order = 0;      ///< arrived after a later one (late, not lost)
    std::uint64_t max_displacement = 0;  ///< largest reordering distance, in datagrams
    std::uint64_t highest_seq = 0;       ///< the largest sequence number seen
    double jitter_us = 0;                ///< RFC 3550
    // The server's side from the results exchange:
    bool server_reported = false;
    std::uint64_t server_packets = 0;  ///< sent; or, receiving, the highest sequence number it saw
    std::uint64_t server_bytes = 0;
    std::uint64_t server_lost = 0;     ///< "errors": the gaps it saw, minus late arrivals (iperf3 3.12)
    double server_jitter_us = 0;
    bool operator==(const iperf3_udp_stream_figures&) const = default;
};

struct iperf3_udp_result {
    socket_address target;
    stream_direction direction = stream_direction::upload;
    unsigned streams = 0;
    std::uint32_t size = 0;   ///< datagram payload bytes, as sent in "len"
    double rate = 0;          ///< bits/s per stream asked for ("bandwidth"); 0 unlimited
    bool counters_64bit = false;
    // nettool's own figures, summed over its streams:
    std::uint64_t sent = 0;  ///< datagrams
    std::uint64_t bytes_sent = 0;
    std::uint64_t send_errors = 0;
    std::uint64_t received = 0;  ///< datagrams, duplicates included
    std::uint64_t bytes_received = 0;
    std::uint64_t lost = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t out_of_order = 0;
    std::uint64_t max_displacement = 0;
    double jitter_us = 0;        ///< the mean of the receiving streams' jitter
    double seconds = 0;          ///< TEST_RUNNING to the last datagram nettool sent or read
    double bits_per_second = 0;  ///< nettool's bytes (sent and received) over seconds
    std::vector<stream_interval> intervals;
    double cpu_util_total = 0;  ///< nettool's process, percent of one CPU
    std::vector<iperf3_udp_stream_figures> per_stream;
    // The server's side:
    bool server_results = false;  ///< the results exchange completed
    iperf3::peer_results server;  ///< what the server sent in it
    std::uint64_t server_packets_received = 0;  ///< summed highest sequence numbers it saw
    std::uint64_t server_bytes_received = 0;
    std::uint64_t server_lost = 0;
    std::uint64_t server_packets_sent = 0;
    std::uint64_t server_bytes_sent = 0;
    double server_jitter_us = 0;      ///< the mean over the streams it received
    double server_seconds = 0;        ///< the longest stream's end_time in its results
    std::vector<std::int8_t> states;  ///< the state bytes the server sent, in order
    std::string error;                ///< why the run failed or stopped early; empty when it did not
    bool operator==(const iperf3_udp_result&) const = default;
};

iperf3_udp_result iperf3_udp_client(const socket_address& target, const iperf3_udp_options& opt,
                                    const interval_callback& on_interval = {});

/// The parameters JSON nettool sends, in iperf3 3.12's key order (docs/iperf3.md).
std::string iperf3_udp_params_json(const iperf3_udp_options& opt, std::uint32_t size);

void to_json(nlohmann::json& j, const iperf3_udp_stream_figures& s);
void to_json(nlohmann::json& j, const iperf3_udp_result& r);

/// `nettool udp --iperf3 --mode stream` (docs/JSON.md, `udp`): the body is {"mode": "stream",
/// "iperf3": true, "result", "bits_per_second"}; a table with nettool's and the server's totals,
/// one with each stream's counts on both sides, and readings of how they agree.
report make_report(const iperf3_udp_result& r);

}  // namespace nettool
NETTOOL_API_END
