#pragma once
// The inspector's per-capture state that protocol modules' analysis hooks work on: the bounded
// conversation table (TCP and UDP), the TCP summary and the DNS summary with its table of
// pending queries. inspect.cpp owns it and keeps the totals, hierarchy and protocol counts
// beside it; proto/tcp.cpp, proto/udp.cpp and proto/dns.cpp run their hooks against it.

#include <nettool/net/address.hpp>
#include <nettool/packet/inspect.hpp>
#include <nettool/packet/packet.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

namespace nettool::detail {

struct flow_key {
    std::uint8_t proto = 0;  // 6 or 17
    std::uint16_t port_lo = 0, port_hi = 0;
    ip_address addr_lo, addr_hi;  // the lower (address, port) endpoint first
    bool operator==(const flow_key&) const = default;
};

struct flow_key_hash {
    std::size_t operator()(const flow_key& k) const noexcept {
        std::uint64_t h = 1469598103934665603ull;
        auto mix = [&h](std::uint64_t v) { h = (h ^ v) * 1099511628211ull; };
        mix(k.proto);
        mix(static_cast<std::uint8_t>(k.addr_lo.family));
        mix(k.port_lo);
        mix(k.port_hi);
        for (auto b : k.addr_lo.bytes) mix(b);
        for (auto b : k.addr_hi.bytes) mix(b);
        return static_cast<std::size_t>(h);
    }
};

/// One direction of a TCP conversation, as tshark's tcp_analyze_sequence_number keeps it. Like
/// tshark, a next_seq or last_ack of 0 means "not known yet".
struct tcp_dir_state {
    std::uint32_t next_seq = 0;       // highest sequence number seen + length (+1 for SYN/FIN)
    std::int64_t next_seq_time = 0;   // when next_seq last advanced
    std::uint32_t last_ack = 0;       // acknowledgment field of the last segment
    std::int64_t last_ack_time = 0;   // when that segment was seen
    std::uint32_t dupacks = 0;        // duplicate ACKs since last_ack last changed
    std::uint32_t window = 0x1'0000;  // window field of the last segment (> 0xffff: none yet)
    std::uint8_t last_marks = 0;      // tcp_mark bits of the last segment (keep-alive, probe)
};

struct flow {
    flow_key key;
    bool a_is_lo = true;  // A (first sender) is the key's low endpoint
    std::int64_t first = 0, last = 0;
    std::uint64_t packets[2] = {0, 0}, bytes[2] = {0, 0};  // [0] = A->B
    // TCP
    tcp_dir_state dir[2];
    std::int64_t syn_time = -1, synack_time = -1, handshake_time = -1;
    // tshark's out-of-order threshold: the most recent SYN, then the first ACK without SYN after
    // it (its first RTT); -1 until seen.
    std::int64_t last_syn_time = -1, first_rtt = -1;
    tcp_analysis tcp;
};

/// A packet's place in the conversation table: its flow, its direction (0 = A->B), and whether
/// the packet opened the flow.
struct flow_ref {
    flow* f = nullptr;
    int dir = 0;
    bool created = false;
};

constexpr std::size_t dns_pending_slots = 4096;
struct dns_pending {
    bool used = false;
    std::uint16_t id = 0;
    std::uint16_t client_port = 0;
    ip_address client;
    std::int64_t time = 0;
};

struct inspect_state {
    explicit inspect_state(std::size_t max_flows);

    std::size_t max_flows;
    std::list<flow> lru;
    std::unordered_map<flow_key, std::list<flow>::iterator, flow_key_hash> index;
    std::uint64_t flows_seen = 0, flows_evicted = 0;
    tcp_summary tcp;
    dns_summary dns;
    std::vector<dns_pending> pending = std::vector<dns_pending>(dns_pending_slots);

    /// Counts one TCP (proto 6) or UDP (17) packet in its conversation, creating the flow (and
    /// evicting the least recently seen one beyond max_flows). f is null when the packet has no
    /// IP header of its own.
    flow_ref count_in_conversation(const decoded_packet& p, std::uint8_t proto, std::uint16_t src_port,
                                   std::uint16_t dst_port, std::int64_t t, std::uint32_t wire);
};

}  // namespace nettool::detail
