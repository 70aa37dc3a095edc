#include "trace/probe_tag.hpp"

#include <nettool/core/cursor.hpp>

namespace nettool::detail {

namespace {

// One's-complement addition of 16-bit words (RFC 1071).
std::uint16_t ones_add(std::uint16_t a, std::uint16_t b) noexcept {
    std::uint32_t s = std::uint32_t{a} + b;
    s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(s);
}

}  // namespace

void write_probe_tag(std::span<std::byte> out, const probe_tag& tag) noexcept {
    if (out.size() < probe_tag_size) return;
    put_be32(out, 0, probe_magic);
    put_be32(out, 4, tag.token);
    put_be16(out, 8, tag.seq);
    out[10] = static_cast<std::byte>(tag.ttl);
    out[11] = static_cast<std::byte>(tag.flow);
    put_be16(out, 12, tag.balance);
}

std::uint16_t probe_balance(const probe_tag& tag, bool icmp, std::uint16_t target) noexcept {
    // The words that change from probe to probe: the tag's seq and ttl/flow, and for ICMP the
    // echo header's sequence number (the same value as the tag's). Everything else in the
    // checksummed bytes is fixed for the flow.
    std::uint16_t varying = ones_add(tag.seq, static_cast<std::uint16_t>((tag.ttl << 8) | tag.flow));
    if (icmp) varying = ones_add(varying, tag.seq);
    // balance + varying == target in one's-complement arithmetic.
    return ones_add(target, static_cast<std::uint16_t>(~varying));
}

quote_match parse_probe_quote(std::span<const std::byte> quoted, quote_kind kind,
                              std::uint32_t token) noexcept {
    quote_match m;
    cursor c{quoted};
    std::uint16_t echo_seq = 0;
    if (kind == quote_kind::tcp_header) {
        m.id = c.u16();  // source port; the destination port the kernel matched
        c.skip(2);
        const std::uint32_t seq = c.u32();
        if (!c.ok()) return m;
        if ((seq >> 16) != (token & 0xffff)) {
            m.status = quote_status::foreign;
            return m;
        }
        m.status = quote_status::ok;
        m.tag.token = token;
        m.tag.seq = static_cast<std::uint16_t>(seq & 0xffff);
        m.header_only = true;
        return m;
    }
    if (kind == quote_kind::icmp_echo) {
        const std::uint8_t type = c.u8();
        c.skip(3);  // code, checksum
        m.id = c.u16();
        echo_seq = c.u16();
        if (!c.ok()) return m;
        // Echo request (quoted in an error) or echo reply, ICMP or ICMPv6.
        if (type != 8 && type != 0 && type != 128 && type != 129) {
            m.status = quote_status::foreign;
            return m;
        }
        if (c.empty()) {
            // An RFC 792 minimum quote: 8 bytes of the ICMP header, the sequence number only.
            m.status = quote_status::ok;
            m.header_only = true;
            m.tag.seq = echo_seq;
            return m;
        }
    }
    const std::uint32_t magic = c.u32();
    const std::uint32_t got_token = c.u32();
    probe_tag t;
    t.token = got_token;
    t.seq = c.u16();
    t.ttl = c.u8();
    t.flow = c.u8();
    t.balance = c.u16();
    if (!c.ok()) {
        // Cut inside the tag. An ICMP quote still has the echo header's sequence number (the
        // kernel matched the identifier); a UDP quote has nothing to go by.
        if (kind == quote_kind::icmp_echo) {
            m.status = quote_status::ok;
            m.header_only = true;
            m.tag = probe_tag{};
            m.tag.seq = echo_seq;
        }
        return m;
    }
    if (magic != probe_magic || got_token != token || (kind == quote_kind::icmp_echo && t.seq != echo_seq)) {
        m.status = quote_status::foreign;
        return m;
    }
    m.status = quote_status::ok;
    m.tag = t;
    return m;
}

std::span<const std::byte> ipv4_payload(std::span<const std::byte> packet) noexcept {
    cursor c{packet};
    const std::uint8_t vihl = c.u8();
    if (!c.ok() || (vihl >> 4) != 4) return {};
    const std::size_t ihl = std::size_t{vihl & 0x0fU} * 4;
    if (ihl < 20 || !c.seek(ihl)) return {};
    return c.rest();
}

bool parse_tcp_answer(std::span<const std::byte> segment, tcp_answer& out) noexcept {
    cursor c{segment};
    out.source_port = c.u16();
    out.dest_port = c.u16();
    c.skip(4);  // sequence number
    out.ack = c.u32();
    c.skip(1);  // data offset
    const std::uint8_t flags = c.u8();
    if (!c.ok()) return false;
    out.syn = (flags & 0x02) != 0;
    out.rst = (flags & 0x04) != 0;
    out.ack_flag = (flags & 0x10) != 0;
    return true;
}

}  // namespace nettool::detail
