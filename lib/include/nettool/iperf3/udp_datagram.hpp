#pragma once
// iperf3's UDP data path, the bytes of it (docs/iperf3.md, "UDP"): the 4-byte connect exchange
// that opens each UDP stream, and the header at the front of every data datagram -- seconds and
// microseconds of the sender's clock, then a sequence number of 32 bits, or 64 when the client
// asked for "udp_counters_64bit". Readers go through nettool::cursor; nothing here touches a socket.

#include <nettool/core/export.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

NETTOOL_API_BEGIN
namespace nettool::iperf3 {

/// The connect exchange: the client sends a 4-byte datagram on the data port, the server answers
/// with 4 bytes and connects its socket to the client. iperf3 writes the values in the host's byte
/// order. 3.12 changed them from the legacy ones: a 3.12 x86 client sends the bytes "9876" and its
/// server answers "6789", so the two current values are each other's byte swap, and a peer of the
/// other endianness sent what looks like the other one (iperf3 issue 1414). Which side is reading
/// says which it is; both byte orders of each value are accepted.
enum class connect_version { legacy, current };
inline constexpr std::uint32_t udp_connect_message = 0x36373839;
inline constexpr std::uint32_t udp_connect_reply = 0x39383736;
inline constexpr std::uint32_t legacy_udp_connect_message = 123456789;
inline constexpr std::uint32_t legacy_udp_connect_reply = 987654321;
inline constexpr std::size_t udp_connect_size = 4;

/// A server's reading of a datagram on its data port: a connect message, and of which version;
/// nothing for anything that is not exactly 4 bytes of one.
std::optional<connect_version> parse_connect_message(std::span<const std::byte> datagram) noexcept;
/// A client's reading of the server's answer.
std::optional<connect_version> parse_connect_reply(std::span<const std::byte> datagram) noexcept;
/// The 4 bytes as this host's iperf3 of that version writes them (host byte order).
void write_connect_message(connect_version v, std::span<std::byte, udp_connect_size> out) noexcept;
void write_connect_reply(connect_version v, std::span<std::byte, udp_connect_size> out) noexcept;

/// The front of every UDP data datagram, big-endian.
struct udp_header {
    std::uint32_t sec = 0;   ///< the sender's clock when it sent, seconds
    std::uint32_t usec = 0;  ///< and microseconds (0..999999)
    std::uint64_t seq = 0;   ///< 1 for the first datagram of a stream
    bool operator==(const udp_header&) const = default;
};
inline constexpr std::size_t udp_header_size_32 = 12;
inline constexpr std::size_t udp_header_size_64 = 16;
constexpr std::size_t udp_header_size(bool counters_64bit) noexcept {
    return counters_64bit ? udp_header_size_64 : udp_header_size_32;
}

/// The header at the front of `datagram`; nothing when it is shorter than the header or its
/// microseconds are not below one million.
std::optional<udp_header> parse_udp_header(std::span<const std::byte> datagram, bool counters_64bit) noexcept;
/// Writes the header into the front of `out`; returns the bytes written, 0 when `out` is too short.
/// With 32-bit counters the sequence number is written modulo 2^32, as iperf3 does.
std::size_t write_udp_header(std::span<std::byte> out, const udp_header& h, bool counters_64bit) noexcept;

}  // namespace nettool::iperf3
NETTOOL_API_END
