// TCP (RFC 9293): header and options; DNS on its ports. Prints tcpdump's "Flags [S.], seq,
// ack, win, length" line. Inspect hook: the conversation, the handshake and the analysis after
// Wireshark's tcp.analysis.* (retransmissions, duplicate ACKs, out-of-order, lost segments,
// zero windows, keep-alives, resets).
#include "packet/inspect_state.hpp"
#include "packet/proto/protocol.hpp"

#include <iterator>

namespace nettool {

static_assert(tcp_view::min_header_size == 20);

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

namespace detail {

void decode_tcp(decode_context& ctx, bytes_view b) noexcept {
    auto t = tcp_view::parse(b);
    if (!t) {
        bool bad = b.size() >= tcp_view::min_header_size;  // data offset < 5 or past the end
        bool past_end = bad && (cursor::u8_at(b, 12) >> 4) >= 5;
        return ctx.stop(bad && !past_end ? decode_stop::malformed : decode_stop::truncated, layer::tcp);
    }
    if (!ctx.quoted) ctx.p.tcp = t;
    ctx.push(layer::tcp);
    if (ctx.quoted) return;
    ctx.p.payload = t->payload();
    next_port(ctx, t->src_port(), t->dst_port(), ctx.p.payload);
}

// ---- print -------------------------------------------------------------------------------------

bool print_tcp(const decoded_packet& p, std::uint32_t, fmt::memory_buffer& out) {
    if (!p.tcp) return false;
    const tcp_view& t = *p.tcp;
    print_ip_prefix(out, p, t.src_port(), t.dst_port());
    // tcpdump's flag letters, in its order; "." is ACK.
    constexpr std::pair<std::uint8_t, char> letters[] = {
        {tcp_view::syn, 'S'}, {tcp_view::fin, 'F'}, {tcp_view::psh, 'P'}, {tcp_view::rst, 'R'},
        {tcp_view::urg, 'U'}, {tcp_view::ece, 'E'}, {tcp_view::cwr, 'W'}, {tcp_view::ack_flag, '.'}};
    out.append(std::string_view{"Flags ["});
    bool any = false;
    for (auto [bit, letter] : letters) {
        if (t.has(bit)) {
            out.push_back(letter);
            any = true;
        }
    }
    if (!any) out.append(std::string_view{"none"});
    auto it = std::back_inserter(out);
    fmt::format_to(it, "], seq {}", t.seq());
    if (t.has(tcp_view::ack_flag)) fmt::format_to(it, ", ack {}", t.ack());
    fmt::format_to(it, ", win {}, length {}", t.window(), t.payload().size());
    return true;
}

// ---- inspect: TCP analysis, tshark's tcp_analyze_sequence_number -------------------------------
//
// The checks, their order and their state follow Wireshark's packet-tcp.c (4.0), so that each
// counter matches the packets a tcp.analysis.* display filter selects; docs/inspect.md lists
// where nettool differs on purpose. Per direction the state is a handful of numbers (no list
// of unacknowledged segments), so a flow costs the same whatever happens on the wire.

namespace {

// Sequence-space comparisons with wrap-around (tshark's GT_SEQ, LT_SEQ, LE_SEQ).
bool seq_gt(std::uint32_t a, std::uint32_t b) noexcept {
    return static_cast<std::int32_t>(a - b) > 0;
}
bool seq_lt(std::uint32_t a, std::uint32_t b) noexcept {
    return static_cast<std::int32_t>(a - b) < 0;
}
bool seq_le(std::uint32_t a, std::uint32_t b) noexcept {
    return static_cast<std::int32_t>(a - b) <= 0;
}

// What a segment was found to be (tshark's TCP_A_* flags that later checks look back at).
enum tcp_mark : std::uint8_t { keep_alive_mark = 1, window_probe_mark = 2 };

constexpr std::int64_t fast_retransmission_window = 20'000'000;  // 20 ms after the last dup ACK
constexpr std::int64_t default_ooo_threshold = 3'000'000;        // 3 ms without a first RTT

// now - then < limit, where a negative difference (time going backwards) is never "less", as
// tshark's unsigned subtraction has it.
bool within(std::int64_t now, std::int64_t then, std::int64_t limit) noexcept {
    return now >= then && now - then < limit;
}

void tcp_handshake(inspect_state& s, flow& f, std::uint8_t flags, std::int64_t t) {
    const bool syn = (flags & tcp_view::syn) != 0, ack = (flags & tcp_view::ack_flag) != 0;
    if (syn && !ack) {
        if (f.syn_time < 0) f.syn_time = t;
        f.last_syn_time = t;
    } else if (syn && ack) {
        if (f.synack_time < 0 && f.syn_time >= 0) f.synack_time = t;
    } else if (ack) {
        if (f.synack_time >= 0 && f.handshake_time < 0) {
            f.handshake_time = t;
            ++s.tcp.handshakes;
            s.tcp.handshake_rtt.record(std::chrono::nanoseconds{t - f.syn_time});
        }
        // tshark's first RTT: the first ACK without SYN after a SYN, from the latest SYN.
        if (f.first_rtt < 0 && f.last_syn_time >= 0) f.first_rtt = t - f.last_syn_time;
    }
}

// The sequence analysis of one segment; returns what it found.
tcp_analysis tcp_sequence(flow& f, int d, std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                          std::uint32_t seglen, std::uint16_t window, std::int64_t t) noexcept {
    tcp_dir_state& fwd = f.dir[d];
    tcp_dir_state& rev = f.dir[1 - d];
    tcp_analysis a;
    std::uint8_t marks = 0;
    const bool syn = (flags & tcp_view::syn) != 0, fin = (flags & tcp_view::fin) != 0,
               rst = (flags & tcp_view::rst) != 0;
    const bool control = syn || fin || rst;
    const bool repeats_ack =
        seglen == 0 && window == fwd.window && seq == fwd.next_seq && ack == fwd.last_ack && !control;

    // The checks of the forward direction, in tshark's order; a zero window probe and the ACKs
    // of a keep-alive or a probe skip the rest of them.
    if (seglen == 1 && seq == fwd.next_seq && rev.window == 0) {
        marks |= window_probe_mark;  // zero window probe
    } else {
        if (window == 0 && !control) ++a.zero_windows;
        if (fwd.next_seq != 0 && seq_gt(seq, fwd.next_seq) && !rst) ++a.lost_segments;
        if (seglen <= 1 && seq == fwd.next_seq - 1 && !control) {
            marks |= keep_alive_mark;
            ++a.keep_alives;
        }
        const bool keep_alive_ack = repeats_ack && window != 0 && (rev.last_marks & keep_alive_mark) != 0;
        const bool probe_ack = repeats_ack && window == 0 && (rev.last_marks & window_probe_mark) != 0;
        if (!keep_alive_ack && !probe_ack && repeats_ack && window != 0) {
            ++fwd.dupacks;
            ++a.duplicate_acks;
        }
    }
    if (ack != fwd.last_ack) fwd.dupacks = 0;

    // Data (or SYN/FIN) the peer already acknowledged, or behind the highest sequence number
    // seen: spurious retransmission, fast retransmission, out-of-order or retransmission, the
    // first that fits (tshark 4.0's order, with fast retransmission before out-of-order, its
    // default).
    const std::uint32_t end = seq + seglen + ((syn || fin) ? 1u : 0u);
    if ((seglen > 0 || syn || fin) && (marks & keep_alive_mark) == 0) {
        bool behind = fwd.next_seq != 0 && seq_lt(seq, fwd.next_seq);
        if (seglen > 1 && seq == fwd.next_seq - 1) behind = false;  // new data after a window probe
        const std::int64_t ooo_threshold = f.first_rtt > 0 ? f.first_rtt : default_ooo_threshold;
        if (seglen > 0 && rev.last_ack != 0 && seq_le(seq + seglen, rev.last_ack)) {
            ++a.spurious_retransmissions;
            ++a.retransmissions;
        } else if (behind && rev.dupacks >= 2 && rev.last_ack == seq &&
                   within(t, rev.last_ack_time, fast_retransmission_window)) {
            ++a.fast_retransmissions;
            ++a.retransmissions;
        } else if (behind && within(t, fwd.next_seq_time, ooo_threshold) && fwd.next_seq != end) {
            ++a.out_of_order;
        } else if (behind) {
            ++a.retransmissions;
        }
    }

    // Remember the highest sequence number (a window probe does not advance it), the ACK and
    // the window.
    if ((fwd.next_seq == 0 || seq_gt(end, fwd.next_seq)) && (marks & window_probe_mark) == 0) {
        fwd.next_seq = end;
        fwd.next_seq_time = t;
    }
    fwd.window = window;
    fwd.last_ack = ack;
    fwd.last_ack_time = t;
    fwd.last_marks = marks;
    return a;
}

void tcp_segment(inspect_state& s, flow& f, int d, const tcp_view& seg, std::uint32_t seglen,
                 std::int64_t t) {
    const std::uint8_t flags = seg.flags();
    tcp_analysis delta = tcp_sequence(f, d, flags, seg.seq(), seg.ack(), seglen, seg.window(), t);
    tcp_handshake(s, f, flags, t);
    if ((flags & tcp_view::syn) != 0 && (flags & tcp_view::ack_flag) == 0) ++delta.syns;
    if ((flags & tcp_view::rst) != 0) ++delta.resets;
    f.tcp.add(delta);
    s.tcp.totals.add(delta);
}

}  // namespace

void analyze_tcp(inspect_state& s, const decoded_packet& p, std::int64_t t, std::uint32_t wire) {
    if (!p.tcp) return;
    flow_ref r = s.count_in_conversation(p, ip_proto::tcp, p.tcp->src_port(), p.tcp->dst_port(), t, wire);
    if (r.f == nullptr) return;
    if (r.created) ++s.tcp.connections;
    // The segment's length on the wire (tshark's seglen): what the IP length says, even when
    // the capture cut the payload short.
    const auto seglen = static_cast<std::uint32_t>(p.tcp->payload().size()) + p.uncaptured;
    tcp_segment(s, *r.f, r.dir, *p.tcp, seglen, t);
}

}  // namespace detail
}  // namespace nettool
