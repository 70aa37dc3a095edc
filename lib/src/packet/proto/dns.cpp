// DNS (RFC 1035) on ports 53 and 5353 (and --dns-port): the header and the first question,
// over UDP and over TCP (2-byte length prefix; only segments that start a message). Prints
// "DNS query|response id N NAME [rcode R]" for UDP; over TCP the segment's TCP line is printed,
// as tcpdump does without -v. Inspect hook: queries, responses, rcodes and query-to-response
// latency, matched by id and client endpoint in a fixed table.
//
// The dns layer (nettool dns) reads received headers through this view too.
#include "packet/inspect_state.hpp"
#include "packet/proto/protocol.hpp"

#include <iterator>
#include <utility>

namespace nettool {

static_assert(dns_view::header_size == 12);

std::optional<dns_view> dns_view::parse(bytes_view b) noexcept {
    if (b.size() < header_size) return std::nullopt;
    dns_view v;
    v.bytes_ = b;
    return v;
}

bool dns_view::read_name(bytes_view msg, cursor& c, dns_name& out) noexcept {
    constexpr int max_pointers = 16;
    constexpr int max_labels = 128;
    cursor r{msg};
    if (!r.seek(c.offset())) return false;
    out.length = 0;
    bool jumped = false;
    int pointers = 0;
    int labels = 0;
    for (;;) {
        std::size_t label_start = r.offset();
        std::uint8_t len = r.u8();
        if (!r.ok()) return false;
        if ((len & 0xc0) == 0xc0) {
            std::uint8_t lo = r.u8();
            if (!r.ok()) return false;
            std::size_t target = (static_cast<std::size_t>(len & 0x3f) << 8) | lo;
            // Only backwards pointers, and only a few: no loops, bounded work.
            if (target >= label_start || ++pointers > max_pointers) return false;
            if (!jumped) {
                c.seek(r.offset());
                jumped = true;
            }
            r.seek(target);
            continue;
        }
        if ((len & 0xc0) != 0) return false;  // extended label types
        if (len == 0) break;
        if (++labels > max_labels) return false;
        bytes_view label = r.take(len);
        if (!r.ok()) return false;
        std::size_t need = (out.length != 0 ? 1u : 0u) + len;
        if (out.length + need > 255) return false;
        if (out.length != 0) out.text[out.length++] = '.';
        cursor lc{label};
        while (!lc.empty()) {
            auto ch = static_cast<char>(lc.u8());
            out.text[out.length++] = (ch > 0x20 && ch < 0x7f) ? ch : '?';
        }
    }
    if (!jumped) c.seek(r.offset());
    if (out.length == 0) {
        out.text[0] = '.';
        out.length = 1;
    }
    return true;
}

std::optional<dns_view::question> dns_view::first_question() const noexcept {
    if (question_count() == 0) return std::nullopt;
    cursor c{bytes_};
    c.skip(header_size);
    question q;
    if (!read_name(bytes_, c, q.name)) return std::nullopt;
    q.qtype = c.u16();
    q.qclass = c.u16();
    if (!c.ok()) return std::nullopt;
    return q;
}

bool dns_view::well_formed() const noexcept {
    cursor c{bytes_};
    c.skip(header_size);
    dns_name scratch;
    for (unsigned i = 0; i < question_count(); ++i) {
        if (!read_name(bytes_, c, scratch)) return false;
        c.skip(4);  // type, class
        if (!c.ok()) return false;
    }
    // Each record takes at least 11 bytes, so a count beyond the message ends the loop early.
    constexpr std::uint16_t type_opt = 41;
    constexpr std::uint16_t type_tsig = 250;
    const unsigned first_additional = unsigned{answer_count()} + authority_count();
    const unsigned records = first_additional + additional_count();
    bool seen_opt = false;
    for (unsigned i = 0; i < records; ++i) {
        if (!read_name(bytes_, c, scratch)) return false;
        const std::uint16_t type = c.u16();
        c.skip(6);  // class, TTL
        const std::uint16_t rdlength = c.u16();
        c.skip(rdlength);
        if (!c.ok()) return false;
        // One OPT, in the additional section (RFC 6891 6.1.1); a TSIG only as the very last
        // record (RFC 8945 5.1). Anything else is a FORMERR, and libldns leaks every TSIG but
        // the last one it reads.
        if (type == type_opt && (i < first_additional || std::exchange(seen_opt, true))) return false;
        if (type == type_tsig && i + 1 != records) return false;
    }
    return true;
}

namespace detail {

void decode_dns(decode_context& ctx, bytes_view b) noexcept {
    if (ctx.p.tcp) {
        // DNS over TCP: a 2-byte length prefix; only segments that start a message.
        cursor c{b};
        std::uint16_t len = c.u16();
        if (c.ok() && len >= dns_view::header_size && c.remaining() >= dns_view::header_size) {
            ctx.p.dns = dns_view::parse(c.rest());
            ctx.push(layer::dns);
        }
        return;
    }
    if (b.empty()) return;
    auto d = dns_view::parse(b);
    if (!d) return ctx.stop(decode_stop::truncated, layer::dns);
    ctx.p.dns = d;
    ctx.push(layer::dns);
}

bool print_dns(const decoded_packet& p, std::uint32_t, fmt::memory_buffer& out) {
    if (!p.dns || !p.udp) return false;  // over TCP: the TCP line
    const dns_view& m = *p.dns;
    print_ip_prefix(out, p, p.udp->src_port(), p.udp->dst_port());
    auto q = m.first_question();
    auto it = std::back_inserter(out);
    fmt::format_to(it, "DNS {} id {} {}", m.is_response() ? "response" : "query", m.id(),
                   q ? q->name.view() : std::string_view{"?"});
    if (m.is_response()) fmt::format_to(it, " rcode {}", m.rcode());
    return true;
}

void analyze_dns(inspect_state& s, const decoded_packet& p, std::int64_t t, std::uint32_t) {
    if (!p.dns) return;
    const dns_view& m = *p.dns;
    dns_summary& dns = s.dns;
    ++dns.messages;
    if (m.question_count() != 0 && !m.first_question()) ++dns.malformed_questions;

    // The client endpoint: source of a query, destination of a response.
    ip_address client;
    std::uint16_t client_port = 0;
    const bool response = m.is_response();
    if (p.ipv4) {
        client = response ? p.ipv4->dst() : p.ipv4->src();
    } else if (p.ipv6) {
        client = response ? p.ipv6->dst() : p.ipv6->src();
    }
    if (p.udp) client_port = response ? p.udp->dst_port() : p.udp->src_port();
    if (p.tcp) client_port = response ? p.tcp->dst_port() : p.tcp->src_port();

    std::size_t h = m.id();
    h = h * 31 + client_port;
    for (auto b : client.bytes) h = h * 131 + b;
    dns_pending& slot = s.pending[h % dns_pending_slots];
    if (!response) {
        ++dns.queries;
        slot = dns_pending{true, m.id(), client_port, client, t};
    } else {
        ++dns.responses;
        ++dns.rcodes[m.rcode()];
        if (slot.used && slot.id == m.id() && slot.client_port == client_port && slot.client == client &&
            t >= slot.time) {
            ++dns.answered;
            dns.latency.record(std::chrono::nanoseconds{t - slot.time});
            slot.used = false;
        }
    }
}

}  // namespace detail
}  // namespace nettool
