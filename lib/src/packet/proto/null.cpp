// BSD loopback: DLT_NULL (a 4-byte address family in the capturing host's byte order) and
// DLT_LOOP (network order). Families 2 (IPv4) and 10/24/28/30 (IPv6) are followed. Prints
// nothing of its own.
#include "packet/proto/protocol.hpp"

namespace nettool {

std::optional<null_view> null_view::parse(bytes_view b, bool network_order) noexcept {
    cursor c{b};
    std::uint32_t fam = 0;
    if (network_order) {
        fam = c.u32();
    } else {
        // DLT_NULL is in the capturing host's order: a family fits in 16 bits, so a value with
        // high bits set was written by a host of the other endianness.
        fam = c.u32_le();
        if ((fam & 0xffff0000u) != 0) fam = cursor::u32_at(b, 0);
    }
    if (!c.ok()) return std::nullopt;
    null_view v;
    v.bytes_ = b;
    v.family_ = fam;
    return v;
}

namespace detail {

void decode_null(decode_context& ctx, bytes_view b) noexcept {
    auto n = null_view::parse(b, ctx.key == link_type::loop);
    if (!n) return ctx.stop(decode_stop::truncated, layer::null_loop);
    ctx.p.null_loop = n;
    ctx.push(layer::null_loop);
    if (n->is_ipv4()) return next_ethertype(ctx, ethertype::ipv4, n->payload());
    if (n->is_ipv6()) return next_ethertype(ctx, ethertype::ipv6, n->payload());
    ctx.stop(decode_stop::unsupported_ethertype, layer::null_loop);
}

}  // namespace detail
}  // namespace nettool
