// IEEE 802.1Q and 802.1ad tags (TPID 0x8100, 0x88a8, 0x9100): 4 bytes each, stacked up to eight
// deep; decoded_packet::vlan keeps the innermost. Prints nothing of its own.
#include "packet/proto/protocol.hpp"

namespace nettool {

static_assert(vlan_view::header_size == 4);

std::optional<vlan_view> vlan_view::parse(bytes_view b) noexcept {
    if (b.size() < header_size) return std::nullopt;
    vlan_view v;
    v.bytes_ = b;
    return v;
}

namespace detail {

namespace {
constexpr int max_vlan_tags = 8;
}

void decode_vlan(decode_context& ctx, bytes_view b) noexcept {
    if (ctx.p.vlan_tags >= max_vlan_tags) return ctx.stop(decode_stop::too_many_headers, layer::vlan);
    auto v = vlan_view::parse(b);
    if (!v) return ctx.stop(decode_stop::truncated, layer::vlan);
    ctx.p.vlan = v;
    ++ctx.p.vlan_tags;
    ctx.push(layer::vlan);
    next_ethertype(ctx, v->type(), v->payload());
}

}  // namespace detail
}  // namespace nettool
