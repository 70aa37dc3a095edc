#include <nettool/packet/packet.hpp>

#include <algorithm>

namespace nettool {

static_assert(ethernet_view::header_size == 14);
static_assert(sll_view::header_size == 16);
static_assert(sll2_view::header_size == 20);
static_assert(ipv4_view::min_header_size == 20);
static_assert(ipv6_view::header_size == 40);
static_assert(tcp_view::min_header_size == 20);
static_assert(udp_view::header_size == 8);
static_assert(dns_view::header_size == 12);

// ---- views -------------------------------------------------------------------------------

std::optional<ethernet_view> ethernet_view::parse(bytes_view b) noexcept {
    if (b.size() < header_size) return std::nullopt;
    ethernet_view v;
    v.bytes_ = b;
    return v;
}

std::array<std::uint8_t, 6> ethernet_view::mac_at(std::size_t off) const noexcept {
    std::array<std::uint8_t, 6> m{};
    cursor c{bytes_};
    c.seek(off);
    for (auto& x : m) x = c.u8();
    return m;
}

std::optional<vlan_view> vlan_view::parse(bytes_view b) noexcept {
    if (b.size() < header_size) return std::nullopt;
    vlan_view v;
    v.bytes_ = b;
    return v;
}

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

std::optional<null_view> null_view::parse(bytes_view b, bool network_order) noexcept {
    cursor c{b};
    std::uint32_t fam = 0;
    if (network_order) {
        fam = c.u32();
    } else {
        // DLT_NULL is in the capturing host's order: a family fits in 16 bits, so a value with
        // high bits set was written by a host of the other endianness.
        fam = c.u32_le();
        if ((fam & 0xffff0000u) != 0) fam = cursor::u32_at(b, 0);
    }
    if (!c.ok()) return std::nullopt;
    null_view v;
    v.bytes_ = b;
    v.family_ = fam;
    return v;
}

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

std::optional<ipv6_view> ipv6_view::parse(bytes_view b) noexcept {
    cursor c{b};
    std::uint8_t v0 = c.u8();
    if (!c.ok() || (v0 >> 4) != 6 || b.size() < header_size) return std::nullopt;
    ipv6_view v;
    v.bytes_ = b;
    return v;
}

bytes_view ipv6_view::payload() const noexcept {
    bytes_view rest = bytes_.subspan(header_size);
    std::size_t pl = payload_length();
    if (pl != 0 && pl < rest.size()) return rest.first(pl);
    return rest;
}

std::array<std::uint8_t, 16> ipv6_view::addr_at(std::size_t off) const noexcept {
    std::array<std::uint8_t, 16> a{};
    cursor c{bytes_};
    c.seek(off);
    for (auto& x : a) x = c.u8();
    return a;
}

std::optional<tcp_view> tcp_view::parse(bytes_view b) noexcept {
    if (b.size() < min_header_size) return std::nullopt;
    std::size_t hl = static_cast<std::size_t>(cursor::u8_at(b, 12) >> 4) * 4;
    if (hl < min_header_size || hl > b.size()) return std::nullopt;
    tcp_view v;
    v.bytes_ = b;
    return v;
}

tcp_options tcp_view::options() const noexcept {
    tcp_options o;
    cursor c{options_bytes()};
    while (!c.empty()) {
        std::uint8_t kind = c.u8();
        if (kind == 0) break;     // end of option list
        if (kind == 1) continue;  // NOP
        std::uint8_t len = c.u8();
        if (!c.ok() || len < 2 || !c.has(len - 2u)) {
            o.malformed = true;
            break;
        }
        cursor body{c.take(len - 2u)};
        switch (kind) {
            case 2:
                if (len == 4) o.mss = body.u16();
                break;
            case 3:
                if (len == 3) o.window_scale = body.u8();
                break;
            case 4: o.sack_permitted = true; break;
            case 5: o.sack_blocks = static_cast<std::uint8_t>((len - 2u) / 8u); break;
            case 8:
                if (len == 10) {
                    o.ts_value = body.u32();
                    o.ts_echo = body.u32();
                }
                break;
            default: break;
        }
    }
    return o;
}

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

std::optional<icmp_view> icmp_view::parse(bytes_view b) noexcept {
    if (b.size() < header_size) return std::nullopt;
    icmp_view v;
    v.bytes_ = b;
    return v;
}

std::optional<arp_view> arp_view::parse(bytes_view b) noexcept {
    cursor c{b};
    c.skip(4);
    std::size_t hl = c.u8();
    std::size_t pl = c.u8();
    if (!c.ok() || b.size() < fixed_size + 2 * (hl + pl)) return std::nullopt;
    arp_view v;
    v.bytes_ = b;
    return v;
}

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

// ---- names -------------------------------------------------------------------------------

std::string_view layer_name(layer l) noexcept {
    switch (l) {
        case layer::ethernet: return "eth";
        case layer::vlan: return "vlan";
        case layer::sll: return "sll";
        case layer::sll2: return "sll2";
        case layer::null_loop: return "null";
        case layer::ipv4: return "ip";
        case layer::ipv6: return "ipv6";
        case layer::ipv6_ext: return "ipv6.ext";
        case layer::tcp: return "tcp";
        case layer::udp: return "udp";
        case layer::icmp: return "icmp";
        case layer::icmpv6: return "icmpv6";
        case layer::arp: return "arp";
        case layer::dns: return "dns";
        case layer::count_: break;
    }
    return "?";
}

std::string_view decode_stop_name(decode_stop s) noexcept {
    switch (s) {
        case decode_stop::complete: return "complete";
        case decode_stop::truncated: return "truncated";
        case decode_stop::malformed: return "malformed";
        case decode_stop::unsupported_link_type: return "unsupported link type";
        case decode_stop::unsupported_ethertype: return "unsupported ethertype";
        case decode_stop::unsupported_protocol: return "unsupported IP protocol";
        case decode_stop::not_first_fragment: return "IP fragment (not first)";
        case decode_stop::encrypted: return "encrypted (ESP)";
        case decode_stop::too_many_headers: return "too many headers";
    }
    return "?";
}

bool is_supported_link_type(int lt) noexcept {
    switch (lt) {
        case link_type::null:
        case link_type::ethernet:
        case link_type::raw:
        case link_type::dlt_raw_12:
        case link_type::dlt_raw_14:
        case link_type::loop:
        case link_type::linux_sll:
        case link_type::ipv4:
        case link_type::ipv6:
        case link_type::linux_sll2: return true;
        default: return false;
    }
}

bool decoded_packet::has(layer l) const noexcept {
    return std::find(path.begin(), path.begin() + depth, l) != path.begin() + depth;
}

// ---- decoder -----------------------------------------------------------------------------

namespace {

constexpr int max_vlan_tags = 8;
constexpr int max_ipv6_ext = 8;

class decoder {
public:
    decoder(decoded_packet& p, const decode_options& o) : p_(p), o_(o) {}

    void link(int lt, bytes_view b) noexcept {
        switch (lt) {
            case link_type::ethernet: {
                auto e = ethernet_view::parse(b);
                if (!e) return stop(decode_stop::truncated, layer::ethernet);
                p_.ethernet = e;
                push(layer::ethernet);
                return ether(e->type(), e->payload());
            }
            case link_type::linux_sll: {
                auto s = sll_view::parse(b);
                if (!s) return stop(decode_stop::truncated, layer::sll);
                p_.sll = s;
                push(layer::sll);
                return ether(s->protocol(), s->payload());
            }
            case link_type::linux_sll2: {
                auto s = sll2_view::parse(b);
                if (!s) return stop(decode_stop::truncated, layer::sll2);
                p_.sll2 = s;
                push(layer::sll2);
                return ether(s->protocol(), s->payload());
            }
            case link_type::null:
            case link_type::loop: {
                auto n = null_view::parse(b, lt == link_type::loop);
                if (!n) return stop(decode_stop::truncated, layer::null_loop);
                p_.null_loop = n;
                push(layer::null_loop);
                if (n->is_ipv4()) return ether(ethertype::ipv4, n->payload());
                if (n->is_ipv6()) return ether(ethertype::ipv6, n->payload());
                return stop(decode_stop::unsupported_ethertype, layer::null_loop);
            }
            case link_type::raw:
            case link_type::dlt_raw_12:
            case link_type::dlt_raw_14: {
                cursor c{b};
                std::uint8_t v = c.u8();
                if (!c.ok()) return stop(decode_stop::truncated, layer::ipv4);
                if ((v >> 4) == 4) return ether(ethertype::ipv4, b);
                if ((v >> 4) == 6) return ether(ethertype::ipv6, b);
                return stop(decode_stop::malformed, layer::ipv4);
            }
            case link_type::ipv4: return ether(ethertype::ipv4, b);
            case link_type::ipv6: return ether(ethertype::ipv6, b);
            default: p_.stop = decode_stop::unsupported_link_type; return;
        }
    }

private:
    void push(layer l) noexcept {
        if (p_.depth < decoded_packet::max_layers) p_.path[p_.depth++] = l;
    }
    void stop(decode_stop s, layer l) noexcept {
        if (p_.stop == decode_stop::complete) {
            p_.stop = s;
            p_.stopped_at = l;
        }
    }

    void ether(std::uint16_t type, bytes_view b) noexcept {
        while (type == ethertype::vlan || type == ethertype::qinq || type == ethertype::qinq_old) {
            if (p_.vlan_tags >= max_vlan_tags) return stop(decode_stop::too_many_headers, layer::vlan);
            auto v = vlan_view::parse(b);
            if (!v) return stop(decode_stop::truncated, layer::vlan);
            p_.vlan = v;
            ++p_.vlan_tags;
            push(layer::vlan);
            type = v->type();
            b = v->payload();
        }
        p_.ethertype = type;
        switch (type) {
            case ethertype::ipv4: return ipv4(b);
            case ethertype::ipv6: return ipv6(b);
            case ethertype::arp: {
                auto a = arp_view::parse(b);
                if (!a) return stop(decode_stop::truncated, layer::arp);
                if (!inner_) p_.arp = a;
                push(layer::arp);
                return;
            }
            default: return stop(decode_stop::unsupported_ethertype, layer::ethernet);
        }
    }

    void ipv4(bytes_view b) noexcept {
        auto ip = ipv4_view::parse(b);
        if (!ip) {
            cursor c{b};
            std::uint8_t v = c.u8();
            bool bad = c.ok() && ((v >> 4) != 4 || (v & 0x0f) < 5);
            return stop(bad ? decode_stop::malformed : decode_stop::truncated, layer::ipv4);
        }
        if (!inner_ && !p_.ipv4 && !p_.ipv6) p_.ipv4 = ip;
        push(layer::ipv4);
        if (ip->total_length() != 0 && ip->total_length() < ip->header_length())
            return stop(decode_stop::malformed, layer::ipv4);
        if (ip->is_fragment()) p_.ip_fragment = true;
        if (ip->fragment_offset() != 0) {
            bool cut = !inner_ && ip->total_length() != 0 && ip->payload_truncated();
            return stop(cut ? decode_stop::truncated : decode_stop::not_first_fragment, layer::ipv4);
        }
        transport(ip->protocol(), ip->payload(), false);
        // Every header decoded, but the capture holds less than the IP length says (snaplen).
        if (!inner_ && ip->total_length() != 0 && ip->payload_truncated())
            stop(decode_stop::truncated, layer::ipv4);
    }

    void ipv6(bytes_view b) noexcept {
        auto ip = ipv6_view::parse(b);
        if (!ip) {
            cursor c{b};
            std::uint8_t v = c.u8();
            bool bad = c.ok() && (v >> 4) != 6;
            return stop(bad ? decode_stop::malformed : decode_stop::truncated, layer::ipv6);
        }
        if (!inner_ && !p_.ipv4 && !p_.ipv6) p_.ipv6 = ip;
        push(layer::ipv6);
        std::uint8_t nh = ip->next_header();
        bytes_view rest = ip->payload();
        for (int n = 0;; ++n) {
            if (nh != ip_proto::hopopts && nh != ip_proto::routing && nh != ip_proto::dstopts &&
                nh != ip_proto::fragment && nh != ip_proto::ah)
                break;
            if (n >= max_ipv6_ext) return stop(decode_stop::too_many_headers, layer::ipv6_ext);
            cursor c{rest};
            std::uint8_t next = c.u8();
            std::uint8_t len = c.u8();
            if (!c.ok()) return stop(decode_stop::truncated, layer::ipv6_ext);
            std::size_t size = 0;
            if (nh == ip_proto::fragment) {
                std::uint16_t off = c.u16();
                if (!c.has(4)) return stop(decode_stop::truncated, layer::ipv6_ext);
                p_.ip_fragment = true;
                if ((off >> 3) != 0) {
                    p_.ip_protocol = next;
                    return stop(decode_stop::not_first_fragment, layer::ipv6_ext);
                }
                size = 8;
            } else if (nh == ip_proto::ah) {
                size = (static_cast<std::size_t>(len) + 2) * 4;
            } else {
                size = (static_cast<std::size_t>(len) + 1) * 8;
            }
            if (rest.size() < size) return stop(decode_stop::truncated, layer::ipv6_ext);
            rest = rest.subspan(size);
            nh = next;
        }
        transport(nh, rest, true);
        if (!inner_ && ip->payload_length() != 0 && b.size() - ipv6_view::header_size < ip->payload_length())
            stop(decode_stop::truncated, layer::ipv6);
    }

    bool is_dns_port(std::uint16_t port) const noexcept {
        return port == 53 || port == 5353 || (o_.extra_dns_port != 0 && port == o_.extra_dns_port);
    }

    void transport(std::uint8_t proto, bytes_view b, bool v6) noexcept {
        p_.ip_protocol = proto;
        switch (proto) {
            case ip_proto::tcp: {
                auto t = tcp_view::parse(b);
                if (!t) {
                    bool bad = b.size() >= tcp_view::min_header_size;  // data offset < 5 or past the end
                    bool past_end = bad && (cursor::u8_at(b, 12) >> 4) >= 5;
                    return stop(bad && !past_end ? decode_stop::malformed : decode_stop::truncated,
                                layer::tcp);
                }
                if (!inner_) p_.tcp = t;
                push(layer::tcp);
                if (inner_) return;
                p_.payload = t->payload();
                if (is_dns_port(t->src_port()) || is_dns_port(t->dst_port())) {
                    // DNS over TCP: a 2-byte length prefix; only segments that start a message.
                    cursor c{p_.payload};
                    std::uint16_t len = c.u16();
                    if (c.ok() && len >= dns_view::header_size && c.remaining() >= dns_view::header_size) {
                        p_.dns = dns_view::parse(c.rest());
                        push(layer::dns);
                    }
                }
                return;
            }
            case ip_proto::udp: {
                auto u = udp_view::parse(b);
                if (!u) return stop(decode_stop::truncated, layer::udp);
                if (!inner_) p_.udp = u;
                push(layer::udp);
                if (inner_) return;
                p_.payload = u->payload();
                if ((is_dns_port(u->src_port()) || is_dns_port(u->dst_port())) && !p_.payload.empty()) {
                    auto d = dns_view::parse(p_.payload);
                    if (!d) return stop(decode_stop::truncated, layer::dns);
                    p_.dns = d;
                    push(layer::dns);
                }
                return;
            }
            case ip_proto::icmp:
            case ip_proto::icmpv6: {
                bool is6 = proto == ip_proto::icmpv6;
                layer l = is6 ? layer::icmpv6 : layer::icmp;
                auto ic = icmp_view::parse(b);
                if (!ic) return stop(decode_stop::truncated, l);
                if (!inner_) (is6 ? p_.icmpv6 : p_.icmp) = ic;
                push(l);
                if (inner_) return;
                p_.payload = ic->body();
                // Error messages quote the offending packet: decode it as an inner layer (its
                // layers count for the protocol hierarchy, as in tshark, but not for flows).
                std::uint8_t t = ic->type();
                bool error = is6 ? (t >= 1 && t <= 4) : (t == 3 || t == 4 || t == 5 || t == 11 || t == 12);
                bytes_view body = ic->body();
                if (error && body.size() > 4) {
                    inner_ = true;
                    decode_stop saved = p_.stop;
                    auto saved_at = p_.stopped_at;
                    auto saved_proto = p_.ip_protocol;
                    if (is6)
                        ipv6(body.subspan(4));
                    else
                        ipv4(body.subspan(4));
                    // A quoted packet is cut short by design: that is not this packet's problem.
                    p_.stop = saved;
                    p_.stopped_at = saved_at;
                    p_.ip_protocol = saved_proto;
                    inner_ = false;
                }
                return;
            }
            case ip_proto::esp: return stop(decode_stop::encrypted, v6 ? layer::ipv6 : layer::ipv4);
            case ip_proto::no_next: return;
            default: return stop(decode_stop::unsupported_protocol, v6 ? layer::ipv6 : layer::ipv4);
        }
    }

    decoded_packet& p_;
    const decode_options& o_;
    bool inner_ = false;
};

}  // namespace

decoded_packet decode(int lt, bytes_view bytes, const decode_options& opts) noexcept {
    decoded_packet p;
    p.link_type = lt;
    decoder d{p, opts};
    d.link(lt, bytes);
    return p;
}

}  // namespace nettool
