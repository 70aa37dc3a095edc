#include "cmd_trace.hpp"

#include "files.hpp"

#include <nettool/core/clock.hpp>
#include <nettool/trace/trace.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>

namespace nettool::cli {

void setup_trace(CLI::App& app, context& ctx) {
    auto opts = std::make_shared<trace_cli_options>();
    CLI::App* sub = app.add_subcommand(
        "trace",
        "The path to HOST hop by hop, as traceroute and mtr show it: every TTL probed at once, each reply "
        "matched by what it quotes, one constant 5-tuple per flow (Paris traceroute), per-hop loss and "
        "round-trip statistics, load-balanced paths (--paths), the path MTU (--pmtu). UDP needs no "
        "privilege");
    sub->add_option("host", opts->host, "Host name or address to trace to")->required();
    sub->add_option(
           "--proto", opts->proto,
           "Probe protocol: udp (to a closed port; no privilege), icmp (echo; a ping socket, or a raw "
           "socket as root), tcp (SYN; raw socket, root)")
        ->check(CLI::IsMember({"udp", "icmp", "tcp"}))
        ->capture_default_str();
    sub->add_option("-p,--port", opts->port,
                    "Destination port: UDP's first (flow i uses PORT+i; default 33434), TCP's (default 80)")
        ->check(port_option());
    sub->add_option("-f,--first-hop", opts->first_hop, "The lowest TTL (hop limit) to probe")
        ->check(count_option(1, 255, "hops"))
        ->capture_default_str();
    sub->add_option("-m,--max-hops", opts->max_hops, "The highest TTL (hop limit) to probe")
        ->check(count_option(1, 255, "hops"))
        ->capture_default_str();
    sub->add_option("-q,--queries", opts->queries,
                    "Probes per hop (and flow) in each round (default: 3 for one round, 1 with --count)")
        ->check(count_option(1, 10, "probes"));
    sub->add_option("-c,--count", opts->count, "Rounds, mtr-style: each sends every hop its probes again")
        ->check(count_option(1, 10'000, "rounds"))
        ->capture_default_str();
    sub->add_option("-i,--interval", opts->interval_s, "Seconds from the start of one round to the next")
        ->check(seconds_option(0.01, 3600))
        ->capture_default_str();
    sub->add_option("-w,--timeout", opts->timeout_s, "Seconds to wait for each probe's reply")
        ->check(seconds_option(0.01, 60))
        ->capture_default_str();
    sub->add_option("--paths", opts->paths,
                    "Flows, each with its own constant 5-tuple: finds the paths load balancers (ECMP) split "
                    "traffic over, as dublin-traceroute does")
        ->check(count_option(1, max_trace_paths, "flows"))
        ->capture_default_str();
    sub->add_flag("--pmtu", opts->pmtu,
                  "Find the path MTU and the hop where it shrinks (DF set, probes as large as the interface "
                  "allows, shrunk as routers answer 'fragmentation needed' / 'packet too big')");
    sub->add_flag("-n,--no-resolve", opts->no_resolve, "Do not look up the responders' names (reverse DNS)");
    sub->add_option("--format", opts->format,
                    "text, json (the same as --json) or mtr-json (mtr --json's shape, plus report.reached)")
        ->check(CLI::IsMember({"text", "json", "mtr-json"}))
        ->capture_default_str();
    sub->callback([opts, &ctx] { ctx.exit_status = run_trace(*opts, ctx); });
}

int run_trace(const trace_cli_options& opt, const context& ctx) {
    const trace_protocol proto = opt.proto == "icmp"  ? trace_protocol::icmp
                                 : opt.proto == "tcp" ? trace_protocol::tcp
                                                      : trace_protocol::udp;
    trace_options o{.protocol = proto,
                    .port = opt.port,
                    .first_hop = opt.first_hop,
                    .max_hops = opt.max_hops,
                    .queries = opt.queries != 0 ? opt.queries : (opt.count > 1 ? 1U : 3U),
                    .rounds = opt.count,
                    .interval = seconds_to_ns(opt.interval_s),
                    .timeout = seconds_to_ns(opt.timeout_s),
                    .paths = opt.paths,
                    .pmtu = opt.pmtu,
                    .resolve = !opt.no_resolve};
    // A command line the library refuses is refused before the host name is looked up: a usage
    // error sends nothing.
    check_trace_options(o);
    const auto target = resolve_target(opt.host, 0);
    if (want_progress(ctx) && opt.count > 1 && opt.format == "text")
        o.on_round = [](unsigned done, unsigned total) {
            write_stdout(fmt::format("round {}/{} sent\n", done, total));
        };
    const auto r = nettool::run_trace(target, opt.host, o);
    if (opt.format == "mtr-json") {
        write_stdout(to_mtr_json(r).dump(2) + "\n");
        flush_stdout();
        write_html(ctx, make_report(r));  // --html draws nettool's own report, not mtr's shape
    } else {
        context c = ctx;
        if (opt.format == "json") c.global.json = true;
        emit(c, make_report(r));
    }
    if (!r.reached)
        return fail(fmt::format("{} was not reached within {} hops", target.address_string(), opt.max_hops),
                    exit_failed);
    return exit_ok;
}

}  // namespace nettool::cli
