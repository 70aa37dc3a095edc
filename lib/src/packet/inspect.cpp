#include <nettool/packet/inspect.hpp>

#include <nettool/core/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pcap.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <sys/stat.h>
#include <unordered_map>

namespace nettool {

// ---- small helpers -------------------------------------------------------------------------

void tcp_analysis::add(const tcp_analysis& o) noexcept {
    retransmissions += o.retransmissions;
    fast_retransmissions += o.fast_retransmissions;
    spurious_retransmissions += o.spurious_retransmissions;
    out_of_order += o.out_of_order;
    duplicate_acks += o.duplicate_acks;
    zero_windows += o.zero_windows;
    keep_alives += o.keep_alives;
    resets += o.resets;
    syns += o.syns;
}

std::string link_type_name(int lt) {
    const char* n = pcap_datalink_val_to_name(lt);
    return n ? std::string{n} : std::string{"unknown"};
}

namespace {

double seconds(std::chrono::nanoseconds d) {
    return static_cast<double>(d.count()) / 1e9;
}
double micros(std::chrono::nanoseconds d) {
    return static_cast<double>(d.count()) / 1e3;
}

// Sequence-space comparisons with wrap-around.
bool seq_gt(std::uint32_t a, std::uint32_t b) noexcept {
    return static_cast<std::int32_t>(a - b) > 0;
}
bool seq_le(std::uint32_t a, std::uint32_t b) noexcept {
    return static_cast<std::int32_t>(a - b) <= 0;
}

struct flow_key {
    std::uint8_t proto = 0;   // 6 or 17
    std::uint8_t family = 0;  // 4 or 6
    std::uint16_t port_lo = 0, port_hi = 0;
    std::array<std::uint8_t, 16> addr_lo{}, addr_hi{};
    bool operator==(const flow_key&) const = default;
};

struct flow_key_hash {
    std::size_t operator()(const flow_key& k) const noexcept {
        std::uint64_t h = 1469598103934665603ull;
        auto mix = [&h](std::uint64_t v) { h = (h ^ v) * 1099511628211ull; };
        mix(k.proto);
        mix(k.family);
        mix(k.port_lo);
        mix(k.port_hi);
        for (auto b : k.addr_lo) mix(b);
        for (auto b : k.addr_hi) mix(b);
        return static_cast<std::size_t>(h);
    }
};

struct endpoint_raw {
    std::array<std::uint8_t, 16> addr{};
    std::uint16_t port = 0;
};

std::string address_text(std::uint8_t family, const std::array<std::uint8_t, 16>& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family == 4 ? AF_INET : AF_INET6, a.data(), buf, sizeof buf);
    return buf;
}

struct tcp_dir_state {
    bool seq_valid = false;
    std::uint32_t next_seq = 0;
    std::int64_t next_seq_time = 0;
    bool ack_valid = false;
    std::uint32_t last_ack = 0;
    std::int64_t last_ack_time = 0;
    std::uint32_t dupacks = 0;
    bool window_valid = false;
    std::uint16_t window = 0;
};

struct flow {
    flow_key key;
    bool a_is_lo = true;  // A (first sender) is the key's low endpoint
    std::int64_t first = 0, last = 0;
    std::uint64_t packets[2] = {0, 0}, bytes[2] = {0, 0};  // [0] = A->B
    // TCP
    tcp_dir_state dir[2];
    std::int64_t syn_time = -1, synack_time = -1, handshake_time = -1;
    tcp_analysis tcp;
};

constexpr std::size_t dns_pending_slots = 4096;
struct dns_pending {
    bool used = false;
    std::uint16_t id = 0;
    std::uint16_t client_port = 0;
    std::array<std::uint8_t, 16> client{};
    std::int64_t time = 0;
};

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
    protocol_counts protocols;
    std::vector<path_count> paths;
    std::uint64_t other_paths_packets = 0, other_paths_bytes = 0;
    std::array<std::uint64_t, 16> stops{};

    std::list<flow> lru;
    std::unordered_map<flow_key, std::list<flow>::iterator, flow_key_hash> index;
    std::uint64_t flows_seen = 0, flows_evicted = 0;
    tcp_summary tcp;
    tcp_analysis evicted_tcp;  // already counted in totals; kept for clarity

    dns_summary dns;
    std::vector<dns_pending> pending = std::vector<dns_pending>(dns_pending_slots);

    impl(int lt, inspect_options o) : link_type(lt), opts(std::move(o)) {
        dopts.extra_dns_port = opts.extra_dns_port;
        if (opts.max_flows == 0) opts.max_flows = 1;
        index.reserve(std::min<std::size_t>(opts.max_flows, 65536));
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
        bool seen[static_cast<std::size_t>(layer::count_)] = {};
        for (std::size_t i = 0; i < p.depth; ++i) seen[static_cast<std::size_t>(p.path[i])] = true;
        auto s = [&](layer l) { return seen[static_cast<std::size_t>(l)] ? 1u : 0u; };
        protocols.ethernet += s(layer::ethernet);
        protocols.vlan += s(layer::vlan);
        protocols.sll += s(layer::sll) | s(layer::sll2);
        protocols.null_loop += s(layer::null_loop);
        protocols.ipv4 += s(layer::ipv4);
        protocols.ipv6 += s(layer::ipv6);
        protocols.tcp += s(layer::tcp);
        protocols.udp += s(layer::udp);
        protocols.icmp += s(layer::icmp);
        protocols.icmpv6 += s(layer::icmpv6);
        protocols.arp += s(layer::arp);
        protocols.dns += s(layer::dns);
    }

    flow* find_flow(const flow_key& key, const endpoint_raw& src, std::int64_t t, bool& created) {
        created = false;
        auto it = index.find(key);
        if (it != index.end()) {
            lru.splice(lru.begin(), lru, it->second);
            return &*it->second;
        }
        if (index.size() >= opts.max_flows) {
            index.erase(lru.back().key);
            lru.pop_back();
            ++flows_evicted;
        }
        lru.emplace_front();
        flow& f = lru.front();
        f.key = key;
        f.a_is_lo = src.addr == key.addr_lo && src.port == key.port_lo;
        f.first = t;
        index.emplace(key, lru.begin());
        ++flows_seen;
        created = true;
        return &f;
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
        ++stops[static_cast<std::size_t>(p.stop)];
        count_path(p, wire);
        count_protocols(p);

        if (p.tcp || p.udp) transport(p, t, wire);
        if (p.dns) dns_message(p, t);
    }

    void transport(const decoded_packet& p, std::int64_t t, std::uint32_t wire) {
        endpoint_raw src, dst;
        std::uint8_t family = 0;
        if (p.ipv4) {
            family = 4;
            std::uint32_t s = p.ipv4->src(), d = p.ipv4->dst();
            for (int i = 0; i < 4; ++i) {
                src.addr[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(s >> (24 - 8 * i));
                dst.addr[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(d >> (24 - 8 * i));
            }
        } else if (p.ipv6) {
            family = 6;
            src.addr = p.ipv6->src();
            dst.addr = p.ipv6->dst();
        } else {
            return;
        }
        bool is_tcp = p.tcp.has_value();
        src.port = is_tcp ? p.tcp->src_port() : p.udp->src_port();
        dst.port = is_tcp ? p.tcp->dst_port() : p.udp->dst_port();

        flow_key key;
        key.proto = is_tcp ? 6 : 17;
        key.family = family;
        bool src_lo = std::tie(src.addr, src.port) <= std::tie(dst.addr, dst.port);
        const endpoint_raw& lo = src_lo ? src : dst;
        const endpoint_raw& hi = src_lo ? dst : src;
        key.addr_lo = lo.addr;
        key.port_lo = lo.port;
        key.addr_hi = hi.addr;
        key.port_hi = hi.port;

        bool created = false;
        flow* f = find_flow(key, src, t, created);
        if (created && is_tcp) ++tcp.connections;
        int d = (src_lo == f->a_is_lo) ? 0 : 1;
        ++f->packets[d];
        f->bytes[d] += wire;
        f->last = std::max(f->last, t);
        if (is_tcp) tcp_segment(*f, d, *p.tcp, t);
    }

    // TCP analysis after tshark's tcp_analyze_sequence_number, simplified.
    void tcp_segment(flow& f, int d, const tcp_view& s, std::int64_t t) {
        tcp_dir_state& fwd = f.dir[d];
        tcp_dir_state& rev = f.dir[1 - d];
        tcp_analysis delta;
        const bool syn = s.has(tcp_view::syn), ack = s.has(tcp_view::ack_flag), fin = s.has(tcp_view::fin),
                   rst = s.has(tcp_view::rst);
        const std::uint32_t seq = s.seq();
        const auto seglen = static_cast<std::uint32_t>(s.payload().size());
        const std::uint16_t window = s.window();

        // Handshake timing.
        if (syn && !ack) {
            ++delta.syns;
            if (f.syn_time < 0) f.syn_time = t;
        } else if (syn && ack) {
            if (f.synack_time < 0 && f.syn_time >= 0) f.synack_time = t;
        } else if (ack && f.synack_time >= 0 && f.handshake_time < 0) {
            f.handshake_time = t;
            ++tcp.handshakes;
            tcp.handshake_rtt.record(std::chrono::nanoseconds{t - f.syn_time});
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
            seq == fwd.next_seq && fwd.ack_valid && ack && s.ack() == fwd.last_ack && !syn && !fin && !rst) {
            ++fwd.dupacks;
            ++delta.duplicate_acks;
        }

        // Retransmission / out-of-order: data (or SYN/FIN) that does not advance next_seq.
        if ((seglen > 0 || syn || fin) && !rst && !keep_alive && fwd.seq_valid && seq_gt(fwd.next_seq, seq)) {
            std::int64_t first_rtt = (f.handshake_time >= 0) ? f.handshake_time - f.syn_time : 0;
            std::int64_t ooo_threshold = first_rtt > 0 ? first_rtt : 3'000'000;
            if (rev.dupacks >= 2 && rev.ack_valid && rev.last_ack == seq &&
                t - rev.last_ack_time < 20'000'000) {
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
        if (ack && (!fwd.ack_valid || s.ack() != fwd.last_ack)) {
            fwd.last_ack = s.ack();
            fwd.last_ack_time = t;
            fwd.ack_valid = true;
            fwd.dupacks = 0;
        }
        fwd.window = window;
        fwd.window_valid = true;

        f.tcp.add(delta);
        tcp.totals.add(delta);
    }

    void dns_message(const decoded_packet& p, std::int64_t t) {
        const dns_view& m = *p.dns;
        ++dns.messages;
        if (m.question_count() != 0 && !m.first_question()) ++dns.malformed_questions;

        // The client endpoint: source of a query, destination of a response.
        std::array<std::uint8_t, 16> client{};
        std::uint16_t client_port = 0;
        bool response = m.is_response();
        if (p.ipv4) {
            std::uint32_t a = response ? p.ipv4->dst() : p.ipv4->src();
            for (int i = 0; i < 4; ++i)
                client[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(a >> (24 - 8 * i));
        } else if (p.ipv6) {
            client = response ? p.ipv6->dst() : p.ipv6->src();
        }
        if (p.udp) client_port = response ? p.udp->dst_port() : p.udp->src_port();
        if (p.tcp) client_port = response ? p.tcp->dst_port() : p.tcp->src_port();

        std::size_t h = m.id();
        h = h * 31 + client_port;
        for (auto b : client) h = h * 131 + b;
        dns_pending& slot = pending[h % dns_pending_slots];
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

    conversation make_conversation(const flow& f) const {
        conversation c;
        c.protocol = f.key.proto == 6 ? "tcp" : "udp";
        const auto& a_addr = f.a_is_lo ? f.key.addr_lo : f.key.addr_hi;
        const auto& b_addr = f.a_is_lo ? f.key.addr_hi : f.key.addr_lo;
        c.address_a = address_text(f.key.family, a_addr);
        c.address_b = address_text(f.key.family, b_addr);
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
        r.protocols = protocols;
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
        r.conversations.reserve(lru.size());
        for (const auto& f : lru) r.conversations.push_back(make_conversation(f));
        std::stable_sort(r.conversations.begin(), r.conversations.end(),
                         [](const conversation& a, const conversation& b) {
                             if (a.bytes() != b.bytes()) return a.bytes() > b.bytes();
                             return a.start < b.start;
                         });
        r.flows_seen = flows_seen;
        r.flows_evicted = flows_evicted;
        r.tcp = tcp;
        r.dns = dns;
        if (!is_supported_link_type(link_type))
            r.notes.push_back(fmt::format("unsupported link type {} ({}): only totals are counted", link_type,
                                          r.link_type_name));
        if (flows_evicted != 0)
            r.notes.push_back(
                fmt::format("flow table limit {} reached: {} conversations evicted (raise --max-flows)",
                            opts.max_flows, flows_evicted));
        return r;
    }
};

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
    inspect_result r;
    r.file = path;
    {
        std::FILE* fp = std::fopen(path.c_str(), "rb");
        if (fp == nullptr) throw error(std::error_code{errno, std::system_category()}, {});
        struct stat st {};
        std::uint64_t file_size = 0;
        if (::fstat(fileno(fp), &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                std::fclose(fp);
                throw error(std::make_error_code(std::errc::is_a_directory), {});
            }
            file_size = static_cast<std::uint64_t>(st.st_size);
        }
        char errbuf[PCAP_ERRBUF_SIZE] = {};
        pcap_t* p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
        if (p == nullptr) {
            std::fclose(fp);
            throw error(errc::malformed, fmt::format("not a pcap or pcapng file libpcap can read ({})", errbuf));
        }
        std::unique_ptr<pcap_t, void (*)(pcap_t*)> guard{p, pcap_close};
        int lt = pcap_datalink(p);
        inspector insp{lt, opts};
        inspect_progress prog;
        prog.file_size = file_size;
        std::string end_note;
        for (;;) {
            pcap_pkthdr* h = nullptr;
            const u_char* data = nullptr;
            int rc = pcap_next_ex(p, &h, &data);
            if (rc == PCAP_ERROR_BREAK) break;  // end of file
            if (rc != 1) {
                end_note = fmt::format("reading stopped early: {}", pcap_geterr(p));
                break;
            }
            auto t = std::chrono::nanoseconds{static_cast<std::int64_t>(h->ts.tv_sec) * 1'000'000'000 +
                                              static_cast<std::int64_t>(h->ts.tv_usec)};
            std::span<const u_char> raw{data, h->caplen};
            insp.add(t, std::as_bytes(raw), h->len);
            ++prog.packets;
            if (opts.on_progress && (prog.packets & 0xffff) == 0) {
                long off = std::ftell(pcap_file(p));
                prog.file_offset = off > 0 ? static_cast<std::uint64_t>(off) : 0;
                opts.on_progress(prog);
            }
        }
        r = insp.result();
        r.file = path;
        if (!end_note.empty()) r.notes.push_back(end_note);
    }
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
    j = nlohmann::json{{"eth", c.ethernet}, {"vlan", c.vlan},     {"sll", c.sll}, {"null", c.null_loop},
                       {"ipv4", c.ipv4},    {"ipv6", c.ipv6},     {"tcp", c.tcp}, {"udp", c.udp},
                       {"icmp", c.icmp},    {"icmpv6", c.icmpv6}, {"arp", c.arp}, {"dns", c.dns}};
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
        table c{fmt::format("Conversations ({} of {}, by bytes)", std::min(max_rows, r.conversations.size()),
                            r.conversations.size()),
                {"proto", "A", "B", "pkts A->B", "bytes A->B", "pkts B->A", "bytes B->A", "duration",
                 "retrans", "dup acks"},
                {}};
        std::size_t n = 0;
        for (const auto& cv : r.conversations) {
            if (n++ == max_rows) break;
            bool tcp = cv.protocol == "tcp";
            c.add_row({cv.protocol, endpoint_text(cv.address_a, cv.port_a),
                       endpoint_text(cv.address_b, cv.port_b), std::to_string(cv.packets_a_to_b),
                       format_bytes(static_cast<double>(cv.bytes_a_to_b)), std::to_string(cv.packets_b_to_a),
                       format_bytes(static_cast<double>(cv.bytes_b_to_a)), format_duration(cv.duration),
                       tcp ? std::to_string(cv.tcp.retransmissions) : "-",
                       tcp ? std::to_string(cv.tcp.duplicate_acks) : "-"});
        }
        rep.add_table(std::move(c));
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
        t.add_row({"retransmissions", fmt::format("{} (fast {}, plus {} spurious)", a.retransmissions,
                                                  a.fast_retransmissions, a.spurious_retransmissions)});
        t.add_row({"duplicate ACKs", std::to_string(a.duplicate_acks)});
        t.add_row({"out-of-order", std::to_string(a.out_of_order)});
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
