#include <nettool/packet/inspect.hpp>

#include <nettool/core/error.hpp>

#include <nettool/packet/capture_file.hpp>

#include "packet/inspect_state.hpp"
#include "packet/proto/protocol.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include "packet/pcap_api.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <tuple>

namespace nettool {

// ---- small helpers -------------------------------------------------------------------------

void tcp_analysis::add(const tcp_analysis& o) noexcept {
    retransmissions += o.retransmissions;
    fast_retransmissions += o.fast_retransmissions;
    spurious_retransmissions += o.spurious_retransmissions;
    out_of_order += o.out_of_order;
    duplicate_acks += o.duplicate_acks;
    lost_segments += o.lost_segments;
    zero_windows += o.zero_windows;
    keep_alives += o.keep_alives;
    resets += o.resets;
    syns += o.syns;
}

std::string link_type_name(int lt) {
    const char* n = detail::pcap().datalink_val_to_name(lt);
    return n ? std::string{n} : std::string{"unknown"};
}

namespace {

double seconds(std::chrono::nanoseconds d) {
    return static_cast<double>(d.count()) / 1e9;
}
double micros(std::chrono::nanoseconds d) {
    return static_cast<double>(d.count()) / 1e3;
}

// Which protocol_counts field each layer counts in, from the protocol table: rows that share a
// field (sll, sll2) share a slot, so a packet adds at most 1 to each field.
struct count_slots {
    static constexpr std::uint8_t none = 0xff;
    std::array<std::uint8_t, detail::layer_count> slot_of{};
    std::array<std::uint32_t, detail::layer_count> bit_of{};  // 1 << slot_of, 0 when not counted
    std::array<std::uint64_t protocol_counts::*, detail::layer_count> field{};
    std::array<std::string_view, detail::layer_count> key{};
    std::size_t count = 0;
};

constexpr count_slots make_count_slots() {
    count_slots c;
    for (std::size_t i = 0; i < detail::layer_count; ++i) {
        const auto& row = detail::protocols[i];
        c.slot_of[i] = count_slots::none;
        if (row.count == nullptr) continue;
        for (std::size_t s = 0; s < c.count; ++s)
            if (c.field[s] == row.count) c.slot_of[i] = static_cast<std::uint8_t>(s);
        if (c.slot_of[i] == count_slots::none) {
            c.slot_of[i] = static_cast<std::uint8_t>(c.count);
            c.field[c.count] = row.count;
            c.key[c.count] = row.count_key;
            ++c.count;
        }
        c.bit_of[i] = std::uint32_t{1} << c.slot_of[i];
    }
    return c;
}
constexpr count_slots counted = make_count_slots();
static_assert(detail::layer_count <= 32, "count slots are bits of a uint32_t");

// The analysis hook of each layer (nullptr: none), from the protocol table.
constexpr auto analysis_hooks = [] {
    std::array<detail::analyze_fn, detail::layer_count> h{};
    for (std::size_t i = 0; i < detail::layer_count; ++i) h[i] = detail::protocols[i].analyze;
    return h;
}();

constexpr std::size_t max_paths = 512;
struct path_count {
    std::array<layer, decoded_packet::max_layers> path{};
    std::uint8_t depth = 0;
    std::uint64_t packets = 0, bytes = 0;
};

}  // namespace

struct inspector::impl {
    int link_type;
    inspect_options opts;
    decode_options dopts;

    std::uint64_t packets = 0, bytes = 0, captured = 0, truncated = 0;
    std::int64_t first = 0, last = 0;
    bool any = false;
    std::vector<path_count> paths;
    std::uint64_t other_paths_packets = 0, other_paths_bytes = 0;
    std::array<std::uint64_t, 16> stops{};
    std::array<std::uint64_t, detail::layer_count> counts{};  // by count slot (protocol_counts)

    // Conversations, TCP and DNS: what the protocol modules' analysis hooks work on.
    detail::inspect_state state;

    impl(int lt, inspect_options o)
        : link_type(lt), opts(std::move(o)), state(opts.max_flows == 0 ? 1 : opts.max_flows) {
        dopts.extra_dns_port = opts.extra_dns_port;
        if (opts.max_flows == 0) opts.max_flows = 1;
        paths.reserve(64);
    }

    void count_path(const decoded_packet& p, std::uint32_t wire) {
        for (auto& pc : paths) {
            if (pc.depth == p.depth &&
                std::equal(pc.path.begin(), pc.path.begin() + pc.depth, p.path.begin())) {
                ++pc.packets;
                pc.bytes += wire;
                return;
            }
        }
        if (paths.size() >= max_paths) {
            ++other_paths_packets;
            other_paths_bytes += wire;
            return;
        }
        path_count pc;
        pc.path = p.path;
        pc.depth = p.depth;
        pc.packets = 1;
        pc.bytes = wire;
        paths.push_back(pc);
    }

    void count_protocols(const decoded_packet& p) {
        std::uint32_t hit = 0;  // one bit per count slot: a packet adds at most 1 to each
        for (std::size_t i = 0; i < p.depth; ++i) hit |= counted.bit_of[static_cast<std::size_t>(p.path[i])];
        for (; hit != 0; hit &= hit - 1) ++counts[static_cast<std::size_t>(std::countr_zero(hit))];
    }

    void add(std::int64_t t, bytes_view data, std::uint32_t wire) {
        ++packets;
        bytes += wire;
        captured += data.size();
        if (data.size() < wire) ++truncated;
        if (!any) {
            first = t;
            any = true;
        }
        last = std::max(last, t);

        decoded_packet p = decode(link_type, data, dopts);
        // What the IP header claims beyond the capture, but no more than the frame held on the
        // wire (tshark's reported length): a bogus IP length does not invent a payload.
        const std::uint64_t beyond = wire > data.size() ? wire - data.size() : 0;
        p.uncaptured = static_cast<std::uint32_t>(std::min<std::uint64_t>(p.uncaptured, beyond));
        ++stops[static_cast<std::size_t>(p.stop)];
        count_path(p, wire);
        count_protocols(p);

        // Analysis hooks of the packet's own layers, outermost first (conversation, then DNS).
        for (std::size_t i = 0; i < p.own_depth; ++i)
            if (auto hook = analysis_hooks[static_cast<std::size_t>(p.path[i])]) hook(state, p, t, wire);
    }

    conversation make_conversation(const detail::flow& f) const {
        conversation c;
        c.protocol = f.key.proto == ip_proto::tcp ? "tcp" : "udp";
        c.address_a = (f.a_is_lo ? f.key.addr_lo : f.key.addr_hi).to_string();
        c.address_b = (f.a_is_lo ? f.key.addr_hi : f.key.addr_lo).to_string();
        c.port_a = f.a_is_lo ? f.key.port_lo : f.key.port_hi;
        c.port_b = f.a_is_lo ? f.key.port_hi : f.key.port_lo;
        c.packets_a_to_b = f.packets[0];
        c.bytes_a_to_b = f.bytes[0];
        c.packets_b_to_a = f.packets[1];
        c.bytes_b_to_a = f.bytes[1];
        c.start = std::chrono::nanoseconds{f.first - first};
        c.duration = std::chrono::nanoseconds{f.last - f.first};
        if (f.synack_time >= 0) c.syn_to_synack = std::chrono::nanoseconds{f.synack_time - f.syn_time};
        if (f.handshake_time >= 0) c.handshake_rtt = std::chrono::nanoseconds{f.handshake_time - f.syn_time};
        c.tcp = f.tcp;
        return c;
    }

    static void insert_path(protocol_node& root, const path_count& pc) {
        protocol_node* node = &root;
        for (std::size_t i = 0; i < pc.depth; ++i) {
            std::string_view name = layer_name(pc.path[i]);
            auto it = std::find_if(node->children.begin(), node->children.end(),
                                   [&](const protocol_node& n) { return n.name == name; });
            if (it == node->children.end()) {
                node->children.push_back(protocol_node{std::string{name}, 0, 0, {}});
                it = node->children.end() - 1;
            }
            it->packets += pc.packets;
            it->bytes += pc.bytes;
            node = &*it;
        }
    }

    static void sort_tree(protocol_node& n) {
        std::sort(n.children.begin(), n.children.end(),
                  [](const protocol_node& a, const protocol_node& b) { return a.packets > b.packets; });
        for (auto& c : n.children) sort_tree(c);
    }

    inspect_result result() const {
        inspect_result r;
        r.link_type = link_type;
        r.link_type_name = link_type_name(link_type);
        r.packets = packets;
        r.bytes = bytes;
        r.captured_bytes = captured;
        r.truncated_packets = truncated;
        if (any) {
            r.first_time = std::chrono::nanoseconds{first};
            r.last_time = std::chrono::nanoseconds{last};
            r.duration = std::chrono::nanoseconds{last - first};
        }
        for (std::size_t s = 0; s < counted.count; ++s) r.protocols.*counted.field[s] = counts[s];
        r.hierarchy.packets = packets;
        r.hierarchy.bytes = bytes;
        for (const auto& pc : paths) insert_path(r.hierarchy, pc);
        if (other_paths_packets != 0)
            r.hierarchy.children.push_back(
                protocol_node{"(other)", other_paths_packets, other_paths_bytes, {}});
        sort_tree(r.hierarchy);
        for (std::size_t i = 1; i < stops.size(); ++i) {
            if (stops[i] != 0)
                r.decode_stops.emplace_back(std::string{decode_stop_name(static_cast<decode_stop>(i))},
                                            stops[i]);
        }
        r.conversations.reserve(state.lru.size());
        for (const auto& f : state.lru) r.conversations.push_back(make_conversation(f));
        std::stable_sort(r.conversations.begin(), r.conversations.end(),
                         [](const conversation& a, const conversation& b) {
                             if (a.bytes() != b.bytes()) return a.bytes() > b.bytes();
                             return a.start < b.start;
                         });
        r.flows_seen = state.flows_seen;
        r.flows_evicted = state.flows_evicted;
        r.tcp = state.tcp;
        r.dns = state.dns;
        if (!is_supported_link_type(link_type))
            r.notes.push_back(fmt::format("unsupported link type {} ({}): only totals are counted", link_type,
                                          r.link_type_name));
        if (state.flows_evicted != 0)
            r.notes.push_back(
                fmt::format("flow table limit {} reached: {} conversations evicted (raise --max-flows)",
                            opts.max_flows, state.flows_evicted));
        return r;
    }
};

namespace detail {

inspect_state::inspect_state(std::size_t limit) : max_flows(limit) {
    index.reserve(std::min<std::size_t>(max_flows, 65536));
}

flow_ref inspect_state::count_in_conversation(const decoded_packet& p, std::uint8_t proto,
                                              std::uint16_t src_port, std::uint16_t dst_port, std::int64_t t,
                                              std::uint32_t wire) {
    ip_address src, dst;
    if (p.ipv4) {
        src = p.ipv4->src();
        dst = p.ipv4->dst();
    } else if (p.ipv6) {
        src = p.ipv6->src();
        dst = p.ipv6->dst();
    } else {
        return {};
    }
    flow_key key;
    key.proto = proto;
    const bool src_lo = std::tie(src, src_port) <= std::tie(dst, dst_port);
    key.addr_lo = src_lo ? src : dst;
    key.port_lo = src_lo ? src_port : dst_port;
    key.addr_hi = src_lo ? dst : src;
    key.port_hi = src_lo ? dst_port : src_port;

    flow_ref r;
    auto it = index.find(key);
    if (it != index.end()) {
        lru.splice(lru.begin(), lru, it->second);
        r.f = &*it->second;
    } else {
        if (index.size() >= max_flows) {
            index.erase(lru.back().key);
            lru.pop_back();
            ++flows_evicted;
        }
        lru.emplace_front();
        flow& f = lru.front();
        f.key = key;
        f.a_is_lo = src_lo;
        f.first = t;
        index.emplace(key, lru.begin());
        ++flows_seen;
        r.f = &f;
        r.created = true;
    }
    r.dir = (src_lo == r.f->a_is_lo) ? 0 : 1;
    ++r.f->packets[r.dir];
    r.f->bytes[r.dir] += wire;
    r.f->last = std::max(r.f->last, t);
    return r;
}

}  // namespace detail

inspector::inspector(int lt, inspect_options opts) : impl_(std::make_unique<impl>(lt, std::move(opts))) {}
inspector::~inspector() = default;
inspector::inspector(inspector&&) noexcept = default;
inspector& inspector::operator=(inspector&&) noexcept = default;

void inspector::add(std::chrono::nanoseconds time, bytes_view data, std::uint32_t wire_length) noexcept {
    try {
        impl_->add(time.count(), data, wire_length);
    } catch (...) {
        // Only allocation of a new flow can throw; the packet's totals are already counted.
    }
}

inspect_result inspector::result() const {
    return impl_->result();
}

inspect_result inspect_file(const std::string& path, const inspect_options& opts) {
    auto file = capture_file::open(path);
    inspector insp{file.link_type(), opts};
    inspect_progress prog;
    prog.file_size = file.size();
    captured_packet p;
    while (file.next(p)) {
        insp.add(p.time, p.data, p.wire_length);
        ++prog.packets;
        if (opts.on_progress && (prog.packets & 0xffff) == 0) {
            prog.file_offset = file.offset();
            opts.on_progress(prog);
        }
    }
    auto r = insp.result();
    r.file = path;
    if (!file.end_note().empty()) r.notes.push_back(file.end_note());
    return r;
}

inspect_result inspect_file(const std::string& path, const inspect_options& opts, std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return inspect_file(path, opts); });
}

// ---- port totals ---------------------------------------------------------------------------

port_totals totals_for_port(const inspect_result& r, std::string_view protocol, std::uint16_t port) noexcept {
    port_totals t;
    for (const auto& c : r.conversations) {
        if (c.protocol != protocol || (c.port_a != port && c.port_b != port)) continue;
        ++t.conversations;
        t.packets += c.packets();
        t.bytes += c.bytes();
        if (c.port_b == port) {
            t.packets_to_port += c.packets_a_to_b;
            t.packets_from_port += c.packets_b_to_a;
        }
        if (c.port_a == port) {
            t.packets_to_port += c.packets_b_to_a;
            t.packets_from_port += c.packets_a_to_b;
        }
        t.tcp.add(c.tcp);
    }
    return t;
}

// ---- JSON ----------------------------------------------------------------------------------

void to_json(nlohmann::json& j, const protocol_counts& c) {
    j = nlohmann::json::object();
    for (std::size_t s = 0; s < counted.count; ++s) j[std::string{counted.key[s]}] = c.*counted.field[s];
}

void to_json(nlohmann::json& j, const protocol_node& n) {
    j = nlohmann::json{{"name", n.name}, {"packets", n.packets}, {"bytes", n.bytes}};
    if (!n.children.empty()) j["children"] = n.children;
}

void to_json(nlohmann::json& j, const tcp_analysis& a) {
    j = nlohmann::json{{"retransmissions", a.retransmissions},
                       {"fast_retransmissions", a.fast_retransmissions},
                       {"spurious_retransmissions", a.spurious_retransmissions},
                       {"out_of_order", a.out_of_order},
                       {"duplicate_acks", a.duplicate_acks},
                       {"lost_segments", a.lost_segments},
                       {"zero_windows", a.zero_windows},
                       {"keep_alives", a.keep_alives},
                       {"resets", a.resets},
                       {"syns", a.syns}};
}

void to_json(nlohmann::json& j, const conversation& c) {
    j = nlohmann::json{{"protocol", c.protocol},
                       {"address_a", c.address_a},
                       {"port_a", c.port_a},
                       {"address_b", c.address_b},
                       {"port_b", c.port_b},
                       {"packets", c.packets()},
                       {"bytes", c.bytes()},
                       {"packets_a_to_b", c.packets_a_to_b},
                       {"bytes_a_to_b", c.bytes_a_to_b},
                       {"packets_b_to_a", c.packets_b_to_a},
                       {"bytes_b_to_a", c.bytes_b_to_a},
                       {"start_s", seconds(c.start)},
                       {"duration_s", seconds(c.duration)}};
    if (c.protocol == "tcp") {
        j["tcp"] = c.tcp;
        j["syn_to_synack_us"] = c.syn_to_synack ? nlohmann::json(micros(*c.syn_to_synack)) : nlohmann::json();
        j["handshake_rtt_us"] = c.handshake_rtt ? nlohmann::json(micros(*c.handshake_rtt)) : nlohmann::json();
    }
}

void to_json(nlohmann::json& j, const tcp_summary& s) {
    j = s.totals;
    j["connections"] = s.connections;
    j["handshakes"] = s.handshakes;
    j["handshake_rtt"] = latency_summary::from(s.handshake_rtt);
}

void to_json(nlohmann::json& j, const dns_summary& s) {
    nlohmann::json rc = nlohmann::json::object();
    for (unsigned i = 0; i < s.rcodes.size(); ++i)
        if (s.rcodes[i] != 0) rc[std::string{dns_rcode_name(i)}] = s.rcodes[i];
    j = nlohmann::json{{"messages", s.messages},
                       {"queries", s.queries},
                       {"responses", s.responses},
                       {"answered", s.answered},
                       {"unanswered", s.queries > s.answered ? s.queries - s.answered : 0},
                       {"malformed_questions", s.malformed_questions},
                       {"rcodes", rc},
                       {"latency", latency_summary::from(s.latency)}};
}

void to_json(nlohmann::json& j, const inspect_result& r) {
    nlohmann::json stops = nlohmann::json::object();
    for (const auto& [name, n] : r.decode_stops) stops[name] = n;
    j = nlohmann::json{
        {"file", r.file},
        {"link_type", r.link_type},
        {"link_type_name", r.link_type_name},
        {"packets", r.packets},
        {"bytes", r.bytes},
        {"captured_bytes", r.captured_bytes},
        {"truncated_packets", r.truncated_packets},
        {"first_time", r.first_time ? nlohmann::json(seconds(*r.first_time)) : nlohmann::json()},
        {"last_time", r.last_time ? nlohmann::json(seconds(*r.last_time)) : nlohmann::json()},
        {"duration_s", seconds(r.duration)},
        {"protocols", r.protocols},
        {"protocol_hierarchy", r.hierarchy},
        {"decode_stops", stops},
        {"conversations", r.conversations},
        {"flows_seen", r.flows_seen},
        {"flows_evicted", r.flows_evicted},
        {"tcp", r.tcp},
        {"dns", r.dns},
        {"notes", r.notes}};
}

// ---- human report --------------------------------------------------------------------------

namespace {

void hierarchy_rows(const protocol_node& n, int depth, std::uint64_t total, table& t) {
    t.add_row({std::string(static_cast<std::size_t>(depth) * 2, ' ') + n.name, std::to_string(n.packets),
               format_percent(total ? static_cast<double>(n.packets) / static_cast<double>(total) : 0.0),
               format_bytes(static_cast<double>(n.bytes))});
    for (const auto& c : n.children) hierarchy_rows(c, depth + 1, total, t);
}

std::string endpoint_text(const std::string& a, std::uint16_t port) {
    if (a.find(':') != std::string::npos) return fmt::format("[{}]:{}", a, port);
    return fmt::format("{}:{}", a, port);
}

std::string time_text(std::chrono::nanoseconds since_epoch) {
    std::time_t secs = static_cast<std::time_t>(since_epoch.count() / 1'000'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return fmt::format("{}.{:06} UTC", buf, (since_epoch.count() % 1'000'000'000) / 1000);
}

}  // namespace

report make_report(const inspect_result& r, std::size_t max_rows) {
    report rep{"inspect"};
    rep.data() = r;

    table s{"Summary", {"measure", "value"}, {}};
    s.add_row({"file", r.file});
    s.add_row({"link type", fmt::format("{} ({})", r.link_type, r.link_type_name)});
    s.add_row({"packets", std::to_string(r.packets)});
    s.add_row(
        {"bytes (on wire)", fmt::format("{} ({})", r.bytes, format_bytes(static_cast<double>(r.bytes)))});
    s.add_row({"truncated packets (snaplen)", std::to_string(r.truncated_packets)});
    if (r.first_time) s.add_row({"first packet", time_text(*r.first_time)});
    if (r.last_time) s.add_row({"last packet", time_text(*r.last_time)});
    s.add_row({"duration", format_duration(r.duration)});
    for (const auto& [name, n] : r.decode_stops)
        s.add_row({fmt::format("decode stopped: {}", name), std::to_string(n)});
    rep.add_table(std::move(s));

    table h{"Protocol hierarchy", {"protocol", "packets", "share", "bytes"}, {}};
    hierarchy_rows(r.hierarchy, 0, r.packets, h);
    rep.add_table(std::move(h));

    if (!r.conversations.empty()) {
        const std::size_t shown = std::min(max_rows, r.conversations.size());
        table c{fmt::format("Conversations ({} of {}, by bytes)", shown, r.conversations.size()),
                {"proto", "A", "B", "pkts A->B", "bytes A->B", "pkts B->A", "bytes B->A", "duration"},
                {}};
        // The same TCP counters as the "TCP analysis" totals, per conversation shown above.
        table k{"TCP analysis by conversation",
                {"A", "B", "retrans", "fast", "spurious", "out-of-order", "dup acks", "lost", "zero win"},
                {}};
        for (std::size_t n = 0; n < shown; ++n) {
            const auto& cv = r.conversations[n];
            c.add_row({cv.protocol, endpoint_text(cv.address_a, cv.port_a),
                       endpoint_text(cv.address_b, cv.port_b), std::to_string(cv.packets_a_to_b),
                       format_bytes(static_cast<double>(cv.bytes_a_to_b)), std::to_string(cv.packets_b_to_a),
                       format_bytes(static_cast<double>(cv.bytes_b_to_a)), format_duration(cv.duration)});
            if (cv.protocol != "tcp") continue;
            const auto& a = cv.tcp;
            k.add_row({endpoint_text(cv.address_a, cv.port_a), endpoint_text(cv.address_b, cv.port_b),
                       std::to_string(a.retransmissions), std::to_string(a.fast_retransmissions),
                       std::to_string(a.spurious_retransmissions), std::to_string(a.out_of_order),
                       std::to_string(a.duplicate_acks), std::to_string(a.lost_segments),
                       std::to_string(a.zero_windows)});
        }
        rep.add_table(std::move(c));
        if (!k.rows.empty()) rep.add_table(std::move(k));
    }

    if (r.protocols.tcp != 0) {
        const auto& a = r.tcp.totals;
        table t{"TCP analysis", {"measure", "value"}, {}};
        t.add_row({"connections", std::to_string(r.tcp.connections)});
        t.add_row({"handshakes seen", std::to_string(r.tcp.handshakes)});
        if (r.tcp.handshake_rtt.count() != 0) {
            auto l = latency_summary::from(r.tcp.handshake_rtt);
            t.add_row({"handshake RTT p50 / max",
                       fmt::format("{} / {}", format_duration_us(l.p50_us), format_duration_us(l.max_us))});
        }
        t.add_row({"retransmissions", fmt::format("{} (fast {}, spurious {})", a.retransmissions,
                                                  a.fast_retransmissions, a.spurious_retransmissions)});
        t.add_row({"duplicate ACKs", std::to_string(a.duplicate_acks)});
        t.add_row({"out-of-order", std::to_string(a.out_of_order)});
        t.add_row({"lost segments (not captured)", std::to_string(a.lost_segments)});
        t.add_row({"zero windows", std::to_string(a.zero_windows)});
        t.add_row({"resets", std::to_string(a.resets)});
        rep.add_table(std::move(t));
    }

    if (r.dns.messages != 0) {
        table d{"DNS", {"measure", "value"}, {}};
        d.add_row({"queries", std::to_string(r.dns.queries)});
        d.add_row({"responses", std::to_string(r.dns.responses)});
        d.add_row({"answered (matched)", std::to_string(r.dns.answered)});
        for (unsigned i = 0; i < r.dns.rcodes.size(); ++i)
            if (r.dns.rcodes[i] != 0)
                d.add_row({fmt::format("rcode {}", dns_rcode_name(i)), std::to_string(r.dns.rcodes[i])});
        if (r.dns.latency.count() != 0) {
            auto l = latency_summary::from(r.dns.latency);
            d.add_row({"latency p50 / p99 / max",
                       fmt::format("{} / {} / {}", format_duration_us(l.p50_us), format_duration_us(l.p99_us),
                                   format_duration_us(l.max_us))});
        }
        rep.add_table(std::move(d));
    }

    for (const auto& n : r.notes) rep.add_reading(n);
    if (r.packets != 0 && r.tcp.totals.retransmissions != 0 && r.protocols.tcp != 0)
        rep.add_reading(fmt::format("{} of {} TCP segments were retransmissions ({}).",
                                    r.tcp.totals.retransmissions, r.protocols.tcp,
                                    format_percent(static_cast<double>(r.tcp.totals.retransmissions) /
                                                   static_cast<double>(r.protocols.tcp))));
    return rep;
}

}  // namespace nettool
