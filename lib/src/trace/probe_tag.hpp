#pragma once
// What a trace probe carries to identify itself, and the parser of what comes back.
//
// Every probe of one flow keeps the flow's 5-tuple (Paris traceroute), so a reply cannot be told
// from another by ports: the probe says who it is in its own bytes. UDP and ICMP probes carry a
// 14-byte tag at the start of their payload; a router's ICMP error quotes it back (Linux routers
// quote up to 576 bytes, RFC 1812 asks for as much as fits) and an echo reply returns it whole.
// TCP SYN probes have no payload: the sequence number is the tag (16 bits of the run's token,
// 16 bits of the probe's number).
//
// Everything here reads outside bytes (what a router or the destination sent back) through the
// cursor; fuzz/trace_quote_fuzz.cpp drives it.

#include <nettool/core/export.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

/// "NTtr": the first four bytes of every UDP and ICMP probe's payload.
inline constexpr std::uint32_t probe_magic = 0x4e547472;
/// magic(4) token(4) seq(2) ttl(1) flow(1) balance(2).
inline constexpr std::size_t probe_tag_size = 14;

struct probe_tag {
    std::uint32_t token = 0;    ///< random per run: replies to other runs' probes are foreign
    std::uint16_t seq = 0;      ///< the probe's number in this run
    std::uint8_t ttl = 0;       ///< the TTL (hop limit) it was sent with
    std::uint8_t flow = 0;      ///< which flow (--paths) it belongs to
    std::uint16_t balance = 0;  ///< makes the checksum the same for every probe of a flow
    bool operator==(const probe_tag&) const = default;
};

/// Big-endian stores into a buffer the caller sized (probe headers and tags).
inline void put_be16(std::span<std::byte> out, std::size_t at, std::uint16_t v) noexcept {
    out[at] = static_cast<std::byte>(v >> 8);
    out[at + 1] = static_cast<std::byte>(v & 0xff);
}
inline void put_be32(std::span<std::byte> out, std::size_t at, std::uint32_t v) noexcept {
    put_be16(out, at, static_cast<std::uint16_t>(v >> 16));
    put_be16(out, at + 2, static_cast<std::uint16_t>(v & 0xffff));
}

/// Writes the tag at the start of out (out.size() >= probe_tag_size).
void write_probe_tag(std::span<std::byte> out, const probe_tag& tag) noexcept;

/// The balance word that makes the one's-complement sum of (ICMP seq when icmp) + the tag's
/// varying words equal `target`, so the UDP or ICMP checksum is the same for every probe of a
/// flow: load balancers that hash the first bytes of the transport header (the ICMP checksum is
/// there) then keep the flow on one path.
std::uint16_t probe_balance(const probe_tag& tag, bool icmp, std::uint16_t target) noexcept;

/// How much of the probe a reply holds.
enum class quote_kind : std::uint8_t {
    udp_payload,  ///< the UDP payload (an error quoted a UDP probe; IP_RECVERR gives what follows the UDP
                  ///< header)
    icmp_echo,    ///< an ICMP or ICMPv6 echo header, then its payload (quoted in an error, or an echo reply)
    tcp_header,   ///< a TCP header (quoted in an error): ports, then the sequence number
};

enum class quote_status : std::uint8_t {
    ok,           ///< the tag (or, for TCP and short ICMP quotes, the sequence number) of a probe of this run
    short_quote,  ///< too few bytes quoted to tell which probe it was
    foreign,      ///< not one of this run's probes (another program's, or forged)
};

struct quote_match {
    quote_status status = quote_status::short_quote;
    probe_tag tag;             ///< valid when ok; for TCP and header-only ICMP quotes only seq
    bool header_only = false;  ///< ok on the ICMP echo header's sequence number alone (an 8-byte quote)
    std::uint16_t id = 0;      ///< icmp_echo: the echo identifier; tcp_header: the source port
};

/// Reads the quoted probe. token is this run's; for tcp_header the token's low 16 bits must be
/// the upper half of the sequence number.
quote_match parse_probe_quote(std::span<const std::byte> quoted, quote_kind kind,
                              std::uint32_t token) noexcept;

/// An IPv4 packet as a raw socket delivers it: the header's length checked (version 4, IHL at
/// least 5 and within the bytes); returns what follows the header, or an empty span.
std::span<const std::byte> ipv4_payload(std::span<const std::byte> packet) noexcept;

/// The fields of a TCP segment's header a SYN probe's answer is matched on.
struct tcp_answer {
    std::uint16_t source_port = 0, dest_port = 0;
    std::uint32_t ack = 0;
    bool syn = false, ack_flag = false, rst = false;
};
/// Parses the first 14 bytes of a TCP header; false when fewer are there.
bool parse_tcp_answer(std::span<const std::byte> segment, tcp_answer& out) noexcept;

}  // namespace nettool::detail
NETTOOL_TESTING_API_END
