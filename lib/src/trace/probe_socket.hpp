#pragma once
// One flow's socket for a trace: opened for the protocol (UDP, ICMP ping or raw, TCP raw), it
// sends a probe with a given TTL and tag and turns what comes back (the error queue and ordinary
// replies) into `reply` values. The tracer (tracer.cpp) owns the probes and the clock.

#include "net/socket.hpp"
#include "trace/probe_tag.hpp"

#include <nettool/net/address.hpp>
#include <nettool/net/endpoint.hpp>
#include <nettool/trace/trace.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>

namespace nettool::detail {

enum class probe_method : std::uint8_t { udp, icmp_ping, icmp_raw, tcp_raw };
std::string describe(probe_method m, bool v6);

/// What a reply says about the probe it answers.
enum class reply_kind : std::uint8_t {
    time_exceeded,  ///< a router on the way: the TTL ran out there
    reached,        ///< the destination: port unreachable (UDP), echo reply (ICMP), SYN-ACK or RST (TCP)
    unreachable,    ///< "destination unreachable" other than a port: traceroute's !N, !H, !X ...
    too_big,        ///< fragmentation needed / packet too big, with the MTU
};

struct reply {
    std::uint16_t seq = 0;  ///< the probe it answers
    std::uint32_t token = 0;
    bool header_only = false;        ///< matched on a sequence number alone (no tag to check ttl and flow)
    std::uint8_t ttl = 0, flow = 0;  ///< as the tag says (when not header_only)
    reply_kind kind = reply_kind::time_exceeded;
    ip_address from;
    std::int64_t received_ns = 0;  ///< CLOCK_REALTIME, the kernel's receive timestamp
    int reply_ttl = -1;            ///< TTL (hop limit) of the reply as it arrived; -1 unknown
    std::uint32_t mtu = 0;         ///< too_big: the MTU the router reported
    std::uint8_t icmp_code = 0;    ///< unreachable: the ICMP code
    std::string_view mark;         ///< unreachable: "!H" and the like
};

/// What one read of a socket produced.
enum class read_outcome : std::uint8_t {
    none,         ///< nothing left to read
    matched,      ///< a reply to one of this run's probes (in `reply`)
    foreign,      ///< quoting a packet this run did not send
    short_quote,  ///< an ICMP error that quoted too little to tell the probe
    other,        ///< of no use to a trace (counted)
    skipped,      ///< not for this flow (raw sockets see every packet): not counted
    local_mtu,    ///< the local interface's MTU refused a probe (in `reply.mtu`)
};

class probe_socket {
public:
    /// Opens the flow's socket. method: the protocol's; ICMP falls back from a ping socket to a
    /// raw one. Throws nettool::error (permission_denied when no allowed socket type remains).
    probe_socket(trace_protocol protocol, const socket_address& destination, unsigned flow,
                 std::uint16_t port, std::uint32_t token, bool pmtu);

    probe_method method() const noexcept { return method_; }
    int fd() const noexcept { return fd_.get(); }
    const socket_address& destination() const noexcept { return dst_; }

    /// Sends one probe of `size` bytes of IP packet with the tag's seq, ttl and flow. Returns the
    /// send error (EMSGSIZE: larger than the interface allows; read the MTU with read()).
    std::error_code send(const probe_tag& tag, std::uint32_t size) noexcept;

    /// Reads one message: the error queue first, then ordinary data.
    read_outcome read(reply& out) noexcept;

    /// Header bytes under the probe's payload (IP and UDP/ICMP/TCP): the smallest probe size.
    std::uint32_t header_bytes() const noexcept;

private:
    read_outcome read_error(reply& out) noexcept;
    read_outcome read_data(reply& out) noexcept;
    read_outcome match_quote(std::span<const std::byte> quoted, reply& out) const noexcept;

    trace_protocol protocol_;
    probe_method method_ = probe_method::udp;
    unique_fd fd_;
    socket_address dst_;
    bool v6_ = false;
    unsigned flow_ = 0;
    std::uint32_t token_ = 0;
    std::uint16_t icmp_id_ = 0;  ///< the echo identifier: the kernel's for a ping socket, ours for raw
    std::uint16_t sport_ = 0;    ///< TCP: our source port
    std::uint16_t dport_ = 0;
    std::uint32_t src_v4_ = 0;  ///< TCP over IPv4: the source address for the checksum
    std::uint16_t checksum_target_ = 0;
};

}  // namespace nettool::detail
