// ICMP (RFC 792). The view (shared with ICMPv6: type, code, checksum) and the step; error
// messages (destination unreachable, source quench, redirect, time exceeded, parameter
// problem) quote the offending packet, decoded as quoted layers. Prints "ICMP type T code C".
#include "packet/proto/protocol.hpp"

#include <iterator>

namespace nettool {

static_assert(icmp_view::header_size == 4);

std::optional<icmp_view> icmp_view::parse(bytes_view b) noexcept {
    if (b.size() < header_size) return std::nullopt;
    icmp_view v;
    v.bytes_ = b;
    return v;
}

namespace detail {

void decode_icmp(decode_context& ctx, bytes_view b) noexcept {
    auto ic = icmp_view::parse(b);
    if (!ic) return ctx.stop(decode_stop::truncated, layer::icmp);
    if (!ctx.quoted) ctx.p.icmp = ic;
    ctx.push(layer::icmp);
    if (ctx.quoted) return;
    ctx.p.payload = ic->body();
    const std::uint8_t t = ic->type();
    const bool error = t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
    // The quote starts after the 4 bytes of the rest of the ICMP header.
    if (error && ic->body().size() > 4) decode_quoted(ctx, layer::ipv4, ic->body().subspan(4));
}

bool print_icmp(const decoded_packet& p, std::uint32_t, fmt::memory_buffer& out) {
    if (!p.icmp) return false;
    print_ip_prefix(out, p);
    fmt::format_to(std::back_inserter(out), "ICMP type {} code {}", p.icmp->type(), p.icmp->code());
    return true;
}

}  // namespace detail
}  // namespace nettool
