// UDP (RFC 768): 8 bytes, the payload cut at the length field when it is sane; DNS on its
// ports. Prints "UDP, length N". Inspect hook: the conversation.
#include "packet/inspect_state.hpp"
#include "packet/proto/protocol.hpp"

#include <iterator>

namespace nettool {

static_assert(udp_view::header_size == 8);

std::optional<udp_view> udp_view::parse(bytes_view b) noexcept {
    if (b.size() < header_size) return std::nullopt;
    udp_view v;
    v.bytes_ = b;
    return v;
}

bytes_view udp_view::payload() const noexcept {
    bytes_view rest = bytes_.subspan(header_size);
    std::size_t len = length();
    if (len >= header_size && len - header_size < rest.size()) return rest.first(len - header_size);
    return rest;
}

namespace detail {

void decode_udp(decode_context& ctx, bytes_view b) noexcept {
    auto u = udp_view::parse(b);
    if (!u) return ctx.stop(decode_stop::truncated, layer::udp);
    if (!ctx.quoted) ctx.p.udp = u;
    ctx.push(layer::udp);
    if (ctx.quoted) return;
    ctx.p.payload = u->payload();
    next_port(ctx, u->src_port(), u->dst_port(), ctx.p.payload);
}

bool print_udp(const decoded_packet& p, std::uint32_t, fmt::memory_buffer& out) {
    if (!p.udp) return false;
    print_ip_prefix(out, p, p.udp->src_port(), p.udp->dst_port());
    fmt::format_to(std::back_inserter(out), "UDP, length {}", p.udp->payload().size());
    return true;
}

void analyze_udp(inspect_state& s, const decoded_packet& p, std::int64_t t, std::uint32_t wire) {
    if (!p.udp) return;
    s.count_in_conversation(p, ip_proto::udp, p.udp->src_port(), p.udp->dst_port(), t, wire);
}

}  // namespace detail
}  // namespace nettool
