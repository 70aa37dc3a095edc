// Linux cooked capture, v1 (LINKTYPE_LINUX_SLL, 16 bytes) and v2 (LINKTYPE_LINUX_SLL2, 20
// bytes): the protocol field is an EtherType. Two rows, one "sll" count. Print nothing.
#include "packet/proto/protocol.hpp"

namespace nettool {

static_assert(sll_view::header_size == 16);
static_assert(sll2_view::header_size == 20);

std::optional<sll_view> sll_view::parse(bytes_view b) noexcept {
    if (b.size() < header_size) return std::nullopt;
    sll_view v;
    v.bytes_ = b;
    return v;
}

std::optional<sll2_view> sll2_view::parse(bytes_view b) noexcept {
    if (b.size() < header_size) return std::nullopt;
    sll2_view v;
    v.bytes_ = b;
    return v;
}

namespace detail {

void decode_sll(decode_context& ctx, bytes_view b) noexcept {
    auto s = sll_view::parse(b);
    if (!s) return ctx.stop(decode_stop::truncated, layer::sll);
    ctx.p.sll = s;
    ctx.push(layer::sll);
    next_ethertype(ctx, s->protocol(), s->payload());
}

void decode_sll2(decode_context& ctx, bytes_view b) noexcept {
    auto s = sll2_view::parse(b);
    if (!s) return ctx.stop(decode_stop::truncated, layer::sll2);
    ctx.p.sll2 = s;
    ctx.push(layer::sll2);
    next_ethertype(ctx, s->protocol(), s->payload());
}

}  // namespace detail
}  // namespace nettool
