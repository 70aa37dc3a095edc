#include <nettool/iperf3/udp_datagram.hpp>

#include <nettool/core/cursor.hpp>

#include <bit>

namespace nettool::iperf3 {
namespace {

constexpr std::uint32_t bswap(std::uint32_t v) noexcept { return __builtin_bswap32(v); }

void put_be(std::span<std::byte> out, std::size_t off, std::uint64_t v, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) out[off + i] = static_cast<std::byte>(v >> (8 * (n - 1 - i)));
}

std::optional<connect_version> parse_connect(std::span<const std::byte> datagram, std::uint32_t current,
                                             std::uint32_t legacy) noexcept {
    if (datagram.size() != udp_connect_size) return std::nullopt;
    cursor c{datagram};
    const std::uint32_t v = c.u32();
    if (v == current || v == bswap(current)) return connect_version::current;
    if (v == legacy || v == bswap(legacy)) return connect_version::legacy;
    return std::nullopt;
}

void write_host_order(std::uint32_t v, std::span<std::byte, udp_connect_size> out) noexcept {
    put_be(out, 0, std::endian::native == std::endian::little ? bswap(v) : v, 4);
}

}  // namespace

std::optional<connect_version> parse_connect_message(std::span<const std::byte> datagram) noexcept {
    return parse_connect(datagram, udp_connect_message, legacy_udp_connect_message);
}

std::optional<connect_version> parse_connect_reply(std::span<const std::byte> datagram) noexcept {
    return parse_connect(datagram, udp_connect_reply, legacy_udp_connect_reply);
}

void write_connect_message(connect_version v, std::span<std::byte, udp_connect_size> out) noexcept {
    write_host_order(v == connect_version::current ? udp_connect_message : legacy_udp_connect_message, out);
}

void write_connect_reply(connect_version v, std::span<std::byte, udp_connect_size> out) noexcept {
    write_host_order(v == connect_version::current ? udp_connect_reply : legacy_udp_connect_reply, out);
}

std::optional<udp_header> parse_udp_header(std::span<const std::byte> datagram, bool counters_64bit) noexcept {
    cursor c{datagram};
    udp_header h;
    h.sec = c.u32();
    h.usec = c.u32();
    h.seq = counters_64bit ? c.u64() : c.u32();
    if (!c.ok() || h.usec >= 1'000'000) return std::nullopt;
    return h;
}

std::size_t write_udp_header(std::span<std::byte> out, const udp_header& h, bool counters_64bit) noexcept {
    const std::size_t n = udp_header_size(counters_64bit);
    if (out.size() < n) return 0;
    put_be(out, 0, h.sec, 4);
    put_be(out, 4, h.usec, 4);
    if (counters_64bit)
        put_be(out, 8, h.seq, 8);
    else
        put_be(out, 8, h.seq & 0xffff'ffffu, 4);
    return n;
}

}  // namespace nettool::iperf3
