// libFuzzer target for the packet decoders: the first byte selects the link type, the rest is
// the captured packet. Every view accessor the inspector uses is exercised on the result.
#include <nettool/packet/packet.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace {

constexpr std::array<int, 12> link_types{
    nettool::link_type::ethernet,   nettool::link_type::linux_sll, nettool::link_type::linux_sll2,
    nettool::link_type::null,       nettool::link_type::loop,      nettool::link_type::raw,
    nettool::link_type::ipv4,       nettool::link_type::ipv6,      nettool::link_type::dlt_raw_12,
    nettool::link_type::dlt_raw_14, 147 /* unsupported */,         9 /* unsupported */};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::span<const std::uint8_t> in{data, size};
    int lt = link_types[in[0] % link_types.size()];
    auto bytes = std::as_bytes(in.subspan(1));
    nettool::decode_options opts;
    opts.extra_dns_port = 8053;
    auto p = nettool::decode(lt, bytes, opts);
    volatile std::uint64_t sink = 0;
    if (p.tcp) {
        auto o = p.tcp->options();
        sink = sink + o.sack_blocks + p.tcp->payload().size();
    }
    if (p.udp) sink = sink + p.udp->payload().size() + p.udp->length();
    if (p.ipv4) sink = sink + p.ipv4->options().size() + p.ipv4->payload().size() + p.ipv4->dst().bytes[3];
    if (p.ipv6) sink = sink + p.ipv6->payload().size() + p.ipv6->src().bytes[0];
    if (p.arp) {
        sink = sink + p.arp->target_proto().size() + p.arp->sender_hw().size();
        if (auto a = p.arp->sender_ip()) sink = sink + a->bytes[3];
        if (auto a = p.arp->target_ip()) sink = sink + a->bytes[0];
    }
    if (p.ethernet) sink = sink + p.ethernet->src()[5];
    if (p.dns) {
        if (auto q = p.dns->first_question()) sink = sink + q->name.length + q->qtype;
    }
    for (std::size_t i = 0; i < p.depth; ++i) sink = sink + nettool::layer_name(p.path[i]).size();
    (void)sink;
    return 0;
}
