#pragma once
// The protocol table: the one list of the layers nettool decodes. Each row names a protocol
// module in this folder (one file per protocol, as tcpdump's print-*.c) and what the rest of the
// packet layer needs from it:
//
//   id, name     the layer (nettool::layer) and its name in the protocol hierarchy ("eth", "ip")
//   on           what selects it: a link type, an EtherType, an IP protocol or a port; "parent"
//                when only its parent's step calls it
//   decode       the decode step: parse the view, fill decoded_packet, hand the payload on
//   print        its part of `nettool capture`'s tcpdump -n line (nullptr: it prints nothing)
//   analyze      its inspect analysis hook (conversations, TCP analysis, DNS matching)
//   count        the protocol_counts field (JSON "protocols" key count_key) it is counted in
//
// The decode steps look carriers up in tables derived from this one at compile time (below);
// the printer (print.cpp) walks a packet's own layers innermost first and lets the first row
// that prints write the line; the inspector (inspect.cpp) names hierarchy nodes, counts
// protocols and runs analysis hooks from it. Adding a protocol: docs/adding-a-protocol.md.
//
// Nothing here allocates or formats on the decode path: rows hold plain function pointers.
// Exported as a testing interface (tests/packet_protocols_test.cpp walks the rows).

#include <nettool/core/export.hpp>
#include <nettool/packet/inspect.hpp>
#include <nettool/packet/packet.hpp>

#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

struct inspect_state;  // lib/src/packet/inspect_state.hpp

inline constexpr std::size_t layer_count = static_cast<std::size_t>(layer::count_);

/// What a decode step works on: the packet being filled and the caller's options.
struct decode_context {
    decoded_packet& p;
    const decode_options& opts;
    /// The carrier value that selected the running step (its link type, EtherType, IP protocol
    /// or port; for ipv6.ext the extension header type).
    std::uint16_t key = 0;
    /// Decoding headers quoted inside an ICMP error: they count for the hierarchy only, so
    /// steps neither keep their views in the packet nor go past the transport header.
    bool quoted = false;
    bool quote_started = false;

    void push(layer l) noexcept {
        if (p.depth < decoded_packet::max_layers) p.path[p.depth++] = l;
    }
    /// Records why decoding stopped; the first reason wins.
    void stop(decode_stop s, layer l) noexcept {
        if (p.stop == decode_stop::complete) {
            p.stop = s;
            p.stopped_at = l;
        }
    }
};

using decode_fn = void (*)(decode_context&, bytes_view) noexcept;
/// Writes the line after the time; false when this layer does not print this packet (the
/// printer then asks the next layer outwards).
using print_fn = bool (*)(const decoded_packet&, std::uint32_t wire_length, fmt::memory_buffer& out);
using analyze_fn = void (*)(inspect_state&, const decoded_packet&, std::int64_t time_ns,
                            std::uint32_t wire_length);

enum class carried_by : std::uint8_t { parent, link_type, ethertype, ip_protocol, port };

struct carrier {
    carried_by by = carried_by::parent;
    std::array<std::uint16_t, 4> keys{};
    std::uint8_t count = 0;

    constexpr bool has(std::uint16_t k) const noexcept {
        for (std::size_t i = 0; i < count; ++i)
            if (keys[i] == k) return true;
        return false;
    }
};

/// carried(carried_by::ethertype, {0x8100, 0x88a8}): up to four keys.
constexpr carrier carried(carried_by by, std::initializer_list<std::uint16_t> keys) {
    carrier c{by, {}, 0};
    for (auto k : keys) c.keys[c.count++] = k;
    return c;
}

struct protocol {
    layer id = layer::count_;
    std::string_view name;
    carrier on;
    decode_fn decode = nullptr;
    print_fn print = nullptr;
    analyze_fn analyze = nullptr;
    std::uint64_t protocol_counts::*count = nullptr;
    std::string_view count_key;
};

// ---- steps the modules share ----------------------------------------------------------------
// next_ethertype, next_ip_protocol and next_port are inline, after the table (they look it up).

/// Decodes the packet an ICMP error quotes (packet.cpp), starting at IP layer `ip_layer`, as
/// quoted layers: they join the path (the hierarchy counts them, as tshark does) but not the
/// packet's views, and a quote cut short is not this packet's stop reason.
void decode_quoted(decode_context& ctx, layer ip_layer, bytes_view quoted) noexcept;

// ---- printing helpers (print.cpp) ------------------------------------------------------------

/// tcpdump -n's words before a transport's own, from the packet's own IP header:
/// "IP 192.0.2.1.5000 > 192.0.2.2.53: " (with ports) or "IP6 2001:db8::1 > 2001:db8::2: ".
void print_ip_prefix(fmt::memory_buffer& out, const decoded_packet& p);
void print_ip_prefix(fmt::memory_buffer& out, const decoded_packet& p, std::uint16_t src_port,
                     std::uint16_t dst_port);

// ---- the modules: one file each in lib/src/packet/proto/ -------------------------------------

void decode_ethernet(decode_context&, bytes_view) noexcept;  // ethernet.cpp
void decode_vlan(decode_context&, bytes_view) noexcept;      // vlan.cpp
void decode_sll(decode_context&, bytes_view) noexcept;       // sll.cpp (Linux cooked v1 and v2)
void decode_sll2(decode_context&, bytes_view) noexcept;
void decode_null(decode_context&, bytes_view) noexcept;  // null.cpp (BSD loopback)

void decode_ipv4(decode_context&, bytes_view) noexcept;  // ipv4.cpp
bool print_ipv4(const decoded_packet&, std::uint32_t, fmt::memory_buffer&);

void decode_ipv6(decode_context&, bytes_view) noexcept;      // ipv6.cpp
void decode_ipv6_ext(decode_context&, bytes_view) noexcept;  // ipv6.cpp (extension headers)
bool print_ipv6(const decoded_packet&, std::uint32_t, fmt::memory_buffer&);

void decode_tcp(decode_context&, bytes_view) noexcept;  // tcp.cpp
bool print_tcp(const decoded_packet&, std::uint32_t, fmt::memory_buffer&);
void analyze_tcp(inspect_state&, const decoded_packet&, std::int64_t, std::uint32_t);

void decode_udp(decode_context&, bytes_view) noexcept;  // udp.cpp
bool print_udp(const decoded_packet&, std::uint32_t, fmt::memory_buffer&);
void analyze_udp(inspect_state&, const decoded_packet&, std::int64_t, std::uint32_t);

void decode_icmp(decode_context&, bytes_view) noexcept;  // icmp.cpp
bool print_icmp(const decoded_packet&, std::uint32_t, fmt::memory_buffer&);

void decode_icmpv6(decode_context&, bytes_view) noexcept;  // icmpv6.cpp
bool print_icmpv6(const decoded_packet&, std::uint32_t, fmt::memory_buffer&);

void decode_arp(decode_context&, bytes_view) noexcept;  // arp.cpp
bool print_arp(const decoded_packet&, std::uint32_t, fmt::memory_buffer&);

void decode_dns(decode_context&, bytes_view) noexcept;  // dns.cpp
bool print_dns(const decoded_packet&, std::uint32_t, fmt::memory_buffer&);
void analyze_dns(inspect_state&, const decoded_packet&, std::int64_t, std::uint32_t);

// ---- the table: one row per layer, in nettool::layer order ----------------------------------
// sll and sll2 share the "sll" count; ipv6.ext is the extension-header walk inside IPv6 (never
// in the path, only where a decode stopped), reached from ipv6.cpp's step.

// One row per protocol, in three aligned lines (kept out of clang-format to read as a table).
// clang-format off
inline constexpr std::array<protocol, layer_count> protocols{{
    {.id = layer::ethernet,  .name = "eth",      .on = carried(carried_by::link_type, {link_type::ethernet}),
     .decode = decode_ethernet, .print = nullptr,      .analyze = nullptr,
     .count = &protocol_counts::ethernet, .count_key = "eth"},
    {.id = layer::vlan,      .name = "vlan",
     .on = carried(carried_by::ethertype, {ethertype::vlan, ethertype::qinq, ethertype::qinq_old}),
     .decode = decode_vlan,     .print = nullptr,      .analyze = nullptr,
     .count = &protocol_counts::vlan, .count_key = "vlan"},
    {.id = layer::sll,       .name = "sll",      .on = carried(carried_by::link_type, {link_type::linux_sll}),
     .decode = decode_sll,      .print = nullptr,      .analyze = nullptr,
     .count = &protocol_counts::sll, .count_key = "sll"},
    {.id = layer::sll2,      .name = "sll2",
     .on = carried(carried_by::link_type, {link_type::linux_sll2}),
     .decode = decode_sll2,     .print = nullptr,      .analyze = nullptr,
     .count = &protocol_counts::sll, .count_key = "sll"},
    {.id = layer::null_loop, .name = "null",
     .on = carried(carried_by::link_type, {link_type::null, link_type::loop}),
     .decode = decode_null,     .print = nullptr,      .analyze = nullptr,
     .count = &protocol_counts::null_loop, .count_key = "null"},
    {.id = layer::ipv4,      .name = "ip",       .on = carried(carried_by::ethertype, {ethertype::ipv4}),
     .decode = decode_ipv4,     .print = print_ipv4,   .analyze = nullptr,
     .count = &protocol_counts::ipv4, .count_key = "ipv4"},
    {.id = layer::ipv6,      .name = "ipv6",     .on = carried(carried_by::ethertype, {ethertype::ipv6}),
     .decode = decode_ipv6,     .print = print_ipv6,   .analyze = nullptr,
     .count = &protocol_counts::ipv6, .count_key = "ipv6"},
    {.id = layer::ipv6_ext,  .name = "ipv6.ext", .on = carried(carried_by::parent, {}),
     .decode = decode_ipv6_ext, .print = nullptr,      .analyze = nullptr,
     .count = nullptr, .count_key = ""},
    {.id = layer::tcp,       .name = "tcp",      .on = carried(carried_by::ip_protocol, {ip_proto::tcp}),
     .decode = decode_tcp,      .print = print_tcp,    .analyze = analyze_tcp,
     .count = &protocol_counts::tcp, .count_key = "tcp"},
    {.id = layer::udp,       .name = "udp",      .on = carried(carried_by::ip_protocol, {ip_proto::udp}),
     .decode = decode_udp,      .print = print_udp,    .analyze = analyze_udp,
     .count = &protocol_counts::udp, .count_key = "udp"},
    {.id = layer::icmp,      .name = "icmp",     .on = carried(carried_by::ip_protocol, {ip_proto::icmp}),
     .decode = decode_icmp,     .print = print_icmp,   .analyze = nullptr,
     .count = &protocol_counts::icmp, .count_key = "icmp"},
    {.id = layer::icmpv6,    .name = "icmpv6",   .on = carried(carried_by::ip_protocol, {ip_proto::icmpv6}),
     .decode = decode_icmpv6,   .print = print_icmpv6, .analyze = nullptr,
     .count = &protocol_counts::icmpv6, .count_key = "icmpv6"},
    {.id = layer::arp,       .name = "arp",      .on = carried(carried_by::ethertype, {ethertype::arp}),
     .decode = decode_arp,      .print = print_arp,    .analyze = nullptr,
     .count = &protocol_counts::arp, .count_key = "arp"},
    {.id = layer::dns,       .name = "dns",      .on = carried(carried_by::port, {53, 5353}),
     .decode = decode_dns,      .print = print_dns,    .analyze = analyze_dns,
     .count = &protocol_counts::dns, .count_key = "dns"},
}};
// clang-format on

constexpr const protocol& protocol_of(layer l) noexcept {
    return protocols[static_cast<std::size_t>(l)];
}

// ---- the next-layer steps every module calls, through lookups derived from the table --------
// Inline: they run once or twice per packet and are a lookup plus one call through the row.

struct carrier_entry {
    std::uint16_t key = 0;
    std::uint8_t row = 0;
};

template <carried_by By>
consteval std::size_t carrier_key_count() {
    std::size_t n = 0;
    for (const auto& r : protocols)
        if (r.on.by == By) n += r.on.count;
    return n;
}

// Sorted by key, so a lookup stops at the first key not below the one it looks for.
template <carried_by By>
consteval auto carrier_entries() {
    std::array<carrier_entry, carrier_key_count<By>()> out{};
    std::size_t n = 0;
    for (const auto& r : protocols)
        if (r.on.by == By)
            for (std::size_t k = 0; k < r.on.count; ++k) {
                std::size_t i = n++;
                for (; i > 0 && out[i - 1].key > r.on.keys[k]; --i) out[i] = out[i - 1];
                out[i] = {r.on.keys[k], static_cast<std::uint8_t>(r.id)};
            }
    return out;
}

inline constexpr auto by_link_type = carrier_entries<carried_by::link_type>();
inline constexpr auto by_ethertype = carrier_entries<carried_by::ethertype>();
inline constexpr auto by_port = carrier_entries<carried_by::port>();

inline constexpr std::uint8_t no_row = 0xff;
inline constexpr std::array<std::uint8_t, 256> by_ip_protocol = [] {
    std::array<std::uint8_t, 256> out{};
    out.fill(no_row);
    for (const auto& r : protocols)
        if (r.on.by == carried_by::ip_protocol)
            for (std::size_t k = 0; k < r.on.count; ++k)
                out[r.on.keys[k] & 0xffu] = static_cast<std::uint8_t>(r.id);
    return out;
}();
static_assert(layer_count < no_row);

template <std::size_t N>
constexpr const protocol* find_carried(const std::array<carrier_entry, N>& entries,
                                       std::uint16_t key) noexcept {
    for (const auto& e : entries)
        if (e.key >= key) return e.key == key ? &protocols[e.row] : nullptr;
    return nullptr;
}

/// Hands a payload of EtherType `type` to the row carried by it, or stops with "unsupported
/// ethertype". Records the type in decoded_packet::ethertype (VLAN tags excepted: there it is
/// the type after the tags).
inline void next_ethertype(decode_context& ctx, std::uint16_t type, bytes_view payload) noexcept {
    const protocol* r = find_carried(by_ethertype, type);
    if (r == nullptr || r->id != layer::vlan) ctx.p.ethertype = type;
    if (r == nullptr) return ctx.stop(decode_stop::unsupported_ethertype, layer::ethernet);
    ctx.key = type;
    r->decode(ctx, payload);
}

/// Hands an IP payload to the row carried by IP protocol `proto`; ESP stops as encrypted, "no
/// next header" ends the packet, anything else stops as unsupported at `ip_layer`.
inline void next_ip_protocol(decode_context& ctx, std::uint8_t proto, bytes_view payload,
                             layer ip_layer) noexcept {
    ctx.p.ip_protocol = proto;
    if (std::uint8_t row = by_ip_protocol[proto]; row != no_row) {
        ctx.key = proto;
        return protocols[row].decode(ctx, payload);
    }
    switch (proto) {
        case ip_proto::esp: return ctx.stop(decode_stop::encrypted, ip_layer);
        case ip_proto::no_next: return;
        default: return ctx.stop(decode_stop::unsupported_protocol, ip_layer);
    }
}

/// Hands a TCP or UDP payload to the row carried by either port (or --dns-port for DNS).
inline void next_port(decode_context& ctx, std::uint16_t src_port, std::uint16_t dst_port,
                      bytes_view payload) noexcept {
    std::uint16_t key = src_port;
    const protocol* r = find_carried(by_port, src_port);
    if (r == nullptr) {
        key = dst_port;
        r = find_carried(by_port, dst_port);
    }
    // --dns-port: the one port a user chooses at run time.
    const std::uint16_t extra = ctx.opts.extra_dns_port;
    if (r == nullptr && extra != 0 && (src_port == extra || dst_port == extra)) {
        key = extra;
        r = &protocol_of(layer::dns);
    }
    if (r == nullptr) return;
    ctx.key = key;
    r->decode(ctx, payload);
}

// ---- what the build checks about the table ---------------------------------------------------

static_assert(
    [] {
        for (std::size_t i = 0; i < protocols.size(); ++i)
            if (static_cast<std::size_t>(protocols[i].id) != i) return false;
        return true;
    }(),
    "one row per nettool::layer, in enum order (protocols[l] describes layer l)");
static_assert(
    [] {
        for (const auto& r : protocols)
            if (r.decode == nullptr || r.name.empty()) return false;
        return true;
    }(),
    "every row has a name and a decode step");
static_assert(
    [] {
        for (std::size_t i = 0; i < protocols.size(); ++i)
            for (std::size_t j = i + 1; j < protocols.size(); ++j)
                if (protocols[i].name == protocols[j].name) return false;
        return true;
    }(),
    "protocol hierarchy names are unique");
static_assert(
    [] {
        for (std::size_t i = 0; i < protocols.size(); ++i)
            for (std::size_t j = i + 1; j < protocols.size(); ++j) {
                const auto &a = protocols[i].on, &b = protocols[j].on;
                if (a.by != b.by || a.by == carried_by::parent) continue;
                for (std::size_t k = 0; k < a.count; ++k)
                    if (b.has(a.keys[k])) return false;
            }
        return true;
    }(),
    "no link type, EtherType, IP protocol or port selects two rows");
static_assert(
    [] {
        for (const auto& a : protocols) {
            if ((a.count == nullptr) != a.count_key.empty()) return false;
            for (const auto& b : protocols)
                if (a.count != nullptr && a.count == b.count && a.count_key != b.count_key) return false;
        }
        return true;
    }(),
    "a counted row names its JSON key; rows sharing a count share the key");

}  // namespace nettool::detail
NETTOOL_TESTING_API_END
