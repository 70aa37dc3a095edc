#include "cmd_exporter.hpp"

#include "exporter_plugin.hpp"

#include <nettool/core/error.hpp>
#include <nettool/net/endpoint.hpp>

#include <fmt/format.h>

#include <csignal>

namespace nettool::cli {

void setup_exporter(CLI::App& app, context& ctx) {
    auto opt = std::make_shared<exporter_cli_options>();
    auto* sub = app.add_subcommand(
        "exporter",
        "Probe targets on intervals and serve the results to Prometheus (/metrics), and one-off probes "
        "blackbox_exporter's way (/probe?target=...&module=...)");
    sub->add_option("--listen", opt->listen, "ADDR:PORT to serve HTTP on")->capture_default_str();
    sub->add_option("--config", opt->config,
                    "YAML file of modules and targets (docs/exporter.md); without it, /probe with the built-in "
                    "modules tcp_connect, tcp_rr, udp_rr and dns only")
        ->check(CLI::ExistingFile);
    sub->add_option("--workers", opt->workers, "Threads that run probe rounds")
        ->capture_default_str()
        ->check(count_option(1, exporter::http_caps::max_workers, "threads"));
    sub->add_flag("--check-config", opt->check, "Read and check --config, print a summary, and exit");
    sub->callback([opt, &ctx] { ctx.exit_status = run_exporter(*opt, ctx); });
}

int run_exporter(const exporter_cli_options& opt, const context& ctx) {
    std::error_code ec;
    const auto hp = parse_host_port(opt.listen, 9429, ec);
    if (ec) return fail(fmt::format("--listen '{}' is not ADDR:PORT", opt.listen), exit_usage);
    if (opt.check && opt.config.empty()) return fail("--check-config needs --config FILE", exit_usage);

    // Block SIGINT/SIGTERM/SIGHUP before any thread starts; this thread takes them with sigwait.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    std::string why;
    const auto* plugin = load_exporter_plugin(why);
    if (!plugin) return fail(why, exit_failed);
    if (opt.check) {
        try {
            fmt::print("{}: ok: {}\n", opt.config, plugin->check_config(opt.config));
            return exit_ok;
        } catch (const error& e) {
            return fail(e.what(), exit_usage);
        }
    }

    exporter::exporter_options o;
    o.host = hp.host;
    o.port = hp.port;
    o.config_path = opt.config;
    o.workers = opt.workers;
    if (!ctx.global.quiet) {
        o.log = log_line;
    }
    std::unique_ptr<exporter::exporter_service> svc;
    try {
        svc = plugin->start(o);
    } catch (const error& e) {
        return fail(e.what(), e.code().category() == std::system_category() ? exit_failed : exit_usage);
    }
    if (!ctx.global.quiet)
        fmt::print(stderr, "nettool exporter on http://{}:{}/metrics; SIGHUP reloads {}; Ctrl-C to stop\n",
                   hp.host.find(':') != std::string::npos ? "[" + hp.host + "]" : hp.host, svc->port(),
                   opt.config.empty() ? "nothing (no --config)" : opt.config);
    for (;;) {
        int sig = 0;
        sigwait(&set, &sig);
        if (sig == SIGHUP) {
            (void)svc->reload();  // logs either way; a refused file keeps the old config
            continue;
        }
        break;
    }
    svc->stop();
    return exit_ok;
}

}  // namespace nettool::cli
