// Ethernet II (LINKTYPE_ETHERNET): 14 bytes, then the payload of its EtherType. Prints nothing
// of its own (tcpdump -n without -e).
#include "packet/proto/protocol.hpp"

namespace nettool {

static_assert(ethernet_view::header_size == 14);

std::optional<ethernet_view> ethernet_view::parse(bytes_view b) noexcept {
    if (b.size() < header_size) return std::nullopt;
    ethernet_view v;
    v.bytes_ = b;
    return v;
}

std::array<std::uint8_t, 6> ethernet_view::mac_at(std::size_t off) const noexcept {
    std::array<std::uint8_t, 6> m{};
    cursor c{bytes_};
    c.seek(off);
    for (auto& x : m) x = c.u8();
    return m;
}

namespace detail {

void decode_ethernet(decode_context& ctx, bytes_view b) noexcept {
    auto e = ethernet_view::parse(b);
    if (!e) return ctx.stop(decode_stop::truncated, layer::ethernet);
    ctx.p.ethernet = e;
    ctx.push(layer::ethernet);
    next_ethertype(ctx, e->type(), e->payload());
}

}  // namespace detail
}  // namespace nettool
