#include "cmd_tcp.hpp"

#include "probe_link.hpp"

#include <nettool/core/clock.hpp>
#include <nettool/iperf3/client.hpp>
#include <nettool/probe/protocol.hpp>
#include <nettool/packet/wire_view.hpp>
#include <nettool/probe/on_wire.hpp>
#include <nettool/probe/tcp_probe.hpp>

#include <fmt/format.h>

namespace nettool::cli {

void setup_tcp(CLI::App& app, context& ctx) {
    auto opt = std::make_shared<tcp_options>();
    auto* sub = app.add_subcommand(
        "tcp",
        "TCP probes against a nettool responder: connect, rr (request/response), stream; with --iperf3, "
        "a stream test against a stock iperf3 server");
    sub->add_option(
        "target", opt->target,
        "HOST[:PORT] of a running 'nettool serve' (default port 51423), or of an 'iperf3 -s' with "
        "--iperf3 (default port 5201); with --link, nothing or :PORT");
    sub->add_option("-m,--mode", opt->mode, "connect: setup cost; rr: round trips; stream: throughput")
        ->capture_default_str()
        ->check(CLI::IsMember({"connect", "rr", "stream"}));
    sub->add_option("-c,--count", opt->count, "Connects or requests (default: connect 10, rr 1000)")
        ->check(count_option(1, 100'000'000, "requests"));
    sub->add_option("-d,--duration", opt->duration_s,
                    "Seconds to run (stream default 3; rr stops at --count or this)")
        ->check(seconds_option(min_seconds, 86400));
    sub->add_option("-s,--size", opt->size,
                    "Bytes per request (rr, default 64) or per write (stream, default 131072)")
        ->check(count_option(1, proto::max_tcp_message, "bytes"));
    sub->add_option("-i,--interval", opt->interval_s, "Seconds between connects or requests")
        ->check(seconds_option(min_seconds, 3600, "no gap"));
    sub->add_option("-t,--timeout", opt->timeout_s, "Seconds to wait for a connect or a response")
        ->capture_default_str()
        ->check(seconds_option(min_seconds, 86400));
    sub->add_option("-P,--parallel", opt->parallel,
                    "Parallel streams (stream; a default 'nettool serve' takes 32 sessions at once from one "
                    "address, --bidir uses two per stream)")
        ->capture_default_str()
        ->check(count_option(1, 128, "streams"));
    sub->add_flag("-R,--reverse", opt->reverse, "Download: the responder sends (stream)");
    sub->add_flag("--bidir", opt->bidir, "Upload and download at once (stream)")->excludes("--reverse");
    sub->add_option("--capture", opt->capture_file,
                    "Record the run to this pcap file (needs root or CAP_NET_RAW) and add the on-wire view");
    sub->add_option("--congestion", opt->congestion,
                    "Congestion control of the sending sockets (stream, upload): cubic, reno, bbr... "
                    "(default: net.ipv4.tcp_congestion_control)");
    sub->add_option("--link", opt->link,
                    "Cross an emulated link built for the run (needs root), e.g. \"delay=20ms,loss=1%\"; "
                    "TARGET is then empty (a responder starts at this host's end) or :PORT");
    sub->add_flag(
        "--iperf3", opt->iperf3,
        "The target is a stock 'iperf3 -s' (3.x): speak its control protocol and show its results beside "
        "nettool's (--mode stream)");
    sub->callback([opt, &ctx] { ctx.exit_status = run_tcp(*opt, ctx); });
}

namespace {

stream_direction direction(const tcp_options& opt) {
    return opt.bidir ? stream_direction::bidir : (opt.reverse ? stream_direction::download : stream_direction::upload);
}

// `--iperf3 --mode stream`: nettool as an iperf3 client (docs/iperf3.md).
int run_tcp_iperf3(const tcp_options& opt, const context& ctx) {
    if (opt.mode != "stream")
        return fail("--iperf3 runs iperf3's stream test: add --mode stream", exit_usage);
    if (!opt.link.empty() || !opt.capture_file.empty() || !opt.congestion.empty())
        return fail("--iperf3 does not combine with --link, --capture or --congestion", exit_usage);
    if (opt.target.empty()) return fail("target is required (see --help)", exit_usage);
    const auto target = resolve_target(opt.target, iperf3_default_port);
    const iperf3_tcp_options o{
        .duration = seconds_to_ns(opt.duration_s > 0 ? opt.duration_s : 3.0),
        .write_size = opt.size ? opt.size : 128 * 1024,
        .direction = direction(opt),
        .parallel = opt.parallel,
        .timeout = seconds_to_ns(opt.timeout_s)};
    interval_callback cb;
    if (want_progress(ctx)) cb = print_interval;
    const auto r = iperf3_tcp_client(target, o, cb);
    // Refused, busy, an error or an unknown protocol before any byte moved: one line, no report.
    if (r.bytes_sent == 0 && r.bytes_received == 0 && !r.error.empty()) return fail(r.error, exit_failed);
    emit(ctx, make_report(r));
    if (!r.error.empty()) return fail(r.error, exit_failed);
    if (r.bytes_sent == 0 && r.bytes_received == 0) return fail("nothing was transferred", exit_failed);
    return exit_ok;
}

}  // namespace

int run_tcp(const tcp_options& opt, const context& ctx) {
    if (opt.iperf3) return run_tcp_iperf3(opt, ctx);
    if (!opt.link.empty() && !opt.capture_file.empty())
        return fail("--capture with --link: record the emulated path with 'nettool link --capture FILE'", exit_usage);
    if (opt.target.empty() && opt.link.empty()) return fail("target is required (see --help)", exit_usage);
    probe_link lk{opt.link};
    const auto target = lk.target(opt.target, proto::default_port);
    probe_capture cap{opt.capture_file, target};
    const auto timeout = seconds_to_ns(opt.timeout_s);
    const auto interval = seconds_to_ns(opt.interval_s);

    if (opt.mode == "connect") {
        const auto r = lk.run([&] {
            return tcp_connect_probe(target,
                                     {.count = opt.count ? opt.count : 10, .interval = interval, .timeout = timeout});
        });
        auto rep = make_report(r);
        cap.attach(rep, {r.kernel.retransmits, 0, 0});
        if (cap.recorded() && r.established > 0) add_on_wire(rep, on_wire(cap.file(), r));
        lk.attach(rep);
        emit(ctx, rep);
        if (r.established == 0) {
            return fail(
                fmt::format("no connection to {} was established ({} refused, {} timed out, {} unreachable)",
                            target.to_string(), r.failures.refused, r.failures.timed_out,
                            r.failures.unreachable),
                exit_failed);
        }
        return exit_ok;
    }

    if (opt.mode == "rr") {
        const tcp_rr_options o{.size = opt.size ? opt.size : 64,
                               .count = opt.count ? opt.count : (opt.duration_s > 0 ? 0 : 1000),
                               .duration = seconds_to_ns(opt.duration_s),
                               .interval = interval,
                               .timeout = timeout};
        const auto r = lk.run([&] { return tcp_rr_probe(target, o); });
        // A refused or busy session measured nothing: an error, not a report of zeros.
        if (r.completed == 0 && !r.error.empty()) return fail(r.error, exit_failed);
        auto rep = make_report(r, o);
        cap.attach(rep, {r.kernel.retransmits, 0, 0});
        if (cap.recorded() && r.completed > 0) add_on_wire(rep, on_wire(cap.file(), r, o.size));
        lk.attach(rep);
        emit(ctx, rep);
        if (!r.error.empty()) return fail(r.error, exit_failed);
        return exit_ok;
    }

    const tcp_stream_options o{
        .duration = seconds_to_ns(opt.duration_s > 0 ? opt.duration_s : 3.0),
        .write_size = opt.size ? opt.size : 128 * 1024,
        .direction = direction(opt),
        .parallel = opt.parallel,
        .timeout = timeout,
        .congestion_control = opt.congestion};
    interval_callback cb;
    if (want_progress(ctx)) cb = print_interval;
    const auto r = lk.run([&] { return tcp_stream_probe(target, o, cb); });
    if (r.bytes_received == 0 && r.bytes_sent == 0 && !r.error.empty()) return fail(r.error, exit_failed);
    auto rep = make_report(r);
    cap.attach(rep, {r.kernel.retransmits, 0, 0});
    lk.attach(rep);
    emit(ctx, rep);
    if (r.bytes_received == 0)
        return fail(r.error.empty() ? "nothing was transferred" : r.error, exit_failed);
    if (!r.error.empty()) return fail(r.error, exit_failed);
    return exit_ok;
}

}  // namespace nettool::cli
