#include <nettool/exporter/probe_round.hpp>

#include <nettool/core/clock.hpp>
#include <nettool/core/error.hpp>
#include <nettool/dns/dns_timer.hpp>
#include <nettool/net/endpoint.hpp>
#include <nettool/probe/protocol.hpp>
#include <nettool/probe/tcp_probe.hpp>
#include <nettool/probe/udp_probe.hpp>
#include <nettool/tls/tls_probe.hpp>
#include <nettool/trace/trace.hpp>

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
                  round_result& r, udp_rr_client* client) {
    udp_rr_options o;
    o.count = m.count;
    o.size = m.size;
    o.timeout = per_probe;
    o.warm_up = false;
    o.drain = 0ns;  // no wait after the last answer: a round every second stays short
    const auto u = client ? client->run(to, o) : udp_rr_probe(to, o);
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

// "TLSv1.3" as Go (and so blackbox_exporter's probe_tls_version_info) spells it: "TLS 1.3".
std::string blackbox_version(std::string_view openssl) {
    if (openssl.rfind("TLSv", 0) == 0) return fmt::format("TLS {}", openssl.substr(4));
    return std::string{openssl};
}

void tls_round(const module_config& m, const host_port& hp, const socket_address& to,
               std::chrono::nanoseconds per_probe, round_result& r) {
    tls_options o;
    // SNI and the name checked: the module's, else the target's host name (none for an address).
    const bool literal = ip_address::parse(hp.host).has_value();
    o.sni = !m.server_name.empty() ? m.server_name : literal ? std::string{} : hp.host;
    o.ca_file = m.ca_file;
    o.insecure = m.insecure_skip_verify;
    o.version = m.tls_version == tls_versions::tls1_2   ? tls_version::tls1_2
                : m.tls_version == tls_versions::tls1_3 ? tls_version::tls1_3
                                                        : tls_version::any;
    o.count = m.count;
    o.timeout = per_probe;
    o.warm_up = false;
    // The address already looked up (and timed) by the round: tls_probe parses it, asks no one.
    const auto t = tls_probe(host_port{to.address_string(), to.port()}, o);
    r.latency = t.handshake_time;
    r.sent = t.attempts;
    r.lost = t.attempts - t.completed;
    if (t.outcome != tls_outcome::connect_failed && t.attempts > 0) r.connect_s = seconds(t.timeline.connect);
    if (t.completed > 0) {
        r.extras.tls_handshake_s = seconds(t.timeline.handshake);
        r.extras.tls_version = blackbox_version(t.first.version);
        r.extras.tls_cipher = t.first.cipher;
    }
    for (const auto& c : t.chain) {
        if (c.not_after_unix == 0) continue;
        const auto at = static_cast<double>(c.not_after_unix);
        if (!r.extras.cert_expiry_unix_s || at < *r.extras.cert_expiry_unix_s) r.extras.cert_expiry_unix_s = at;
    }
    if (t.outcome != tls_outcome::ok) r.error = t.error.empty() ? std::string{to_string(t.outcome)} : t.error;
    else if (t.completed < m.count) r.error = fmt::format("{} of {} handshakes completed", t.completed, m.count);
}

void trace_round(const module_config& m, const socket_address& to, std::chrono::nanoseconds wait,
                 round_result& r) {
    trace_options o;
    o.protocol = m.trace_protocol == trace_protocols::icmp  ? trace_protocol::icmp
                 : m.trace_protocol == trace_protocols::tcp ? trace_protocol::tcp
                                                            : trace_protocol::udp;
    o.port = to.port();
    o.max_hops = m.max_hops;
    o.queries = static_cast<unsigned>(m.count);
    o.rounds = 1;
    o.timeout = wait;
    o.resolve = false;  // no reverse lookups: a round asks nothing of DNS
    trace_result t;
    try {
        t = run_trace(to, to.address_string(), o);
    } catch (const error& e) {
        if (e.code() != make_error_code(errc::permission_denied)) throw;
        r.error = fmt::format("module '{}' traces with {} probes, which need {}: {}", m.name, to_string(o.protocol),
                              o.protocol == trace_protocol::tcp ? "a raw socket (root or CAP_NET_RAW)"
                                                                : "a ping socket or a raw socket",
                              e.what());
        return;
    }
    auto& x = r.extras;
    x.traced = true;
    x.reached = t.reached;
    x.destination_hop = t.reached ? t.destination_hop : 0;
    x.hops.reserve(t.hops.size());
    for (const auto& h : t.hops) {
        trace_hop_sample s{.hop = h.ttl, .sent = h.sent, .received = h.received};
        const trace_responder* most = nullptr;
        for (const auto& a : h.responders)
            if (!most || a.replies > most->replies) most = &a;
        if (most) s.address = most->address.to_string();
        if (h.stats.count > 0) s.best_rtt_s = seconds(h.stats.best);
        x.hops.push_back(std::move(s));
        if (t.reached && h.ttl == t.destination_hop) {
            r.sent = h.sent;
            r.lost = h.sent - std::min(h.received, h.sent);
        }
    }
    if (!t.reached) {
        r.error = fmt::format("did not reach {} within {} hops", to.address_string(), m.max_hops);
        r.sent = 0;
    } else if (r.lost > 0) {
        r.error = fmt::format("{} of {} probes to the target's hop went unanswered", r.lost, r.sent);
    }
}

}  // namespace

struct round_state::impl {
    std::string target;  // what the fields below were made for
    std::uint16_t port = 0;
    std::optional<socket_address> literal;
    udp_rr_client udp;
};

round_state::round_state() : impl_(std::make_unique<impl>()) {}
round_state::~round_state() = default;
round_state::round_state(round_state&&) noexcept = default;
round_state& round_state::operator=(round_state&&) noexcept = default;

std::uint16_t default_port(const module_config& m) noexcept {
    switch (m.kind) {
        case prober::dns: return 53;
        case prober::tls: return 443;
        case prober::trace: return m.trace_protocol == trace_protocols::tcp ? 80 : 33434;
        default: return proto::default_port;
    }
}

std::uint16_t default_port(prober p) noexcept {
    module_config m;
    m.kind = p;
    return default_port(m);
}

round_result run_round(const module_config& m, const std::string& target, std::chrono::milliseconds budget) {
    return run_round(m, target, budget, nullptr);
}

round_result run_round(const module_config& m, const std::string& target, std::chrono::milliseconds budget,
                       round_state* state) {
    round_result r;
    const stopwatch whole;
    auto* kept = state ? state->impl_.get() : nullptr;
    const auto port = default_port(m);
    if (kept && (kept->target != target || kept->port != port)) {
        *kept = {};
        kept->target = target;
        kept->port = port;
    }
    std::error_code ec;
    host_port hp;
    std::vector<socket_address> addrs;
    if (kept && kept->literal) {
        addrs.push_back(*kept->literal);
        hp.host = kept->literal->address_string();
        hp.port = kept->literal->port();
    } else {
        hp = parse_host_port(target, port, ec);
        if (ec) {
            r.error = fmt::format("target '{}' is not HOST[:PORT]", target);
            return r;
        }
    }
    // An address literal needs no lookup (and no getaddrinfo call: a thousand targets a second
    // would pay for it every round); a name is looked up each round, timed, as blackbox does.
    if (addrs.empty()) {
        if (auto literal = socket_address::from_numeric(hp.host, hp.port, ec); !ec) {
            addrs.push_back(literal);
            if (kept) kept->literal = literal;
        }
    }
    if (addrs.empty()) {
        ec.clear();
        const stopwatch lookup;
        addrs = resolve(hp, ec);
        r.lookup_s = seconds(lookup.elapsed());
    }
    if (ec || addrs.empty()) {
        r.error = fmt::format("cannot resolve '{}': {}", hp.host, ec ? ec.message() : "no address");
        r.duration_s = seconds(whole.elapsed());
        return r;
    }
    const auto count = std::max<std::uint64_t>(m.count, 1);
    const std::chrono::nanoseconds share = std::chrono::nanoseconds{budget} / static_cast<std::int64_t>(count);
    const auto per_probe = std::max<std::chrono::nanoseconds>(
        std::min<std::chrono::nanoseconds>(m.timeout, m.kind == prober::trace ? budget : share),
        std::chrono::milliseconds{1});
    try {
        switch (m.kind) {
            case prober::tcp_connect: tcp_connect_round(m, addrs.front(), per_probe, r); break;
            case prober::tcp_rr: tcp_rr_round(m, addrs.front(), per_probe, r); break;
            case prober::udp_rr: udp_rr_round(m, addrs.front(), per_probe, r, kept ? &kept->udp : nullptr); break;
            case prober::dns: dns_round(m, addrs.front(), per_probe, r); break;
            case prober::tls: tls_round(m, hp, addrs.front(), per_probe, r); break;
            case prober::trace: trace_round(m, addrs.front(), per_probe, r); break;
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
