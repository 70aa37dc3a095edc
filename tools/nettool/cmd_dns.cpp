#include "cmd_dns.hpp"

#include <nettool/core/clock.hpp>
#include <nettool/dns/dns_timer.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <sstream>

namespace nettool::cli {

namespace {

std::string rcodes_text(const std::map<std::string, std::uint64_t>& rcodes) {
    std::string out;
    for (const auto& [name, n] : rcodes) {
        if (!out.empty()) out += ' ';
        out += fmt::format("{}:{}", name, n);
    }
    return out.empty() ? "-" : out;
}

/// Splits one ldns RR line (owner TTL class type rdata, tab separated) into table cells.
std::vector<std::string> rr_cells(std::string_view section, const std::string& rr) {
    std::vector<std::string> cells{std::string{section}};
    std::size_t start = 0;
    for (int field = 0; field < 4; ++field) {
        const auto tab = rr.find('\t', start);
        if (tab == std::string::npos) break;
        cells.push_back(rr.substr(start, tab - start));
        start = tab + 1;
    }
    cells.push_back(rr.substr(start));
    cells.resize(6);
    return cells;
}

table records_table(const dns_query_result& r) {
    const auto& rec = *r.last;
    table t{fmt::format("Response from {} ({}{}{})", r.server.to_string(), rec.rcode,
                        rec.authoritative ? ", authoritative" : "", rec.truncated ? ", truncated" : ""),
            {"section", "name", "ttl", "class", "type", "data"},
            {}};
    for (const auto& rr : rec.answer) t.add_row(rr_cells("answer", rr));
    for (const auto& rr : rec.authority) t.add_row(rr_cells("authority", rr));
    for (const auto& rr : rec.additional) t.add_row(rr_cells("additional", rr));
    if (t.rows.empty()) t.add_row({"(none)", "", "", "", "", ""});
    return t;
}

int run_load(const dns_options& o, const context& ctx) {
    if (o.servers.size() != 1) {
        return fail("--queries needs exactly one --server", exit_usage);
    }
    dns_server server;
    try {
        server = parse_dns_server(o.servers.front());
    } catch (const error& e) {
        return fail(fmt::format("bad --server: {}", e.what()), exit_usage);
    }
    std::ifstream in{o.queries_file};
    if (!in) {
        return fail(fmt::format("cannot read query file '{}'", o.queries_file), exit_usage);
    }
    std::stringstream text;
    text << in.rdbuf();
    dns_load_options lo;
    try {
        lo.queries = parse_dns_query_file(text.str());
    } catch (const error& e) {
        return fail(fmt::format("query file '{}': {}", o.queries_file, e.what()), exit_usage);
    }
    if (lo.queries.empty())
        return fail(fmt::format("query file '{}' has no queries", o.queries_file), exit_usage);
    lo.duration = seconds_to_ns(o.duration_s);
    lo.concurrency = o.concurrency;
    lo.rate = o.rate;
    lo.timeout = seconds_to_ns(o.timeout_s);
    lo.edns = !o.no_edns;
    lo.edns_size = static_cast<std::uint16_t>(o.edns_size);
    lo.recurse = !o.no_recurse;
    std::error_code ec;
    const auto r = run_dns_load(server, lo, ec);
    if (ec) return fail(fmt::format("load against {}", server.to_string()), ec);

    report rep{"dns"};
    rep.data()["mode"] = "load";
    rep.data()["query_file"] = o.queries_file;
    rep.data()["queries_in_file"] = lo.queries.size();
    rep.data()["concurrency"] = lo.concurrency;
    rep.data()["rate_limit_qps"] = lo.rate;
    rep.data()["load"] = r;
    const auto lat = latency_summary::from(r.latency);
    table t{fmt::format("DNS load against {} ({} queries in file, concurrency {})", server.to_string(),
                        lo.queries.size(), lo.concurrency),
            {"sent", "answered", "lost", "late", "qps", "min", "p50", "p99", "max", "rcodes"},
            {}};
    t.add_row({std::to_string(r.sent), std::to_string(r.answered), std::to_string(r.lost),
               std::to_string(r.late), format_rate(r.queries_per_second, "q"), format_duration_us(lat.min_us),
               format_duration_us(lat.p50_us), format_duration_us(lat.p99_us), format_duration_us(lat.max_us),
               rcodes_text(r.rcodes)});
    rep.add_table(std::move(t));
    const double lost_fraction = r.sent ? static_cast<double>(r.lost) / static_cast<double>(r.sent) : 0.0;
    rep.add_reading(fmt::format("{} answered {} in {:.2f} s, {} of the queries lost.", server.to_string(),
                                format_rate(r.queries_per_second, "queries"),
                                std::chrono::duration<double>(r.elapsed).count(),
                                format_percent(lost_fraction)));
    emit(ctx, rep);
    return r.answered > 0 ? exit_ok : exit_failed;
}

}  // namespace

void setup_dns(CLI::App& app, context& ctx) {
    auto opts = std::make_shared<dns_options>();
    CLI::App* sub = app.add_subcommand(
        "dns",
        "Time DNS lookups: the system resolver (getaddrinfo) and direct queries to DNS servers, "
        "side by side; or load one server with a dnsperf-style query file (--queries)");
    sub->add_option("name", opts->name, "Domain name to look up (e.g. example.com)");
    auto* server_opt =
        sub->add_option("-s,--server", opts->servers,
                        "DNS server ADDR[:PORT], IPv6 as [ADDR]:PORT; repeatable (default: the nameservers "
                        "of /etc/resolv.conf plus the system resolver)");
    sub->add_option("-t,--type", opts->type,
                    "Query type: A, AAAA, MX, TXT, NS, SOA, CNAME, PTR, SRV, CAA, ANY or a number")
        ->capture_default_str();
    sub->add_option("-c,--count", opts->count, "Queries (or getaddrinfo calls) per resolver")
        ->check(CLI::Range(1u, 1000000u))
        ->capture_default_str();
    sub->add_option("-i,--interval", opts->interval_s, "Seconds from one query to the next")
        ->check(CLI::Range(0.0, 3600.0))
        ->capture_default_str();
    sub->add_option("--timeout", opts->timeout_s, "Seconds to wait for each answer")
        ->check(CLI::Range(0.001, 3600.0))
        ->capture_default_str();
    sub->add_flag("--tcp", opts->tcp, "Query over TCP only (default: UDP, retried over TCP when truncated)");
    sub->add_flag("--system", opts->system_only, "Time only the system resolver (getaddrinfo, A and AAAA)")
        ->excludes(server_opt);
    auto* no_edns = sub->add_flag("--no-edns", opts->no_edns, "Send queries without an EDNS OPT record");
    sub->add_option("--edns-size", opts->edns_size, "EDNS UDP payload size to advertise, bytes")
        ->check(CLI::Range(512u, 65535u))
        ->excludes(no_edns)
        ->capture_default_str();
    sub->add_flag("--no-recurse", opts->no_recurse, "Clear the RD (recursion desired) bit");
    sub->add_option("--resolv-conf", opts->resolv_conf,
                    "File whose nameserver lines are the default servers (port 53)")
        ->capture_default_str();
    sub->add_option("--queries", opts->queries_file,
                    "Load mode: replay this dnsperf-format file ('name type' per line) against --server");
    sub->add_option("--duration", opts->duration_s, "Load mode: seconds to run")
        ->check(CLI::Range(0.01, 86400.0))
        ->capture_default_str();
    sub->add_option("--concurrency", opts->concurrency, "Load mode: queries outstanding at most")
        ->check(CLI::Range(1u, 65535u))
        ->capture_default_str();
    sub->add_option("--rate", opts->rate, "Load mode: queries per second at most (0: unlimited)")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    sub->callback([opts, &ctx] { ctx.exit_status = run_dns(*opts, ctx); });
}

int run_dns(const dns_options& o, const context& ctx) {
    if (!o.queries_file.empty()) return run_load(o, ctx);
    if (o.name.empty()) return fail("dns: a NAME to look up is required (or --queries FILE)", exit_usage);
    if (validate_dns_name(o.name)) {
        return fail(fmt::format("invalid DNS name '{}': every label must be 1..63 octets and the name at "
                                "most 255 octets",
                                o.name),
                    exit_usage);
    }
    const auto type = parse_dns_type(o.type);
    if (!type) {
        return fail(fmt::format("unknown query type '{}' (A, AAAA, MX, TXT, NS, SOA, CNAME, PTR, SRV, CAA, "
                                "ANY or a number)",
                                o.type),
                    exit_usage);
    }
    std::vector<dns_server> servers;
    for (const auto& s : o.servers) {
        try {
            servers.push_back(parse_dns_server(s));
        } catch (const error& e) {
            return fail(fmt::format("bad --server: {}", e.what()), exit_usage);
        }
    }
    const bool run_system = o.system_only || o.servers.empty();
    if (!o.system_only && o.servers.empty()) servers = resolv_conf_servers(o.resolv_conf);

    dns_query_options qo;
    qo.name = o.name;
    qo.type = *type;
    qo.transport = o.tcp ? dns_transport::tcp : dns_transport::udp;
    qo.edns = !o.no_edns;
    qo.edns_size = static_cast<std::uint16_t>(o.edns_size);
    qo.recurse = !o.no_recurse;
    qo.count = o.count;
    qo.interval = seconds_to_ns(o.interval_s);
    qo.timeout = seconds_to_ns(o.timeout_s);

    report rep{"dns"};
    rep.data()["mode"] = "timing";
    rep.data()["name"] = o.name;
    rep.data()["type"] = dns_type_name(*type);
    rep.data()["count"] = o.count;
    table t{fmt::format("DNS lookup times for {} {} ({} each)", o.name, dns_type_name(*type), o.count),
            {"resolver", "transport", "answered", "timeouts", "first", "min", "p50", "mean", "max", "result"},
            {}};
    int status = exit_ok;

    rep.data()["system"] = nullptr;
    if (run_system) {
        const auto sr = time_system_lookups(o.name, o.count, qo.interval);
        rep.data()["system"] = sr;
        const auto warm = latency_summary::from(sr.warm);
        const bool any = warm.count > 0;
        t.add_row({"system (getaddrinfo)", "A+AAAA", std::to_string(sr.lookups - sr.failures), "-",
                   sr.cold ? format_duration(*sr.cold) : "-", any ? format_duration_us(warm.min_us) : "-",
                   any ? format_duration_us(warm.p50_us) : "-", any ? format_duration_us(warm.mean_us) : "-",
                   any ? format_duration_us(warm.max_us) : "-",
                   sr.failures == sr.lookups ? sr.error : fmt::format("{} addresses", sr.addresses.size())});
        if (sr.failures == sr.lookups) {
            status = exit_failed;
            rep.add_reading(fmt::format("getaddrinfo failed for {}: {}.", o.name, sr.error));
        } else {
            std::string addrs;
            for (const auto& a : sr.addresses) addrs += (addrs.empty() ? "" : ", ") + a;
            rep.add_reading(
                fmt::format("The system resolver returned {} for {}; the first lookup took {}{}.", addrs,
                            o.name, format_duration(*sr.cold),
                            any ? fmt::format(", repeated ones {} (median)", format_duration_us(warm.p50_us))
                                : std::string{}));
        }
    }

    nlohmann::json servers_json = nlohmann::json::array();
    std::vector<table> record_tables;
    for (const auto& server : servers) {
        std::error_code ec;
        const auto r = time_dns_queries(server, qo, ec);
        if (ec) return fail(fmt::format("querying {}", server.to_string()), ec);
        servers_json.push_back(r);
        const auto lat = latency_summary::from(r.rtt);
        const bool any = lat.count > 0;
        std::string transport = o.tcp ? "tcp" : "udp";
        if (r.tcp_retries) transport += fmt::format(" (+{} tcp)", r.tcp_retries);
        t.add_row({server.to_string(), transport, std::to_string(r.answered), std::to_string(r.timeouts), "-",
                   any ? format_duration_us(lat.min_us) : "-", any ? format_duration_us(lat.p50_us) : "-",
                   any ? format_duration_us(lat.mean_us) : "-", any ? format_duration_us(lat.max_us) : "-",
                   rcodes_text(r.rcodes)});
        if (r.answered == 0) {
            status = exit_failed;
            rep.add_reading(fmt::format("{} did not answer any of {} queries within {} each.",
                                        server.to_string(), r.sent, format_duration(qo.timeout)));
        } else if (r.timeouts > 0) {
            rep.add_reading(
                fmt::format("{} left {} of {} queries unanswered.", server.to_string(), r.timeouts, r.sent));
        }
        if (r.ignored.total() > 0) {
            rep.add_reading(
                fmt::format("{} datagrams ignored while waiting on {}: {} wrong ID, {} wrong source, "
                            "{} wrong question, {} malformed.",
                            r.ignored.total(), server.to_string(), r.ignored.wrong_id, r.ignored.wrong_source,
                            r.ignored.wrong_question, r.ignored.malformed));
        }
        if (r.tcp_retries > 0) {
            rep.add_reading(fmt::format("{} answers from {} were truncated and asked again over TCP.",
                                        r.tcp_retries, server.to_string()));
        }
        if (r.last) record_tables.push_back(records_table(r));
    }
    rep.data()["servers"] = servers_json;
    if (servers.empty() && !o.system_only) {
        rep.add_reading(
            fmt::format("No nameserver found in {}; only the system resolver was timed.", o.resolv_conf));
    }
    rep.add_table(std::move(t));
    for (auto& rt : record_tables) rep.add_table(std::move(rt));
    emit(ctx, rep);
    return status;
}

}  // namespace nettool::cli
