// TCP (RFC 9293): header and options; DNS on its ports. Prints tcpdump's "Flags [S.], seq,
// ack, win, length" line. Inspect hook: the conversation, the handshake and the analysis in the
// spirit of Wireshark's tcp.analysis.* (retransmissions, duplicate ACKs, out-of-order, zero
// windows, keep-alives, resets).
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

// ---- inspect: TCP analysis after tshark's tcp_analyze_sequence_number, simplified ------------

namespace {

// Sequence-space comparisons with wrap-around.
bool seq_gt(std::uint32_t a, std::uint32_t b) noexcept {
    return static_cast<std::int32_t>(a - b) > 0;
}
bool seq_le(std::uint32_t a, std::uint32_t b) noexcept {
    return static_cast<std::int32_t>(a - b) <= 0;
}

void tcp_segment(inspect_state& s, flow& f, int d, const tcp_view& seg, std::int64_t t) {
    tcp_dir_state& fwd = f.dir[d];
    tcp_dir_state& rev = f.dir[1 - d];
    tcp_analysis delta;
    const bool syn = seg.has(tcp_view::syn), ack = seg.has(tcp_view::ack_flag), fin = seg.has(tcp_view::fin),
               rst = seg.has(tcp_view::rst);
    const std::uint32_t seq = seg.seq();
    const auto seglen = static_cast<std::uint32_t>(seg.payload().size());
    const std::uint16_t window = seg.window();

    // Handshake timing.
    if (syn && !ack) {
        ++delta.syns;
        if (f.syn_time < 0) f.syn_time = t;
    } else if (syn && ack) {
        if (f.synack_time < 0 && f.syn_time >= 0) f.synack_time = t;
    } else if (ack && f.synack_time >= 0 && f.handshake_time < 0) {
        f.handshake_time = t;
        ++s.tcp.handshakes;
        s.tcp.handshake_rtt.record(std::chrono::nanoseconds{t - f.syn_time});
    }
    if (rst) ++delta.resets;
    if (window == 0 && !syn && !fin && !rst) ++delta.zero_windows;

    bool keep_alive = false;
    if (seglen <= 1 && !syn && !fin && !rst && fwd.seq_valid && seq == fwd.next_seq - 1) {
        keep_alive = true;
        ++delta.keep_alives;
    }

    // Duplicate ACK: no data, same window, same ack, at the next expected sequence number.
    if (seglen == 0 && window != 0 && fwd.window_valid && window == fwd.window && fwd.seq_valid &&
        seq == fwd.next_seq && fwd.ack_valid && ack && seg.ack() == fwd.last_ack && !syn && !fin && !rst) {
        ++fwd.dupacks;
        ++delta.duplicate_acks;
    }

    // Retransmission / out-of-order: data (or SYN/FIN) that does not advance next_seq.
    if ((seglen > 0 || syn || fin) && !rst && !keep_alive && fwd.seq_valid && seq_gt(fwd.next_seq, seq)) {
        std::int64_t first_rtt = (f.handshake_time >= 0) ? f.handshake_time - f.syn_time : 0;
        std::int64_t ooo_threshold = first_rtt > 0 ? first_rtt : 3'000'000;
        if (rev.dupacks >= 2 && rev.ack_valid && rev.last_ack == seq && t - rev.last_ack_time < 20'000'000) {
            ++delta.fast_retransmissions;
            ++delta.retransmissions;
        } else if (t - fwd.next_seq_time < ooo_threshold && fwd.next_seq != seq + seglen) {
            ++delta.out_of_order;
        } else if (rev.ack_valid && seglen > 0 && seq_le(seq + seglen, rev.last_ack)) {
            ++delta.spurious_retransmissions;
        } else {
            ++delta.retransmissions;
        }
    }

    // Advance the expected sequence number.
    std::uint32_t end = seq + seglen + (syn ? 1u : 0u) + (fin ? 1u : 0u);
    if (!rst && (!fwd.seq_valid || seq_gt(end, fwd.next_seq))) {
        fwd.next_seq = end;
        fwd.next_seq_time = t;
        fwd.seq_valid = true;
    }
    if (ack && (!fwd.ack_valid || seg.ack() != fwd.last_ack)) {
        fwd.last_ack = seg.ack();
        fwd.last_ack_time = t;
        fwd.ack_valid = true;
        fwd.dupacks = 0;
    }
    fwd.window = window;
    fwd.window_valid = true;

    f.tcp.add(delta);
    s.tcp.totals.add(delta);
}

}  // namespace

void analyze_tcp(inspect_state& s, const decoded_packet& p, std::int64_t t, std::uint32_t wire) {
    if (!p.tcp) return;
    flow_ref r = s.count_in_conversation(p, ip_proto::tcp, p.tcp->src_port(), p.tcp->dst_port(), t, wire);
    if (r.f == nullptr) return;
    if (r.created) ++s.tcp.connections;
    tcp_segment(s, *r.f, r.dir, *p.tcp, t);
}

}  // namespace detail
}  // namespace nettool
