#include "cmd_tcp_vs_udp.hpp"

#include <nettool/core/clock.hpp>
#include <nettool/link/emulator.hpp>
#include <nettool/link/lab.hpp>
#include <nettool/probe/protocol.hpp>
#include <nettool/packet/wire_view.hpp>
#include <nettool/probe/on_wire.hpp>
#include <nettool/probe/responder.hpp>
#include <nettool/probe/tcp_vs_udp.hpp>

#include <fmt/format.h>

#include <unistd.h>

namespace nettool::cli {

void setup_tcp_vs_udp(CLI::App& app, context& ctx) {
    auto opt = std::make_shared<tcp_vs_udp_cli_options>();
    auto* sub = app.add_subcommand(
        "tcp-vs-udp",
        "Compare TCP and UDP on one path: setup cost, round trips, throughput, loss, retransmissions.\n"
        "With no HOST it starts a responder on loopback, so it runs anywhere as is.");
    sub->add_option("target", opt->target,
                    "HOST[:PORT] of a running 'nettool serve' (default: in-process on 127.0.0.1)");
    sub->add_option("-s,--size", opt->size, "Request/response message and datagram size, bytes")
        ->capture_default_str()
        ->check(count_option(proto::udp_header_size, 65507, "bytes"));
    sub->add_option("-c,--count", opt->count, "Request/response rounds per protocol")
        ->capture_default_str()
        ->check(count_option(1, 10'000'000, "rounds"));
    sub->add_option("-d,--duration", opt->duration_s, "Seconds for each stream test (TCP, then UDP)")
        ->capture_default_str()
        ->check(seconds_option(min_seconds, 86400));
    sub->add_option(
        "--capture", opt->capture_file,
        "Record the run to this pcap file (libpcap, needs root or CAP_NET_RAW) and add the on-wire view: "
        "TCP retransmissions and duplicate ACKs, UDP datagrams seen");
    sub->add_option("--congestion", opt->congestion,
                    "Congestion control of the TCP stream: cubic, reno, bbr... (default: the system's, "
                    "net.ipv4.tcp_congestion_control); loss slows cubic and reno, not bbr");
    sub->add_option("--link", opt->link,
                    "Run across an emulated link built for the run (needs root), e.g. "
                    "\"delay=20ms,loss=1%,rate=50mbit\"; keys as 'nettool link' options, up-/down- for one "
                    "direction");
    sub->add_option("--sweep", opt->sweep,
                    "With --link (or alone): one run per value of one key, e.g. loss=0,0.5,1,2,5% or delay=0,10,50ms; "
                    "TCP's throughput is set beside the Mathis model, UDP's loss beside the configured one");
    auto* count = sub->get_option("--count");
    sub->callback([opt, count, &ctx] {
        opt->count_given = count->count() > 0;
        ctx.exit_status = run_tcp_vs_udp(*opt, ctx);
    });
}

namespace {

// tcp-vs-udp across emulated links: one run, or one per value of --sweep.
int run_over_link(const tcp_vs_udp_cli_options& opt, const context& ctx) {
    if (!opt.target.empty())
        return fail("--link builds its own path to an in-process responder: give no HOST with it", exit_usage);
    if (!opt.capture_file.empty())
        return fail("--capture with --link: use 'nettool link --capture FILE' to record the emulated path",
                    exit_usage);
    link::sweep_spec sweep;
    std::vector<std::string> specs;
    if (opt.sweep.empty()) {
        specs.push_back(opt.link);
    } else {
        sweep = link::parse_sweep(opt.sweep);
        for (const auto& v : sweep.values) specs.push_back(link::with_key(opt.link, sweep.key, v));
    }
    // Every spec is checked before the first link is built: a typo in the fifth value is found at once.
    std::vector<link::link_config> configs;
    for (const auto& s : specs) configs.push_back(link::parse_link_spec(s));
    if (!link::have_link_privileges())
        return fail("--link needs root or CAP_NET_ADMIN and CAP_SYS_ADMIN (it builds TUN devices and a network "
                    "namespace): run it with sudo",
                    exit_failed);

    tcp_vs_udp_options base{.size = opt.size,
                            .count = opt.count,
                            .duration = seconds_to_ns(opt.duration_s),
                            .congestion_control = opt.congestion};
    const bool steps = !ctx.global.json && !ctx.global.quiet && ::isatty(STDERR_FILENO) == 1;
    step_callback on_step;
    if (steps) on_step = [](std::string_view s) { fmt::print(stderr, "-- {}\n", s); };
    interval_callback on_iv;
    if (want_progress(ctx) && specs.size() == 1) on_iv = print_interval;

    std::vector<link::lab_run> runs;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        auto o = link::lab_defaults(configs[i], base);
        if (opt.count_given) o.count = opt.count;
        if (steps) fmt::print(stderr, "nettool tcp-vs-udp across a link: {}\n", specs[i]);
        runs.push_back(link::run_tcp_vs_udp_over_link(specs[i], o, on_step, on_iv));
        if (steps) fmt::print(stderr, "\n");
    }
    if (opt.sweep.empty()) {
        emit(ctx, link::make_report(runs.front()));
    } else {
        emit(ctx, link::make_sweep_report(sweep, runs));
    }
    for (const auto& r : runs)
        if (!succeeded(r.result)) return fail(fmt::format("no answer across the link {}", r.spec), exit_failed);
    return exit_ok;
}

}  // namespace

int run_tcp_vs_udp(const tcp_vs_udp_cli_options& opt, const context& ctx) {
    if (!opt.link.empty() || !opt.sweep.empty()) return run_over_link(opt, ctx);
    std::unique_ptr<responder> local;
    socket_address target;
    if (opt.target.empty()) {
        responder_config cfg;
        cfg.bind_address = "127.0.0.1";
        cfg.port = 0;
        std::error_code ec;
        local = responder::start(cfg, ec);
        if (!local)
            return fail(fmt::format("cannot start the loopback responder: {}", ec.message()), exit_failed);
        target = local->local_endpoint();
    } else {
        target = resolve_target(opt.target, proto::default_port);
    }

    const tcp_vs_udp_options o{.size = opt.size,
                               .count = opt.count,
                               .duration = seconds_to_ns(opt.duration_s),
                               // A capture on the sending host would see each GSO batch as one
                               // packet: send datagram by datagram so the on-wire count means
                               // what it says.
                               .udp_gso = opt.capture_file.empty(),
                               .congestion_control = opt.congestion};
    const bool progress = want_progress(ctx);
    const bool steps = !ctx.global.json && !ctx.global.quiet && ::isatty(STDERR_FILENO) == 1;
    step_callback on_step;
    if (steps) on_step = [](std::string_view s) { fmt::print(stderr, "-- {}\n", s); };
    interval_callback on_iv;
    if (progress) on_iv = print_interval;
    if (steps) {
        fmt::print(stderr, "nettool tcp-vs-udp: {} {}\n", target.to_string(),
                   local ? "(responder started in-process on loopback)" : "");
    }
    probe_capture cap{opt.capture_file, target};
    const auto r = run_tcp_vs_udp(target, o, on_step, on_iv);
    if (steps) fmt::print(stderr, "\n");
    auto rep = make_report(r, local != nullptr);
    cap.attach(rep,
               {tcp_retransmits(r),
                r.udp_rr.warm_up_sent + r.udp_rr.sent + r.udp_stream.sent,
                r.udp_rr.received + r.udp_stream.received});
    if (cap.recorded()) {
        if (r.connect.established > 0) add_on_wire(rep, on_wire(cap.file(), r.connect));
        if (r.tcp_rr.completed > 0) add_on_wire(rep, on_wire(cap.file(), r.tcp_rr, o.size));
        if (r.udp_rr.received > 0) add_on_wire(rep, on_wire(cap.file(), r.udp_rr));
    }
    // Nothing measured at all (the responder refused every session, say): an error, not a
    // report of zeros.
    const bool measured_nothing = r.connect.established == 0 && r.tcp_rr.completed == 0 && r.udp_rr.sent == 0 &&
                                  r.tcp_stream.bytes_sent == 0 && r.udp_stream.sent == 0;
    if (!measured_nothing) emit(ctx, rep);
    if (local) local->stop();
    if (!succeeded(r)) {
        std::string why = r.tcp_rr.error;
        if (why.empty()) why = r.udp_rr.error;
        if (why.empty()) why = r.tcp_stream.error;
        if (why.empty()) why = r.udp_stream.error;
        if (why.empty()) why = fmt::format("no answer from {}", target.to_string());
        return fail(why, exit_failed);
    }
    return exit_ok;
}

}  // namespace nettool::cli
