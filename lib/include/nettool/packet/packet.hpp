#pragma once
// Zero-copy views over captured packet bytes, and a layered decoder. This header is the packet
// layer's umbrella: every view, the decoder's result and the layer list.
//
// Each view wraps a std::span<const std::byte>; `parse(span)` returns std::nullopt when the
// bytes are too short (or fail a basic sanity check such as the IP version), accessors decode
// big-endian fields on each read through nettool::cursor. Nothing here allocates, and nothing
// reads outside the span: a short packet is "truncated", never a crash. Addresses come back as
// nettool::ip_address (format them with fmt "{}" or to_string()).
//
// decode(link_type, bytes) walks link layer -> VLAN tags -> IPv4/IPv6 (+ extension headers) ->
// TCP/UDP/ICMP/ICMPv6/ARP -> DNS and records what it found and why it stopped. Each protocol is
// one module in lib/src/packet/proto/ (its view's parsing, decode step, one-line print and
// inspect hook), listed once in the protocol table lib/src/packet/proto/protocol.hpp;
// docs/adding-a-protocol.md says how to add one.

#include <nettool/core/export.hpp>
#include <nettool/core/cursor.hpp>
#include <nettool/net/address.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

NETTOOL_API_BEGIN
namespace nettool {

using bytes_view = std::span<const std::byte>;

/// Link-layer header types (the pcap LINKTYPE_ / DLT_ values nettool decodes).
namespace link_type {
inline constexpr int null = 0;  ///< BSD loopback, 4-byte family in the capturing host's order
inline constexpr int ethernet = 1;
inline constexpr int raw = 101;        ///< LINKTYPE_RAW: starts with IPv4 or IPv6
inline constexpr int dlt_raw_12 = 12;  ///< DLT_RAW on most BSDs
inline constexpr int dlt_raw_14 = 14;  ///< DLT_RAW on OpenBSD
inline constexpr int loop = 108;       ///< OpenBSD loopback, family in network order
inline constexpr int linux_sll = 113;
inline constexpr int ipv4 = 228;
inline constexpr int ipv6 = 229;
inline constexpr int linux_sll2 = 276;
}  // namespace link_type

/// EtherType values nettool follows.
namespace ethertype {
inline constexpr std::uint16_t ipv4 = 0x0800;
inline constexpr std::uint16_t arp = 0x0806;
inline constexpr std::uint16_t vlan = 0x8100;  ///< 802.1Q C-tag
inline constexpr std::uint16_t qinq = 0x88a8;  ///< 802.1ad S-tag
inline constexpr std::uint16_t qinq_old = 0x9100;
inline constexpr std::uint16_t ipv6 = 0x86dd;
}  // namespace ethertype

namespace ip_proto {
inline constexpr std::uint8_t hopopts = 0, icmp = 1, tcp = 6, udp = 17, routing = 43, fragment = 44, esp = 50,
                              ah = 51, icmpv6 = 58, no_next = 59, dstopts = 60;
}

struct ethernet_view {
    static constexpr std::size_t header_size = 14;
    static std::optional<ethernet_view> parse(bytes_view b) noexcept;
    std::array<std::uint8_t, 6> dst() const noexcept { return mac_at(0); }
    std::array<std::uint8_t, 6> src() const noexcept { return mac_at(6); }
    /// EtherType (or 802.3 length when < 0x0600).
    std::uint16_t type() const noexcept { return cursor::u16_at(bytes_, 12); }
    bytes_view payload() const noexcept { return bytes_.subspan(header_size); }

private:
    std::array<std::uint8_t, 6> mac_at(std::size_t off) const noexcept;
    bytes_view bytes_;
};

/// One 802.1Q / 802.1ad tag: the 4 bytes after the TPID (TCI + inner type).
struct vlan_view {
    static constexpr std::size_t header_size = 4;
    static std::optional<vlan_view> parse(bytes_view b) noexcept;
    std::uint16_t tci() const noexcept { return cursor::u16_at(bytes_, 0); }
    std::uint16_t vid() const noexcept { return tci() & 0x0fff; }
    std::uint8_t pcp() const noexcept { return static_cast<std::uint8_t>(tci() >> 13); }
    std::uint16_t type() const noexcept { return cursor::u16_at(bytes_, 2); }
    bytes_view payload() const noexcept { return bytes_.subspan(header_size); }

private:
    bytes_view bytes_;
};

/// Linux cooked capture v1 (LINKTYPE_LINUX_SLL), 16 bytes.
struct sll_view {
    static constexpr std::size_t header_size = 16;
    static std::optional<sll_view> parse(bytes_view b) noexcept;
    std::uint16_t packet_type() const noexcept { return cursor::u16_at(bytes_, 0); }
    std::uint16_t arphrd_type() const noexcept { return cursor::u16_at(bytes_, 2); }
    std::uint16_t address_length() const noexcept { return cursor::u16_at(bytes_, 4); }
    std::uint16_t protocol() const noexcept { return cursor::u16_at(bytes_, 14); }
    bytes_view payload() const noexcept { return bytes_.subspan(header_size); }

private:
    bytes_view bytes_;
};

/// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2), 20 bytes.
struct sll2_view {
    static constexpr std::size_t header_size = 20;
    static std::optional<sll2_view> parse(bytes_view b) noexcept;
    std::uint16_t protocol() const noexcept { return cursor::u16_at(bytes_, 0); }
    std::uint32_t interface_index() const noexcept { return cursor::u32_at(bytes_, 4); }
    std::uint16_t arphrd_type() const noexcept { return cursor::u16_at(bytes_, 8); }
    std::uint8_t packet_type() const noexcept { return cursor::u8_at(bytes_, 10); }
    std::uint8_t address_length() const noexcept { return cursor::u8_at(bytes_, 11); }
    bytes_view payload() const noexcept { return bytes_.subspan(header_size); }

private:
    bytes_view bytes_;
};

/// BSD loopback header (DLT_NULL: host order of the capturing machine; DLT_LOOP: network order).
struct null_view {
    static constexpr std::size_t header_size = 4;
    static std::optional<null_view> parse(bytes_view b, bool network_order) noexcept;
    /// The address family, byte order already resolved (2 = IPv4; 10/24/28/30 = IPv6).
    std::uint32_t family() const noexcept { return family_; }
    bool is_ipv4() const noexcept { return family_ == 2; }
    bool is_ipv6() const noexcept { return family_ == 10 || family_ == 24 || family_ == 28 || family_ == 30; }
    bytes_view payload() const noexcept { return bytes_.subspan(header_size); }

private:
    bytes_view bytes_;
    std::uint32_t family_ = 0;
};

struct ipv4_view {
    static constexpr std::size_t min_header_size = 20;
    /// nullopt when shorter than the header (IHL) or not version 4 / IHL < 5.
    static std::optional<ipv4_view> parse(bytes_view b) noexcept;
    std::uint8_t header_length() const noexcept {
        return static_cast<std::uint8_t>((cursor::u8_at(bytes_, 0) & 0x0f) * 4);
    }
    std::uint8_t tos() const noexcept { return cursor::u8_at(bytes_, 1); }
    std::uint16_t total_length() const noexcept { return cursor::u16_at(bytes_, 2); }
    std::uint16_t id() const noexcept { return cursor::u16_at(bytes_, 4); }
    bool dont_fragment() const noexcept { return (cursor::u16_at(bytes_, 6) & 0x4000) != 0; }
    bool more_fragments() const noexcept { return (cursor::u16_at(bytes_, 6) & 0x2000) != 0; }
    /// Fragment offset in bytes.
    std::uint32_t fragment_offset() const noexcept { return (cursor::u16_at(bytes_, 6) & 0x1fffu) * 8u; }
    bool is_fragment() const noexcept { return more_fragments() || fragment_offset() != 0; }
    std::uint8_t ttl() const noexcept { return cursor::u8_at(bytes_, 8); }
    std::uint8_t protocol() const noexcept { return cursor::u8_at(bytes_, 9); }
    std::uint16_t checksum() const noexcept { return cursor::u16_at(bytes_, 10); }
    ip_address src() const noexcept { return address_at(12); }
    ip_address dst() const noexcept { return address_at(16); }
    bytes_view options() const noexcept { return cursor::slice(bytes_, 20, header_length() - 20u); }
    /// The payload as captured, cut at total_length when the capture holds more (Ethernet padding).
    bytes_view payload() const noexcept;
    /// True when the capture holds fewer bytes than total_length says.
    bool payload_truncated() const noexcept { return bytes_.size() < total_length(); }

private:
    ip_address address_at(std::size_t off) const noexcept {
        const std::uint32_t v = cursor::u32_at(bytes_, off);
        ip_address a;  // IPv4, the last 12 bytes 0
        for (std::size_t i = 0; i < 4; ++i) a.bytes[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
        return a;
    }
    bytes_view bytes_;
};

struct ipv6_view {
    static constexpr std::size_t header_size = 40;
    static std::optional<ipv6_view> parse(bytes_view b) noexcept;
    std::uint8_t traffic_class() const noexcept {
        return static_cast<std::uint8_t>(cursor::u16_at(bytes_, 0) >> 4);
    }
    std::uint32_t flow_label() const noexcept { return cursor::u32_at(bytes_, 0) & 0xfffffu; }
    std::uint16_t payload_length() const noexcept { return cursor::u16_at(bytes_, 4); }
    std::uint8_t next_header() const noexcept { return cursor::u8_at(bytes_, 6); }
    std::uint8_t hop_limit() const noexcept { return cursor::u8_at(bytes_, 7); }
    ip_address src() const noexcept { return address_at(8); }
    ip_address dst() const noexcept { return address_at(24); }
    /// Everything after the fixed header, cut at payload_length (0 = jumbogram: all of it).
    bytes_view payload() const noexcept;

private:
    ip_address address_at(std::size_t off) const noexcept {
        ip_address a;
        a.family = ip_family::v6;
        cursor c{bytes_};
        c.seek(off);
        for (std::size_t i = 0; i < 16; i += 4) {
            const std::uint32_t v = c.u32();
            for (std::size_t k = 0; k < 4; ++k) a.bytes[i + k] = static_cast<std::uint8_t>(v >> (24 - 8 * k));
        }
        return a;
    }
    bytes_view bytes_;
};

/// What the TCP options carried (kinds 2, 3, 4, 5, 8).
struct tcp_options {
    std::optional<std::uint16_t> mss;
    std::optional<std::uint8_t> window_scale;
    bool sack_permitted = false;
    std::uint8_t sack_blocks = 0;
    std::optional<std::uint32_t> ts_value;
    std::optional<std::uint32_t> ts_echo;
    bool malformed = false;  ///< an option length ran past the option space
    bool operator==(const tcp_options&) const = default;
};

struct tcp_view {
    static constexpr std::size_t min_header_size = 20;
    static constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack_flag = 0x10, urg = 0x20,
                                  ece = 0x40, cwr = 0x80;
    /// nullopt when shorter than the data offset says, or data offset < 5.
    static std::optional<tcp_view> parse(bytes_view b) noexcept;
    std::uint16_t src_port() const noexcept { return cursor::u16_at(bytes_, 0); }
    std::uint16_t dst_port() const noexcept { return cursor::u16_at(bytes_, 2); }
    std::uint32_t seq() const noexcept { return cursor::u32_at(bytes_, 4); }
    std::uint32_t ack() const noexcept { return cursor::u32_at(bytes_, 8); }
    std::uint8_t header_length() const noexcept {
        return static_cast<std::uint8_t>((cursor::u8_at(bytes_, 12) >> 4) * 4);
    }
    std::uint8_t flags() const noexcept { return cursor::u8_at(bytes_, 13); }
    bool has(std::uint8_t flag) const noexcept { return (flags() & flag) != 0; }
    std::uint16_t window() const noexcept { return cursor::u16_at(bytes_, 14); }
    std::uint16_t checksum() const noexcept { return cursor::u16_at(bytes_, 16); }
    std::uint16_t urgent() const noexcept { return cursor::u16_at(bytes_, 18); }
    bytes_view options_bytes() const noexcept { return cursor::slice(bytes_, 20, header_length() - 20u); }
    tcp_options options() const noexcept;
    bytes_view payload() const noexcept { return bytes_.subspan(header_length()); }

private:
    bytes_view bytes_;
};

struct udp_view {
    static constexpr std::size_t header_size = 8;
    static std::optional<udp_view> parse(bytes_view b) noexcept;
    std::uint16_t src_port() const noexcept { return cursor::u16_at(bytes_, 0); }
    std::uint16_t dst_port() const noexcept { return cursor::u16_at(bytes_, 2); }
    std::uint16_t length() const noexcept { return cursor::u16_at(bytes_, 4); }
    std::uint16_t checksum() const noexcept { return cursor::u16_at(bytes_, 6); }
    /// The payload, cut at the length field when it is sane and shorter than the capture.
    bytes_view payload() const noexcept;

private:
    bytes_view bytes_;
};

/// ICMP and ICMPv6 share the first 4 bytes: type, code, checksum.
struct icmp_view {
    static constexpr std::size_t header_size = 4;
    static std::optional<icmp_view> parse(bytes_view b) noexcept;
    std::uint8_t type() const noexcept { return cursor::u8_at(bytes_, 0); }
    std::uint8_t code() const noexcept { return cursor::u8_at(bytes_, 1); }
    std::uint16_t checksum() const noexcept { return cursor::u16_at(bytes_, 2); }
    bytes_view body() const noexcept { return bytes_.subspan(header_size); }

private:
    bytes_view bytes_;
};
using icmpv6_view = icmp_view;

struct arp_view {
    static constexpr std::size_t fixed_size = 8;
    /// nullopt when shorter than 8 + 2 * (hlen + plen).
    static std::optional<arp_view> parse(bytes_view b) noexcept;
    std::uint16_t hardware_type() const noexcept { return cursor::u16_at(bytes_, 0); }
    std::uint16_t protocol_type() const noexcept { return cursor::u16_at(bytes_, 2); }
    std::uint8_t hardware_length() const noexcept { return cursor::u8_at(bytes_, 4); }
    std::uint8_t protocol_length() const noexcept { return cursor::u8_at(bytes_, 5); }
    std::uint16_t operation() const noexcept { return cursor::u16_at(bytes_, 6); }
    bytes_view sender_hw() const noexcept { return cursor::slice(bytes_, 8, hardware_length()); }
    bytes_view sender_proto() const noexcept {
        return cursor::slice(bytes_, 8u + hardware_length(), protocol_length());
    }
    bytes_view target_hw() const noexcept {
        return cursor::slice(bytes_, 8u + hardware_length() + protocol_length(), hardware_length());
    }
    bytes_view target_proto() const noexcept {
        return cursor::slice(bytes_, 8u + 2u * hardware_length() + protocol_length(), protocol_length());
    }
    /// The sender's and target's IPv4 addresses when the protocol is IPv4 (type 0x0800, length
    /// 4); nullopt for any other protocol address.
    std::optional<ip_address> sender_ip() const noexcept { return ipv4_at(sender_proto()); }
    std::optional<ip_address> target_ip() const noexcept { return ipv4_at(target_proto()); }

private:
    std::optional<ip_address> ipv4_at(bytes_view proto_address) const noexcept;
    bytes_view bytes_;
};

/// A DNS name read into a fixed buffer (dotted, no trailing dot; "." for the root).
struct dns_name {
    std::array<char, 256> text{};
    std::uint16_t length = 0;
    std::string_view view() const noexcept { return {text.data(), length}; }
};

/// DNS message header and first question. parse() needs the 12-byte header; question() reads
/// the first question's name with a bounded reader (at most 255 bytes of name, 128 labels,
/// 16 compression pointers, each pointing strictly backwards).
struct dns_view {
    static constexpr std::size_t header_size = 12;
    static std::optional<dns_view> parse(bytes_view b) noexcept;
    std::uint16_t id() const noexcept { return cursor::u16_at(bytes_, 0); }
    std::uint16_t flags() const noexcept { return cursor::u16_at(bytes_, 2); }
    bool is_response() const noexcept { return (flags() & 0x8000) != 0; }
    std::uint8_t opcode() const noexcept { return static_cast<std::uint8_t>((flags() >> 11) & 0x0f); }
    std::uint8_t rcode() const noexcept { return static_cast<std::uint8_t>(flags() & 0x0f); }
    bool truncated_flag() const noexcept { return (flags() & 0x0200) != 0; }
    std::uint16_t question_count() const noexcept { return cursor::u16_at(bytes_, 4); }
    std::uint16_t answer_count() const noexcept { return cursor::u16_at(bytes_, 6); }
    std::uint16_t authority_count() const noexcept { return cursor::u16_at(bytes_, 8); }
    std::uint16_t additional_count() const noexcept { return cursor::u16_at(bytes_, 10); }

    struct question {
        dns_name name;
        std::uint16_t qtype = 0;
        std::uint16_t qclass = 0;
    };
    /// The first question, or nullopt when there is none or it is truncated/malformed.
    std::optional<question> first_question() const noexcept;

    /// Reads a (possibly compressed) name starting at c's position within message msg; leaves c
    /// after the name in the original position. False on truncation or a malformed name.
    static bool read_name(bytes_view msg, cursor& c, dns_name& out) noexcept;

    /// True when the message holds everything its header counts: every question and every
    /// record of the three sections, each name readable by read_name() (so no pointer loops and
    /// no forward pointers) and each record's type, class, TTL and data inside the message; at
    /// most one OPT record, in the additional section, and a TSIG only as the last record. Bytes
    /// after the last record are allowed. Bounded by the message size; does not allocate.
    bool well_formed() const noexcept;

private:
    bytes_view bytes_;
};

/// Layers decode() can find, in the order they may appear. Each has one row in the protocol
/// table (lib/src/packet/proto/protocol.hpp), at its own index.
enum class layer : std::uint8_t {
    ethernet,
    vlan,
    sll,
    sll2,
    null_loop,
    ipv4,
    ipv6,
    ipv6_ext,
    tcp,
    udp,
    icmp,
    icmpv6,
    arp,
    dns,
    count_
};
std::string_view layer_name(layer l) noexcept;

/// Why decode() stopped.
enum class decode_stop : std::uint8_t {
    complete,               ///< every layer nettool follows was decoded
    truncated,              ///< a header was cut short by the capture length
    malformed,              ///< a header is complete but inconsistent (bad version, length < header)
    unsupported_link_type,  ///< the link type is not one nettool decodes
    unsupported_ethertype,  ///< a link/VLAN payload of a type nettool does not follow
    unsupported_protocol,   ///< an IP payload nettool does not follow (e.g. GRE, SCTP)
    not_first_fragment,     ///< an IP fragment with offset > 0: no transport header
    encrypted,              ///< ESP
    too_many_headers,       ///< more VLAN tags or IPv6 extension headers than the decoder follows
};
std::string_view decode_stop_name(decode_stop s) noexcept;

/// Extra ports to decode as DNS besides 53 and 5353 (0 = none).
struct decode_options {
    std::uint16_t extra_dns_port = 0;
};

struct decoded_packet {
    static constexpr std::size_t max_layers = 16;
    int link_type = 0;
    decode_stop stop = decode_stop::complete;
    /// The layer that was being decoded when stop is not complete.
    std::optional<layer> stopped_at;
    std::array<layer, max_layers> path{};  ///< layers found, outermost first
    std::uint8_t depth = 0;
    /// path[0, own_depth) are this packet's own headers; path[own_depth, depth) are headers
    /// quoted inside an ICMP error (in the hierarchy, as tshark counts them, but not in the views).
    std::uint8_t own_depth = 0;
    std::uint8_t vlan_tags = 0;
    std::uint16_t ethertype = 0;   ///< last EtherType seen (0 when none)
    std::uint8_t ip_protocol = 0;  ///< last IP next-header seen
    bool ip_fragment = false;      ///< any IP fragment (first or later)

    std::optional<ethernet_view> ethernet;
    std::optional<sll_view> sll;
    std::optional<sll2_view> sll2;
    std::optional<null_view> null_loop;
    std::optional<vlan_view> vlan;  ///< innermost tag
    std::optional<ipv4_view> ipv4;  ///< outermost IPv4 header
    std::optional<ipv6_view> ipv6;  ///< outermost IPv6 header
    std::optional<tcp_view> tcp;
    std::optional<udp_view> udp;
    std::optional<icmp_view> icmp;
    std::optional<icmpv6_view> icmpv6;
    std::optional<arp_view> arp;
    std::optional<dns_view> dns;
    /// Bytes after the last decoded header (transport payload for TCP/UDP).
    bytes_view payload;
    /// Bytes the outermost IP header's length field counts beyond what was captured (a snaplen
    /// cut): the on-wire transport payload is payload.size() + uncaptured, as tshark reckons it
    /// (the inspector caps it at what the frame's on-wire length leaves).
    std::uint32_t uncaptured = 0;

    bool has(layer l) const noexcept;
};

/// Decodes one captured packet. Never reads outside bytes; never allocates.
decoded_packet decode(int link_type, bytes_view bytes, const decode_options& opts = {}) noexcept;

/// "unsupported link type 147 (USER0)"-style text needs the pcap name table; decoders only
/// know the types they follow. True for those.
bool is_supported_link_type(int link_type) noexcept;

}  // namespace nettool
NETTOOL_API_END
