#pragma once
// When one connection's packets crossed the wire, read back from a capture: the handshake of a
// TCP connection and the moments each direction's byte stream reached given offsets, or the first
// datagrams of a UDP flow each way. Probes set these times beside their own figures, so anyone
// can see that what the application measured is what the wire shows.
//
//   tcp_flow_query q{client, server, {16 + 64}, {16, 16 + 64}};
//   auto t = find_tcp_flow(capture_file::open("run.pcap"), q);
//   // t.syn, t.syn_ack, t.ack; t.client_reached[0]: the hello and first request had left;
//   // t.server_reached[1]: the first reply was complete on the wire.

#include <nettool/core/export.hpp>
#include <nettool/net/endpoint.hpp>
#include <nettool/packet/capture_file.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

using wire_time = std::chrono::nanoseconds;  ///< a capture timestamp, since the Unix epoch

/// One TCP connection, named by its two ends, and the stream offsets to time. Offsets count
/// payload bytes from the first byte after the SYN (tshark's relative sequence numbers); an
/// offset is reached by the first segment whose data ends at or past it. Each list ascending.
struct tcp_flow_query {
    socket_address client;
    socket_address server;
    std::vector<std::uint64_t> client_offsets;
    std::vector<std::uint64_t> server_offsets;
};

struct tcp_flow_times {
    std::optional<wire_time> syn;      ///< the client's first SYN
    std::optional<wire_time> syn_ack;  ///< the server's first SYN/ACK
    std::optional<wire_time> ack;      ///< the client's first segment after it without SYN
    std::vector<std::optional<wire_time>> client_reached;  ///< one per client offset
    std::vector<std::optional<wire_time>> server_reached;  ///< one per server offset
    std::uint64_t packets = 0;  ///< of this connection, up to where reading stopped
    bool operator==(const tcp_flow_times&) const = default;
};

/// Reads the file until everything asked for is found, its end, or the first damaged record
/// (packets counts only what was read). A connection seen more than once (the port reused) is
/// timed from its first SYN only. Never throws after the file is open.
tcp_flow_times find_tcp_flow(capture_file& file, const tcp_flow_query& q) noexcept;

struct udp_flow_times {
    std::vector<wire_time> client_sent;  ///< the first datagrams client to server, at most n
    std::vector<wire_time> server_sent;  ///< the first datagrams server to client, at most n
    bool operator==(const udp_flow_times&) const = default;
};

/// The first n datagrams each way between client and server (n at most 1 << 20).
udp_flow_times find_udp_flow(capture_file& file, const socket_address& client, const socket_address& server,
                             std::size_t n);

}  // namespace nettool
NETTOOL_API_END
