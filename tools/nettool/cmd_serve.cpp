#include "cmd_serve.hpp"

#include "exporter_plugin.hpp"

#include <nettool/iperf3/server.hpp>
#include <nettool/probe/responder.hpp>

#include <fmt/format.h>

#include <csignal>
#include <thread>

namespace nettool::cli {

void setup_serve(CLI::App& app, context& ctx) {
    auto opt = std::make_shared<serve_options>();
    auto* sub = app.add_subcommand(
        "serve", "Run the responder that tcp, udp and tcp-vs-udp probe (TCP and UDP, one port)");
    sub->add_option("-p,--port", opt->port, "TCP and UDP port to listen on")
        ->capture_default_str()
        ->check(port_option());
    sub->add_option("-b,--bind", opt->bind, "Address to bind (default: every IPv4 and IPv6 address)");
    sub->add_option("--max-sessions", opt->max_sessions, "Sessions served at once; more are refused")
        ->capture_default_str()
        ->check(count_option(1, responder_caps::max_sessions, "sessions"));
    sub->add_option("--max-sessions-per-source", opt->max_sessions_per_source,
                    "Sessions one IPv4 address or IPv6 /64 may hold at once; more are refused busy")
        ->capture_default_str()
        ->check(count_option(1, responder_caps::max_sessions_per_source, "sessions"));
    sub->add_option("--max-session-rate-per-source", opt->max_session_rate_per_source,
                    "New sessions one IPv4 address or IPv6 /64 may open per second; more are refused busy")
        ->capture_default_str()
        ->check(count_option(1, responder_caps::max_session_rate_per_source, "sessions per second"));
    sub->add_option("--udp-poll", opt->udp_poll_us,
                    "Microseconds the UDP thread keeps polling after the last datagram, once a stream arrives "
                    "faster than it wakes (it sleeps otherwise); 0 always sleeps (docs/performance.md)")
        ->capture_default_str()
        ->check(count_option(1, static_cast<std::uint64_t>(responder_caps::max_udp_poll.count()), "microseconds",
                             "always sleep"));
    sub->add_option("--iperf3", opt->iperf3_port,
                    "Also serve stock iperf3 clients (iperf3 -c: TCP, -R, --bidir, -P N, -J) on this TCP port, "
                    "5201 when given without one; several tests at once, under the same limits (a test is one "
                    "session) (docs/iperf3.md)")
        ->expected(0, 1)
        ->default_str("5201")
        ->check(port_option());
    sub->add_option("--metrics", opt->metrics,
                    "Serve the responder's counters to Prometheus on ADDR:PORT (HTTP GET /metrics; numeric address, "
                    "port 9430 when omitted, 0 for a free one) (docs/exporter.md)");
    sub->callback([opt, &ctx] { ctx.exit_status = run_serve(*opt, ctx); });
}

int run_serve(const serve_options& opt, const context& ctx) {
    // Block SIGINT/SIGTERM here so a dedicated thread can take them and stop the responder cleanly.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    responder_config cfg;
    cfg.port = opt.port;
    cfg.bind_address = opt.bind;
    cfg.max_sessions = opt.max_sessions;
    cfg.max_sessions_per_source = opt.max_sessions_per_source;
    cfg.max_session_rate_per_source = opt.max_session_rate_per_source;
    cfg.udp_poll = std::chrono::microseconds{opt.udp_poll_us};
    if (!ctx.global.quiet) {
        cfg.log = log_line;
    }
    std::error_code ec;
    host_port metrics_at;
    if (opt.metrics) {
        metrics_at = parse_host_port(*opt.metrics, default_metrics_port, ec);
        std::error_code aec;
        if (!ec) socket_address::from_numeric(metrics_at.host, metrics_at.port, aec);
        if (ec || aec)
            return fail(fmt::format("--metrics '{}': not a numeric IPv4 or IPv6 address with an optional port "
                                    "(127.0.0.1:9430, [::1]:9430, 0.0.0.0:0)",
                                    *opt.metrics),
                        exit_usage);
        ec.clear();
    }
    if (!opt.bind.empty()) {
        std::error_code aec;
        socket_address::from_numeric(opt.bind, opt.port, aec);
        if (aec)
            return fail(fmt::format("--bind '{}': not a numeric IPv4 or IPv6 address", opt.bind), exit_usage);
    }
    // The HTTP side lives in libnettool-exporter.so (exporter_plugin.hpp): opened only when asked for.
    const exporter::plugin_api* plugin = nullptr;
    if (opt.metrics) {
        std::string why;
        plugin = load_exporter_plugin(why);
        if (!plugin) return fail(fmt::format("--metrics: {}", why), exit_failed);
    }
    auto r = responder::start(cfg, ec);
    if (!r) {
        return fail(fmt::format("cannot listen on {} port {}: {}",
                                opt.bind.empty() ? "every address" : opt.bind, opt.port, ec.message()),
                    exit_failed);
    }
    std::unique_ptr<iperf3_server> ip3;
    if (opt.iperf3_port) {
        ip3 = iperf3_server::start({.bind_address = opt.bind, .port = *opt.iperf3_port, .guards = cfg}, ec);
        if (!ip3)
            return fail(fmt::format("--iperf3: cannot listen on {} port {}: {}",
                                    opt.bind.empty() ? "every address" : opt.bind, *opt.iperf3_port, ec.message()),
                        exit_failed);
    }
    // Declared after the servers it reads, so it stops first.
    std::unique_ptr<exporter::metrics_server> metrics;
    if (plugin) {
        exporter::metrics_server_options mo;
        mo.host = metrics_at.host;
        mo.port = metrics_at.port;
        mo.render = [plugin, resp = r.get(), ip3s = ip3.get()] {
            if (!ip3s) return plugin->responder_exposition(resp->stats(), nullptr);
            const auto s = ip3s->stats();
            return plugin->responder_exposition(resp->stats(), &s);
        };
        try {
            metrics = plugin->serve_metrics(mo);
        } catch (const error& e) {
            return fail(fmt::format("--metrics: {}", e.what()), exit_failed);
        }
    }
    if (!ctx.global.quiet) {
        const auto& mh = metrics_at.host;
        fmt::print(stderr, "nettool responder listening on {} port {} (TCP and UDP){}{}; Ctrl-C to stop\n",
                   opt.bind.empty() ? "every address" : opt.bind, r->port(),
                   ip3 ? fmt::format(", iperf3 server on port {}", ip3->port()) : std::string{},
                   metrics ? fmt::format(", metrics on http://{}:{}/metrics",
                                         mh.find(':') != std::string::npos ? "[" + mh + "]" : mh, metrics->port())
                           : std::string{});
    }
    int sig = 0;
    sigwait(&set, &sig);
    metrics.reset();
    const auto s = r->stats();
    r->stop();
    if (ip3) ip3->stop();
    if (!ctx.global.quiet) {
        fmt::print(stderr,
                   "stopped by {}: {} sessions, {} rejected ({} busy), {} dropped idle, {} reset as too slow, "
                   "{} paused accepts, {} UDP datagrams ({} dropped, {} from another address)\n",
                   sig == SIGINT ? "SIGINT" : "SIGTERM", s.sessions, s.rejected, s.refused_busy, s.dropped_idle,
                   s.dropped_slow, s.accept_pauses, s.udp_datagrams, s.udp_dropped, s.udp_wrong_source);
        if (ip3) fmt::print(stderr, "{}\n", summary(ip3->stats()));
    }
    return exit_ok;
}

}  // namespace nettool::cli
