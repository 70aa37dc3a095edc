#include <nettool/exporter/probe_round.hpp>

#include <nettool/core/clock.hpp>
#include <nettool/core/error.hpp>
#include <nettool/dns/dns_timer.hpp>
#include <nettool/net/endpoint.hpp>
#include <nettool/probe/protocol.hpp>
#include <nettool/probe/tcp_probe.hpp>
#include <nettool/probe/udp_probe.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace nettool::exporter {
namespace {

using namespace std::chrono_literals;

double seconds(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

void tcp_connect_round(const module_config& m, const socket_address& to, std::chrono::nanoseconds per_probe,
                       round_result& r) {
    tcp_connect_options o;
    o.count = m.count;
    o.timeout = per_probe;
    o.warm_up = false;  // the exporter's code is warm after its first round; every round is timed
    const auto c = tcp_connect_probe(to, o);
    r.latency = c.connect_time;
    r.sent = c.attempts;
    r.lost = c.attempts - c.established;
    if (c.failures.total() > 0) {
        r.error = fmt::format("{} of {} connects failed ({} refused, {} timed out, {} unreachable)", c.failures.total(),
                              c.attempts, c.failures.refused, c.failures.timed_out, c.failures.unreachable);
    }
}

void tcp_rr_round(const module_config& m, const socket_address& to, std::chrono::nanoseconds per_probe,
                  round_result& r) {
    tcp_rr_options o;
    o.count = m.count;
    o.size = m.size;
    o.timeout = per_probe;
    o.warm_up = false;
    const auto t = tcp_rr_probe(to, o);
    r.latency = t.rtt;
    r.sent = t.sent;
    r.lost = t.sent - t.completed;
    if (t.connect_time > 0ns) r.connect_s = seconds(t.connect_time);
    if (!t.error.empty()) r.error = t.error;
    else if (t.completed < m.count) r.error = fmt::format("{} of {} requests answered", t.completed, m.count);
}

void udp_rr_round(const module_config& m, const socket_address& to, std::chrono::nanoseconds per_probe,
                  round_result& r) {
    udp_rr_options o;
    o.count = m.count;
    o.size = m.size;
    o.timeout = per_probe;
    o.warm_up = false;
    const auto u = udp_rr_probe(to, o);
    r.latency = u.rtt;
    r.sent = u.sent;
    r.lost = u.lost;
    r.duplicates = u.duplicates;
    r.reordered = u.reordered;
    if (!u.error.empty()) r.error = u.error;
    else if (u.lost > 0) r.error = fmt::format("{} of {} datagrams lost", u.lost, u.sent);
}

void dns_round(const module_config& m, const socket_address& to, std::chrono::nanoseconds per_probe,
               round_result& r) {
    dns_query_options o;
    o.name = m.query_name;
    o.type = m.query_type;
    o.count = static_cast<unsigned>(m.count);
    o.timeout = per_probe;
    std::error_code ec;
    const auto q = time_dns_queries(dns_server{to.address_string(), to.port()}, o, ec);
    if (ec) {
        r.error = fmt::format("DNS query to {}: {}", to.to_string(), ec.message());
        return;
    }
    r.latency = q.rtt;
    r.sent = q.sent;
    r.lost = q.sent - q.answered;
    if (q.answered < q.sent) r.error = fmt::format("{} of {} queries answered", q.answered, q.sent);
}

}  // namespace

std::uint16_t default_port(prober p) noexcept { return p == prober::dns ? 53 : proto::default_port; }

round_result run_round(const module_config& m, const std::string& target, std::chrono::milliseconds budget) {
    round_result r;
    const stopwatch whole;
    std::error_code ec;
    const auto hp = parse_host_port(target, default_port(m.kind), ec);
    if (ec) {
        r.error = fmt::format("target '{}' is not HOST[:PORT]", target);
        return r;
    }
    const stopwatch lookup;
    const auto addrs = resolve(hp, ec);
    r.lookup_s = seconds(lookup.elapsed());
    if (ec || addrs.empty()) {
        r.error = fmt::format("cannot resolve '{}': {}", hp.host, ec ? ec.message() : "no address");
        r.duration_s = seconds(whole.elapsed());
        return r;
    }
    const auto count = std::max<std::uint64_t>(m.count, 1);
    const std::chrono::nanoseconds share = std::chrono::nanoseconds{budget} / static_cast<std::int64_t>(count);
    const auto per_probe = std::max<std::chrono::nanoseconds>(
        std::min<std::chrono::nanoseconds>(m.timeout, share), std::chrono::milliseconds{1});
    try {
        switch (m.kind) {
            case prober::tcp_connect: tcp_connect_round(m, addrs.front(), per_probe, r); break;
            case prober::tcp_rr: tcp_rr_round(m, addrs.front(), per_probe, r); break;
            case prober::udp_rr: udp_rr_round(m, addrs.front(), per_probe, r); break;
            case prober::dns: dns_round(m, addrs.front(), per_probe, r); break;
        }
    } catch (const std::exception& e) {  // a local failure (no socket, no memory): this round only
        r.error = e.what();
    }
    r.success = r.error.empty() && r.sent > 0 && r.lost == 0;
    if (!r.success && r.error.empty()) r.error = "nothing was sent";
    r.duration_s = seconds(whole.elapsed());
    return r;
}

}  // namespace nettool::exporter
