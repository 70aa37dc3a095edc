// ICMPv6 (RFC 4443), on icmp_view. Error messages (types 1-4) quote the offending IPv6 packet,
// decoded as quoted layers. Prints "ICMP6 type T code C".
#include "packet/proto/protocol.hpp"

#include <iterator>

namespace nettool::detail {

void decode_icmpv6(decode_context& ctx, bytes_view b) noexcept {
    auto ic = icmpv6_view::parse(b);
    if (!ic) return ctx.stop(decode_stop::truncated, layer::icmpv6);
    if (!ctx.quoted) ctx.p.icmpv6 = ic;
    ctx.push(layer::icmpv6);
    if (ctx.quoted) return;
    ctx.p.payload = ic->body();
    const std::uint8_t t = ic->type();
    const bool error = t >= 1 && t <= 4;
    if (error && ic->body().size() > 4) decode_quoted(ctx, layer::ipv6, ic->body().subspan(4));
}

bool print_icmpv6(const decoded_packet& p, std::uint32_t, fmt::memory_buffer& out) {
    if (!p.icmpv6) return false;
    print_ip_prefix(out, p);
    fmt::format_to(std::back_inserter(out), "ICMP6 type {} code {}", p.icmpv6->type(), p.icmpv6->code());
    return true;
}

}  // namespace nettool::detail
