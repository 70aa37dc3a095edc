#include <nettool/packet/flow_timeline.hpp>

#include <nettool/net/address.hpp>
#include <nettool/packet/packet.hpp>

#include <algorithm>

namespace nettool {

namespace {

struct end_point {
    ip_address address;
    std::uint16_t port = 0;
};

end_point to_end_point(const socket_address& a) noexcept {
    return {a.ip().value_or(ip_address{}), a.port()};
}

enum class side : std::uint8_t { none, client, server };

// Which way a decoded packet goes between the two ends, if it belongs to them.
side direction_of(const decoded_packet& d, std::uint16_t sport, std::uint16_t dport, const end_point& client,
                  const end_point& server) noexcept {
    ip_address src, dst;
    if (d.ipv4) {
        src = d.ipv4->src();
        dst = d.ipv4->dst();
    } else if (d.ipv6) {
        src = d.ipv6->src();
        dst = d.ipv6->dst();
    } else {
        return side::none;
    }
    if (src == client.address && sport == client.port && dst == server.address && dport == server.port)
        return side::client;
    if (src == server.address && sport == server.port && dst == client.address && dport == client.port)
        return side::server;
    return side::none;
}

// Marks every offset the stream has now reached for the first time.
void reach(const std::vector<std::uint64_t>& offsets, std::vector<std::optional<wire_time>>& times,
           std::size_t& next, std::uint64_t end, wire_time t) noexcept {
    while (next < offsets.size() && offsets[next] <= end) times[next++] = t;
}

}  // namespace

tcp_flow_times find_tcp_flow(capture_file& file, const tcp_flow_query& q) noexcept {
    tcp_flow_times r;
    try {
        r.client_reached.resize(q.client_offsets.size());
        r.server_reached.resize(q.server_offsets.size());
    } catch (...) {
        return r;
    }
    const auto client = to_end_point(q.client), server = to_end_point(q.server);
    std::uint32_t client_isn = 0, server_isn = 0;
    bool have_server_isn = false;
    std::size_t next_client = 0, next_server = 0;
    // Everything asked for is in: the rest of the file (a bulk stream, say) need not be read.
    auto complete = [&] {
        return r.ack && next_client == q.client_offsets.size() && next_server == q.server_offsets.size();
    };
    captured_packet p;
    while (!complete() && file.next(p)) {
        const auto d = decode(file.link_type(), p.data);
        if (!d.tcp || d.ip_fragment) continue;
        const auto& tcp = *d.tcp;
        const auto way = direction_of(d, tcp.src_port(), tcp.dst_port(), client, server);
        if (way == side::none) continue;
        const bool syn = tcp.has(tcp_view::syn);
        if (!r.syn) {  // nothing counts before this connection's first SYN
            if (way != side::client || !syn || tcp.has(tcp_view::ack_flag)) continue;
            r.syn = p.time;
            client_isn = tcp.seq();
        }
        ++r.packets;
        // The payload length from the IP header: a short snap length still times the segment.
        std::uint64_t ip_payload = 0;
        if (d.ipv4)
            ip_payload = d.ipv4->total_length() > d.ipv4->header_length()
                             ? d.ipv4->total_length() - d.ipv4->header_length()
                             : 0;
        else if (d.ipv6)
            ip_payload = d.ipv6->payload_length();
        const std::uint64_t len = ip_payload > tcp.header_length() ? ip_payload - tcp.header_length() : 0;
        if (way == side::server) {
            if (syn && tcp.has(tcp_view::ack_flag) && !have_server_isn) {
                r.syn_ack = p.time;
                server_isn = tcp.seq();
                have_server_isn = true;
            }
            if (!have_server_isn || syn || len == 0) continue;
            const std::uint64_t end = static_cast<std::uint32_t>(tcp.seq() - server_isn - 1) + len;
            reach(q.server_offsets, r.server_reached, next_server, end, p.time);
            continue;
        }
        if (syn) continue;  // a retransmitted SYN
        if (r.syn_ack && !r.ack) r.ack = p.time;
        if (len == 0) continue;
        const std::uint64_t end = static_cast<std::uint32_t>(tcp.seq() - client_isn - 1) + len;
        reach(q.client_offsets, r.client_reached, next_client, end, p.time);
    }
    return r;
}

udp_flow_times find_udp_flow(capture_file& file, const socket_address& client_address,
                             const socket_address& server_address, std::size_t n) {
    n = std::min<std::size_t>(n, std::size_t{1} << 20);
    udp_flow_times r;
    const auto client = to_end_point(client_address), server = to_end_point(server_address);
    captured_packet p;
    while (file.next(p) && (r.client_sent.size() < n || r.server_sent.size() < n)) {
        const auto d = decode(file.link_type(), p.data);
        if (!d.udp) continue;
        const auto way = direction_of(d, d.udp->src_port(), d.udp->dst_port(), client, server);
        auto& times = way == side::client ? r.client_sent : r.server_sent;
        if (way != side::none && times.size() < n) times.push_back(p.time);
    }
    return r;
}

}  // namespace nettool
