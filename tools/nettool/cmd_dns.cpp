#include "cmd_dns.hpp"

#include "files.hpp"
#include "probe_link.hpp"

#include <nettool/core/clock.hpp>
#include <nettool/dns/dns_timer.hpp>

#include <fmt/format.h>

#include <memory>

namespace nettool::cli {

namespace {

int run_load(const dns_options& o, const context& ctx) {
    if (o.servers.size() > 1 || (o.servers.empty() && o.link.empty())) {
        return fail("--queries needs exactly one --server", exit_usage);
    }
    probe_link lk{o.link};
    dns_server server;
    try {
        server = parse_dns_server(lk.dns_server_text(o.servers.empty() ? std::string{} : o.servers.front()));
    } catch (const error& e) {
        return fail(fmt::format("bad --server: {}", e.what()), exit_usage);
    }
    // A query file that cannot be opened, is not text or does not parse is a usage error.
    std::vector<dns_load_query> queries;
    try {
        queries = read_dns_query_file(o.queries_file);
    } catch (const error& e) {
        return fail(e.what(), input_file_status(e.code()));
    }
    if (queries.empty())
        return fail(fmt::format("query file '{}' has no queries", o.queries_file), exit_usage);
    const dns_load_options lo{.queries = std::move(queries),
                              .duration = seconds_to_ns(o.duration_s),
                              .concurrency = o.concurrency,
                              .rate = o.rate,
                              .timeout = seconds_to_ns(o.timeout_s),
                              .edns = !o.no_edns,
                              .edns_size = static_cast<std::uint16_t>(o.edns_size),
                              .recurse = !o.no_recurse};
    std::error_code ec;
    const auto r = lk.run([&] { return run_dns_load(server, lo, ec); });
    if (ec) return fail(fmt::format("load against {}", server.to_string()), ec);

    auto rep = make_report(r, lo, o.queries_file);
    lk.attach(rep);
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
        ->check(count_option(1, 1'000'000, "queries"))
        ->capture_default_str();
    sub->add_option("-i,--interval", opts->interval_s, "Seconds from one query to the next")
        ->check(seconds_option(min_seconds, 3600, "no gap"))
        ->capture_default_str();
    sub->add_option("--timeout", opts->timeout_s, "Seconds to wait for each answer")
        ->check(seconds_option(min_seconds, 3600))
        ->capture_default_str();
    sub->add_flag("--tcp", opts->tcp, "Query over TCP only (default: UDP, retried over TCP when truncated)");
    sub->add_flag("--system", opts->system_only, "Time only the system resolver (getaddrinfo, A and AAAA)")
        ->excludes(server_opt);
    auto* no_edns = sub->add_flag("--no-edns", opts->no_edns, "Send queries without an EDNS OPT record");
    sub->add_option("--edns-size", opts->edns_size, "EDNS UDP payload size to advertise, bytes")
        ->check(count_option(512, 65535, "bytes"))
        ->excludes(no_edns)
        ->capture_default_str();
    sub->add_flag("--no-recurse", opts->no_recurse, "Clear the RD (recursion desired) bit");
    auto* resolv_conf =
        sub->add_option("--resolv-conf", opts->resolv_conf,
                        "File whose nameserver lines are the default servers (port 53); it must exist when "
                        "given")
            ->check(file_option())
            ->capture_default_str();
    sub->add_option("--queries", opts->queries_file,
                    "Load mode: replay this dnsperf-format file ('name type' per line) against --server; "
                    "'-' reads stdin")
        ->check(file_option());
    sub->add_option("--duration", opts->duration_s, "Load mode: seconds to run")
        ->check(seconds_option(0.01, 86400))
        ->capture_default_str();
    sub->add_option("--concurrency", opts->concurrency, "Load mode: queries outstanding at most")
        ->check(count_option(1, 65535, "queries"))
        ->capture_default_str();
    sub->add_option("--rate", opts->rate, "Load mode: queries per second at most (0: unlimited)")
        ->check(rate_option(0.01, 1e9, "queries per second", "unlimited"))
        ->capture_default_str();
    sub->add_option("--link", opts->link,
                    "Query across an emulated link built for the run (needs root), e.g. \"delay=20ms,loss=1%\"; "
                    "--server is then :PORT or nothing: this host's end of the link (port 53)");
    sub->callback([opts, resolv_conf, &ctx] {
        opts->resolv_conf_given = resolv_conf->count() > 0;
        ctx.exit_status = run_dns(*opts, ctx);
    });
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
    if (!o.link.empty() && o.system_only)
        return fail("--system with --link: the namespace's resolver configuration is this host's, whose "
                    "servers the link does not reach; give --server (default: this host's end of the link)",
                    exit_usage);
    probe_link lk{o.link};
    std::vector<dns_server> servers;
    // With a link, no --server means this host's end of it, port 53.
    const auto given = lk.active() && o.servers.empty() ? std::vector<std::string>{std::string{}} : o.servers;
    for (const auto& s : given) {
        try {
            servers.push_back(parse_dns_server(lk.dns_server_text(s)));
        } catch (const error& e) {
            return fail(fmt::format("bad --server: {}", e.what()), exit_usage);
        }
    }
    const bool run_system = !lk.active() && (o.system_only || o.servers.empty());
    if (!lk.active() && !o.system_only && o.servers.empty()) {
        // A --resolv-conf the user named must be readable; the default one may be missing (a
        // container without one): then only the system resolver is timed.
        try {
            servers = resolv_conf_servers(o.resolv_conf);
        } catch (const error& e) {
            const bool missing_default = !o.resolv_conf_given && e.code() == std::errc::no_such_file_or_directory;
            if (!missing_default) return fail(fmt::format("--resolv-conf {}", e.what()), input_file_status(e.code()));
        }
    }

    dns_timing_result result{
        .query = {.name = o.name,
                  .type = *type,
                  .transport = o.tcp ? dns_transport::tcp : dns_transport::udp,
                  .edns = !o.no_edns,
                  .edns_size = static_cast<std::uint16_t>(o.edns_size),
                  .recurse = !o.no_recurse,
                  .count = o.count,
                  .interval = seconds_to_ns(o.interval_s),
                  .timeout = seconds_to_ns(o.timeout_s)},
        .resolv_conf = !o.system_only && o.servers.empty() ? o.resolv_conf : std::string{}};
    const auto& qo = result.query;
    if (run_system) result.system = time_system_lookups(o.name, o.count, qo.interval);
    for (const auto& server : servers) {
        std::error_code ec;
        result.servers.push_back(lk.run([&] { return time_dns_queries(server, qo, ec); }));
        if (ec) return fail(fmt::format("querying {}", server.to_string()), ec);
    }
    auto rep = make_report(result);
    lk.attach(rep);
    emit(ctx, rep);

    int status = exit_ok;
    if (result.system && result.system->failures == result.system->lookups) status = exit_failed;
    for (const auto& r : result.servers)
        if (r.answered == 0) status = exit_failed;
    return status;
}

}  // namespace nettool::cli
