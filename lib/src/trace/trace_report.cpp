// The report of `nettool trace`: the hop table (mtr's columns plus p50 and p99), the paths when
// flows took different ones, the readings; the JSON body (docs/JSON.md, `trace`) and mtr's
// --json shape (docs/trace.md).
#include <nettool/trace/trace.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace nettool {

namespace {

double ms(double ns) {
    return ns / 1e6;
}
double us(double ns) {
    return ns / 1e3;
}

std::string hop_hosts(const trace_hop& h) {
    if (h.responders.empty()) return "???";
    std::string s;
    for (const auto& r : h.responders) {
        if (!s.empty()) s += " ";
        s += r.address.to_string();
        if (!r.name.empty()) s += fmt::format(" ({})", r.name);
    }
    return s;
}

std::string ms_cell(std::chrono::nanoseconds d, bool any) {
    return any ? format_duration(d) : "-";
}

std::string flows_text(const std::vector<unsigned>& flows) {
    std::string s;
    for (auto f : flows) s += (s.empty() ? "" : ",") + std::to_string(f);
    return s;
}

}  // namespace

void to_json(nlohmann::json& j, const trace_result& r) {
    j = nlohmann::json::object();
    j["target"] = r.target;
    j["address"] = r.destination.address_string();
    j["protocol"] = std::string{to_string(r.protocol)};
    j["method"] = r.method;
    if (r.protocol != trace_protocol::icmp) j["port"] = r.port;
    j["first_hop"] = r.first_hop;
    j["max_hops"] = r.max_hops;
    j["queries"] = r.queries;
    j["rounds"] = r.rounds;
    j["paths"] = r.paths;
    j["timeout_s"] = std::chrono::duration<double>(r.timeout).count();
    j["probe_bytes"] = r.probe_size;
    j["reached"] = r.reached;
    j["destination_hop"] = r.destination_hop;
    j["elapsed_s"] = std::chrono::duration<double>(r.elapsed).count();
    j["probes_sent"] = r.probes_sent;
    j["send_errors"] = r.send_errors;
    auto& hops = j["hops"] = nlohmann::json::array();
    for (const auto& h : r.hops) {
        nlohmann::json o;
        o["ttl"] = h.ttl;
        o["sent"] = h.sent;
        o["received"] = h.received;
        o["loss"] = h.loss();
        o["verdict"] = std::string{to_string(h.verdict)};
        auto& resp = o["responders"] = nlohmann::json::array();
        for (const auto& x : h.responders) {
            nlohmann::json rj;
            rj["address"] = x.address.to_string();
            rj["replies"] = x.replies;
            rj["flows"] = x.flows;
            if (!x.name.empty()) rj["name"] = x.name;
            if (x.lookup_time) rj["lookup_us"] = us(static_cast<double>(x.lookup_time->count()));
            resp.push_back(std::move(rj));
        }
        if (h.stats.count > 0) {
            o["last_us"] = us(static_cast<double>(h.stats.last.count()));
            o["best_us"] = us(static_cast<double>(h.stats.best.count()));
            o["worst_us"] = us(static_cast<double>(h.stats.worst.count()));
            o["mean_us"] = us(h.stats.mean_ns());
            o["stddev_us"] = us(h.stats.stddev_ns());
        }
        o["rtt"] = latency_summary::from(h.rtt);
        if (!h.unreachable.empty()) o["unreachable"] = h.unreachable;
        if (h.return_hops) o["return_hops"] = *h.return_hops;
        if (h.mtu) o["mtu"] = *h.mtu;
        hops.push_back(std::move(o));
    }
    auto& routes = j["routes"] = nlohmann::json::array();
    for (const auto& p : r.routes) {
        nlohmann::json o;
        o["flows"] = p.flows;
        o["reached"] = p.reached;
        auto& hs = o["hops"] = nlohmann::json::array();
        for (const auto& a : p.hops)
            hs.push_back(a ? nlohmann::json(a->to_string()) : nlohmann::json(nullptr));
        routes.push_back(std::move(o));
    }
    if (r.pmtu) {
        nlohmann::json p;
        p["first_mtu"] = r.first_mtu;
        if (r.path_mtu) p["path_mtu"] = *r.path_mtu;
        if (r.mtu_hop != 0) p["hop"] = r.mtu_hop;
        j["pmtu"] = std::move(p);
    }
    j["asymmetric"] = r.asymmetric;
    j["ignored"] = {{"foreign", r.ignored.foreign},         {"unknown_probe", r.ignored.unknown_probe},
                    {"duplicate", r.ignored.duplicate},     {"late", r.ignored.late},
                    {"short_quote", r.ignored.short_quote}, {"other", r.ignored.other}};
}

nlohmann::json to_mtr_json(const trace_result& r) {
    nlohmann::json rep;
    auto& m = rep["report"]["mtr"];
    m["src"] = "";
    m["dst"] = r.target;
    m["tos"] = 0;
    m["tests"] = r.rounds * r.queries;
    m["psize"] = std::to_string(r.probe_size);
    m["bitpattern"] = "0x00";
    auto& hubs = rep["report"]["hubs"] = nlohmann::json::array();
    for (const auto& h : r.hops) {
        nlohmann::json o;
        o["count"] = h.ttl;
        std::string host = "???";
        if (!h.responders.empty()) {
            const auto& first =
                *std::max_element(h.responders.begin(), h.responders.end(),
                                  [](const auto& a, const auto& b) { return a.replies < b.replies; });
            host = first.name.empty() ? first.address.to_string() : first.name;
        }
        o["host"] = host;
        o["Loss%"] = h.loss() * 100.0;
        o["Snt"] = h.sent;
        o["Last"] = ms(static_cast<double>(h.stats.last.count()));
        o["Avg"] = ms(h.stats.mean_ns());
        o["Best"] = ms(static_cast<double>(h.stats.best.count()));
        o["Wrst"] = ms(static_cast<double>(h.stats.worst.count()));
        o["StDev"] = ms(h.stats.stddev_ns());
        hubs.push_back(std::move(o));
    }
    rep["report"]["reached"] = r.reached;
    return rep;
}

report make_report(const trace_result& r) {
    report rep{"trace"};
    rep.data()["trace"] = r;

    table t;
    t.title = fmt::format("trace to {} ({}), {} probes: {}", r.target, r.destination.address_string(),
                          to_string(r.protocol), r.method);
    t.header = {"hop", "host", "loss", "sent", "last", "avg", "best", "worst", "stdev", "p50", "p99", "note"};
    for (const auto& h : r.hops) {
        const bool any = h.stats.count > 0;
        std::string note =
            h.verdict == hop_verdict::answers ? std::string{} : std::string{to_string(h.verdict)};
        if (!h.unreachable.empty()) note += " " + h.unreachable;
        if (h.mtu) note += fmt::format("{}mtu {} beyond", note.empty() ? "" : "; ", *h.mtu);
        if (h.return_hops && *h.return_hops != h.ttl)
            note += fmt::format("{}back in {} hops", note.empty() ? "" : "; ", *h.return_hops);
        t.add_row({std::to_string(h.ttl), hop_hosts(h), format_percent(h.loss()), std::to_string(h.sent),
                   ms_cell(h.stats.last, any), any ? format_duration_us(us(h.stats.mean_ns())) : "-",
                   ms_cell(h.stats.best, any), ms_cell(h.stats.worst, any),
                   any ? format_duration_us(us(h.stats.stddev_ns())) : "-", format_percentile(h.rtt, 0.5),
                   format_percentile(h.rtt, 0.99), note});
    }
    rep.add_table(std::move(t));

    if (r.routes.size() > 1) {
        table p;
        p.title = fmt::format("{} paths among {} flows", r.routes.size(), r.paths);
        p.header = {"path", "flows", "hops"};
        for (std::size_t i = 0; i < r.routes.size(); ++i) {
            std::string hs;
            for (const auto& a : r.routes[i].hops)
                hs += (hs.empty() ? "" : " ") + (a ? a->to_string() : std::string{"*"});
            p.add_row({std::to_string(i + 1), flows_text(r.routes[i].flows), hs});
        }
        rep.add_table(std::move(p));
    }

    // Readings.
    if (r.reached) {
        const auto& d = r.hops.back();
        rep.add_reading(
            fmt::format("Reached {} in {} hop{}: the round trip to it took {} (p50 of {} repl{}).",
                        r.destination.address_string(), r.destination_hop, r.destination_hop == 1 ? "" : "s",
                        format_percentile(d.rtt, 0.5), d.received, d.received == 1 ? "y" : "ies"));
    } else if (!r.hops.empty() && r.hops.back().verdict == hop_verdict::unreachable) {
        rep.add_reading(fmt::format("Not reached: hop {} answered \"destination unreachable\" ({}).",
                                    r.hops.back().ttl, r.hops.back().unreachable));
    } else {
        rep.add_reading(fmt::format("Not reached: {} did not answer within {} hops and {} per probe.",
                                    r.destination.address_string(), r.max_hops, format_duration(r.timeout)));
    }
    for (const auto& h : r.hops) {
        if (h.verdict == hop_verdict::does_not_answer)
            rep.add_reading(
                fmt::format("Hop {} does not answer: it sends no ICMP time-exceeded (or a filter drops it), "
                            "yet the hops after it answer, so packets pass through it. This is not loss on "
                            "the path.",
                            h.ttl));
        else if (h.verdict == hop_verdict::rate_limits)
            rep.add_reading(
                fmt::format("Hop {} answered {} of {} probes while a hop after it answered more: it "
                            "rate-limits the ICMP it "
                            "sends (Linux: net.ipv4.icmp_ratelimit, a burst of 6 then one per interval), so "
                            "its {} loss is "
                            "not loss on the path.",
                            h.ttl, h.received, h.sent, format_percent(h.loss())));
    }
    if (r.reached && r.hops.back().loss() > 0)
        rep.add_reading(fmt::format(
            "Loss on the path is what the destination shows: {}{}.", format_percent(r.hops.back().loss()),
            r.protocol == trace_protocol::udp
                ? " (UDP probes: the destination's port-unreachable replies are rate-limited "
                  "too; --proto icmp measures loss without that limit)"
                : ""));
    if (r.routes.size() > 1)
        rep.add_reading(
            fmt::format("The {} flows took {} different paths: a router balances load (ECMP) by hashing "
                        "each packet's addresses and ports. Every probe of one flow kept its 5-tuple "
                        "(Paris traceroute), so each path shown is one a packet really takes.",
                        r.paths, r.routes.size()));
    else if (r.paths > 1)
        rep.add_reading(
            fmt::format("All {} flows took the same path: no load balancing by flow was seen.", r.paths));
    if (r.pmtu && r.path_mtu) {
        if (r.mtu_hop != 0 && *r.path_mtu < r.first_mtu)
            rep.add_reading(
                fmt::format("Path MTU {} bytes: the interface takes {}, and hop {} cannot forward packets "
                            "larger than {} (it answered \"fragmentation needed\" / \"packet too big\").",
                            *r.path_mtu, r.first_mtu, r.mtu_hop, *r.path_mtu));
        else
            rep.add_reading(
                fmt::format("Path MTU {} bytes, the same as the outgoing interface's.", *r.path_mtu));
    }
    if (r.asymmetric)
        rep.add_reading(
            "Asymmetric: some replies came back over a different number of hops than the probes went "
            "(guessed from the replies' TTL, as tracepath does): the return path differs.");
    const auto& ig = r.ignored;
    const auto ignored = ig.foreign + ig.unknown_probe + ig.duplicate + ig.late + ig.short_quote + ig.other;
    if (ignored > 0)
        rep.add_reading(fmt::format(
            "{} replies were ignored ({} quoting packets this run never sent, {} unknown "
            "probes, {} duplicates, {} after the timeout, {} quoting too little, {} other).",
            ignored, ig.foreign, ig.unknown_probe, ig.duplicate, ig.late, ig.short_quote, ig.other));
    return rep;
}

}  // namespace nettool
