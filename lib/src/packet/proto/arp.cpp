// ARP (RFC 826), any hardware and protocol address lengths; IPv4 sender and target as
// ip_address. Prints "ARP, Request|Reply, length N".
#include "packet/proto/protocol.hpp"

#include <iterator>

namespace nettool {

std::optional<arp_view> arp_view::parse(bytes_view b) noexcept {
    cursor c{b};
    c.skip(4);
    std::size_t hl = c.u8();
    std::size_t pl = c.u8();
    if (!c.ok() || b.size() < fixed_size + 2 * (hl + pl)) return std::nullopt;
    arp_view v;
    v.bytes_ = b;
    return v;
}

std::optional<ip_address> arp_view::ipv4_at(bytes_view proto_address) const noexcept {
    if (protocol_type() != ethertype::ipv4 || proto_address.size() != 4) return std::nullopt;
    ip_address a;
    a.family = ip_family::v4;
    cursor c{proto_address};
    for (std::size_t i = 0; i < 4; ++i) a.bytes[i] = c.u8();
    return a;
}

namespace detail {

void decode_arp(decode_context& ctx, bytes_view b) noexcept {
    auto a = arp_view::parse(b);
    if (!a) return ctx.stop(decode_stop::truncated, layer::arp);
    if (!ctx.quoted) ctx.p.arp = a;
    ctx.push(layer::arp);
}

bool print_arp(const decoded_packet& p, std::uint32_t wire_length, fmt::memory_buffer& out) {
    if (!p.arp) return false;
    fmt::format_to(std::back_inserter(out), "ARP, {}, length {}",
                   p.arp->operation() == 1 ? "Request" : "Reply", wire_length);
    return true;
}

}  // namespace detail
}  // namespace nettool
