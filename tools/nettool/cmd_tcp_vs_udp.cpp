#include "cmd_tcp_vs_udp.hpp"

#include <nettool/core/clock.hpp>
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
        ->check(CLI::Range(static_cast<std::uint32_t>(proto::udp_header_size), 65507u));
    sub->add_option("-c,--count", opt->count, "Request/response rounds per protocol")
        ->capture_default_str()
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10'000'000}));
    sub->add_option("-d,--duration", opt->duration_s, "Seconds for each stream test (TCP, then UDP)")
        ->capture_default_str()
        ->check(positive_seconds());
    sub->add_option(
        "--capture", opt->capture_file,
        "Record the run to this pcap file (libpcap, needs root or CAP_NET_RAW) and add the on-wire view: "
        "TCP retransmissions and duplicate ACKs, UDP datagrams seen");
    sub->callback([opt, &ctx] { ctx.exit_status = run_tcp_vs_udp(*opt, ctx); });
}

int run_tcp_vs_udp(const tcp_vs_udp_cli_options& opt, const context& ctx) {
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
                               .udp_gso = opt.capture_file.empty()};
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
               {r.connect.kernel.retransmits + r.tcp_rr.kernel.retransmits + r.tcp_stream.kernel.retransmits,
                r.udp_rr.warm_up_sent + r.udp_rr.sent + r.udp_stream.sent,
                r.udp_rr.received + r.udp_stream.received});
    if (cap.recorded()) {
        if (r.connect.established > 0) add_on_wire(rep, on_wire(cap.file(), r.connect));
        if (r.tcp_rr.completed > 0) add_on_wire(rep, on_wire(cap.file(), r.tcp_rr, o.size));
        if (r.udp_rr.received > 0) add_on_wire(rep, on_wire(cap.file(), r.udp_rr));
    }
    emit(ctx, rep);
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
