// The decoder's entry: decode() starts at the link type (a row of the protocol table, or one of
// the link types that carry bare IP), and the names of layers and stop reasons. The protocols
// live in proto/, one file each; the steps between them (next_ethertype, next_ip_protocol,
// next_port) are in proto/protocol.hpp beside the table they look up.
#include <nettool/packet/packet.hpp>

#include "packet/proto/protocol.hpp"

#include <algorithm>

namespace nettool {

namespace detail {
namespace {

// Link types whose frames start with the IP header itself: no link layer of their own.
bool bare_ip_link(int lt) noexcept {
    switch (lt) {
        case link_type::raw:
        case link_type::dlt_raw_12:
        case link_type::dlt_raw_14:
        case link_type::ipv4:
        case link_type::ipv6: return true;
        default: return false;
    }
}

void decode_link(decode_context& ctx, int lt, bytes_view b) noexcept {
    if (lt >= 0 && lt <= 0xffff) {
        if (const protocol* r = find_carried(by_link_type, static_cast<std::uint16_t>(lt))) {
            ctx.key = static_cast<std::uint16_t>(lt);
            return r->decode(ctx, b);
        }
    }
    switch (lt) {
        case link_type::raw:
        case link_type::dlt_raw_12:
        case link_type::dlt_raw_14: {
            cursor c{b};
            std::uint8_t v = c.u8();
            if (!c.ok()) return ctx.stop(decode_stop::truncated, layer::ipv4);
            if ((v >> 4) == 4) return next_ethertype(ctx, ethertype::ipv4, b);
            if ((v >> 4) == 6) return next_ethertype(ctx, ethertype::ipv6, b);
            return ctx.stop(decode_stop::malformed, layer::ipv4);
        }
        case link_type::ipv4: return next_ethertype(ctx, ethertype::ipv4, b);
        case link_type::ipv6: return next_ethertype(ctx, ethertype::ipv6, b);
        default: ctx.p.stop = decode_stop::unsupported_link_type; return;
    }
}

}  // namespace

void decode_quoted(decode_context& ctx, layer ip_layer, bytes_view quoted) noexcept {
    decoded_packet& p = ctx.p;
    if (!ctx.quote_started) {
        ctx.quote_started = true;
        p.own_depth = p.depth;
    }
    const decode_stop saved = p.stop;
    const auto saved_at = p.stopped_at;
    const auto saved_proto = p.ip_protocol;
    ctx.quoted = true;
    protocol_of(ip_layer).decode(ctx, quoted);
    ctx.quoted = false;
    p.stop = saved;
    p.stopped_at = saved_at;
    p.ip_protocol = saved_proto;
}

}  // namespace detail

// ---- names -------------------------------------------------------------------------------

std::string_view layer_name(layer l) noexcept {
    if (static_cast<std::size_t>(l) >= detail::layer_count) return "?";
    return detail::protocol_of(l).name;
}

std::string_view decode_stop_name(decode_stop s) noexcept {
    switch (s) {
        case decode_stop::complete: return "complete";
        case decode_stop::truncated: return "truncated";
        case decode_stop::malformed: return "malformed";
        case decode_stop::unsupported_link_type: return "unsupported link type";
        case decode_stop::unsupported_ethertype: return "unsupported ethertype";
        case decode_stop::unsupported_protocol: return "unsupported IP protocol";
        case decode_stop::not_first_fragment: return "IP fragment (not first)";
        case decode_stop::encrypted: return "encrypted (ESP)";
        case decode_stop::too_many_headers: return "too many headers";
    }
    return "?";
}

bool is_supported_link_type(int lt) noexcept {
    if (detail::bare_ip_link(lt)) return true;
    return lt >= 0 && lt <= 0xffff &&
           detail::find_carried(detail::by_link_type, static_cast<std::uint16_t>(lt));
}

bool decoded_packet::has(layer l) const noexcept {
    return std::find(path.begin(), path.begin() + depth, l) != path.begin() + depth;
}

// ---- decoder -----------------------------------------------------------------------------

decoded_packet decode(int lt, bytes_view bytes, const decode_options& opts) noexcept {
    decoded_packet p;
    p.link_type = lt;
    detail::decode_context ctx{p, opts};
    detail::decode_link(ctx, lt, bytes);
    if (!ctx.quote_started) p.own_depth = p.depth;
    return p;
}

}  // namespace nettool
