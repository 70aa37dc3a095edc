// IPv4 (RFC 791): header with options, fragments (only the first carries a transport header),
// the payload cut at total_length. Printed when nothing inside it prints: "IP a > b: proto N,
// length L".
#include "packet/proto/protocol.hpp"

namespace nettool {

static_assert(ipv4_view::min_header_size == 20);

std::optional<ipv4_view> ipv4_view::parse(bytes_view b) noexcept {
    cursor c{b};
    std::uint8_t vihl = c.u8();
    if (!c.ok() || (vihl >> 4) != 4 || (vihl & 0x0f) < 5) return std::nullopt;
    if (!c.has(static_cast<std::size_t>(vihl & 0x0f) * 4 - 1)) return std::nullopt;
    ipv4_view v;
    v.bytes_ = b;
    return v;
}

bytes_view ipv4_view::payload() const noexcept {
    std::size_t end = bytes_.size();
    std::size_t tl = total_length();
    // total_length 0 appears in captures of TSO segments: use what was captured.
    if (tl != 0 && tl < end) end = tl;
    std::size_t hl = header_length();
    if (end < hl) return {};
    return bytes_.subspan(hl, end - hl);
}

namespace detail {

void decode_ipv4(decode_context& ctx, bytes_view b) noexcept {
    auto ip = ipv4_view::parse(b);
    if (!ip) {
        cursor c{b};
        std::uint8_t v = c.u8();
        bool bad = c.ok() && ((v >> 4) != 4 || (v & 0x0f) < 5);
        return ctx.stop(bad ? decode_stop::malformed : decode_stop::truncated, layer::ipv4);
    }
    decoded_packet& p = ctx.p;
    if (!ctx.quoted && !p.ipv4 && !p.ipv6) {
        p.ipv4 = ip;
        if (ip->total_length() != 0 && ip->payload_truncated())
            p.uncaptured = static_cast<std::uint32_t>(ip->total_length() - b.size());
    }
    ctx.push(layer::ipv4);
    if (ip->total_length() != 0 && ip->total_length() < ip->header_length())
        return ctx.stop(decode_stop::malformed, layer::ipv4);
    if (ip->is_fragment()) p.ip_fragment = true;
    if (ip->fragment_offset() != 0) {
        bool cut = !ctx.quoted && ip->total_length() != 0 && ip->payload_truncated();
        return ctx.stop(cut ? decode_stop::truncated : decode_stop::not_first_fragment, layer::ipv4);
    }
    next_ip_protocol(ctx, ip->protocol(), ip->payload(), layer::ipv4);
    // Every header decoded, but the capture holds less than the IP length says (snaplen).
    if (!ctx.quoted && ip->total_length() != 0 && ip->payload_truncated())
        ctx.stop(decode_stop::truncated, layer::ipv4);
}

bool print_ipv4(const decoded_packet& p, std::uint32_t wire_length, fmt::memory_buffer& out) {
    if (!p.ipv4) return false;
    print_ip_prefix(out, p);
    fmt::format_to(std::back_inserter(out), "proto {}, length {}", p.ip_protocol, wire_length);
    return true;
}

}  // namespace detail
}  // namespace nettool
