// IPv6 (RFC 8200) and its extension headers (hop-by-hop, routing, destination options,
// fragment, AH), walked up to eight deep to the transport. The "ipv6.ext" row is the extension
// walk: it never joins the path (tshark shows no node for it) but names where a cut or a later
// fragment stopped. Printed when nothing inside prints: "IP6 a > b: proto N, length L".
#include "packet/proto/protocol.hpp"

namespace nettool {

static_assert(ipv6_view::header_size == 40);

std::optional<ipv6_view> ipv6_view::parse(bytes_view b) noexcept {
    cursor c{b};
    std::uint8_t v0 = c.u8();
    if (!c.ok() || (v0 >> 4) != 6 || b.size() < header_size) return std::nullopt;
    ipv6_view v;
    v.bytes_ = b;
    return v;
}

bytes_view ipv6_view::payload() const noexcept {
    bytes_view rest = bytes_.subspan(header_size);
    std::size_t pl = payload_length();
    if (pl != 0 && pl < rest.size()) return rest.first(pl);
    return rest;
}

namespace detail {

namespace {

constexpr int max_ipv6_ext = 8;

bool is_extension(std::uint8_t nh) noexcept {
    return nh == ip_proto::hopopts || nh == ip_proto::routing || nh == ip_proto::dstopts ||
           nh == ip_proto::fragment || nh == ip_proto::ah;
}

}  // namespace

void decode_ipv6(decode_context& ctx, bytes_view b) noexcept {
    auto ip = ipv6_view::parse(b);
    if (!ip) {
        cursor c{b};
        std::uint8_t v = c.u8();
        bool bad = c.ok() && (v >> 4) != 6;
        return ctx.stop(bad ? decode_stop::malformed : decode_stop::truncated, layer::ipv6);
    }
    decoded_packet& p = ctx.p;
    if (!ctx.quoted && !p.ipv4 && !p.ipv6) {
        p.ipv6 = ip;
        const std::size_t captured = b.size() - ipv6_view::header_size;
        if (ip->payload_length() != 0 && captured < ip->payload_length())
            p.uncaptured = static_cast<std::uint32_t>(ip->payload_length() - captured);
    }
    ctx.push(layer::ipv6);
    const std::uint8_t nh = ip->next_header();
    if (is_extension(nh)) {
        ctx.key = nh;
        protocol_of(layer::ipv6_ext).decode(ctx, ip->payload());
    } else {
        next_ip_protocol(ctx, nh, ip->payload(), layer::ipv6);
    }
    if (!ctx.quoted && ip->payload_length() != 0 && b.size() - ipv6_view::header_size < ip->payload_length())
        ctx.stop(decode_stop::truncated, layer::ipv6);
}

// ctx.key is the type of the first extension header in `rest`.
void decode_ipv6_ext(decode_context& ctx, bytes_view rest) noexcept {
    auto nh = static_cast<std::uint8_t>(ctx.key);
    for (int n = 0; is_extension(nh); ++n) {
        if (n >= max_ipv6_ext) return ctx.stop(decode_stop::too_many_headers, layer::ipv6_ext);
        cursor c{rest};
        std::uint8_t next = c.u8();
        std::uint8_t len = c.u8();
        if (!c.ok()) return ctx.stop(decode_stop::truncated, layer::ipv6_ext);
        std::size_t size = 0;
        if (nh == ip_proto::fragment) {
            std::uint16_t off = c.u16();
            if (!c.has(4)) return ctx.stop(decode_stop::truncated, layer::ipv6_ext);
            ctx.p.ip_fragment = true;
            if ((off >> 3) != 0) {
                ctx.p.ip_protocol = next;
                return ctx.stop(decode_stop::not_first_fragment, layer::ipv6_ext);
            }
            size = 8;
        } else if (nh == ip_proto::ah) {
            size = (static_cast<std::size_t>(len) + 2) * 4;
        } else {
            size = (static_cast<std::size_t>(len) + 1) * 8;
        }
        if (rest.size() < size) return ctx.stop(decode_stop::truncated, layer::ipv6_ext);
        rest = rest.subspan(size);
        nh = next;
    }
    next_ip_protocol(ctx, nh, rest, layer::ipv6);
}

bool print_ipv6(const decoded_packet& p, std::uint32_t wire_length, fmt::memory_buffer& out) {
    if (!p.ipv6) return false;
    print_ip_prefix(out, p);
    fmt::format_to(std::back_inserter(out), "proto {}, length {}", p.ip_protocol, wire_length);
    return true;
}

}  // namespace detail
}  // namespace nettool
