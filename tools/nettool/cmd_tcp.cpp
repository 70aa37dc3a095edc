#include "cmd_tcp.hpp"

#include <nettool/core/clock.hpp>
#include <nettool/probe/protocol.hpp>
#include <nettool/packet/wire_view.hpp>
#include <nettool/probe/tcp_probe.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nettool::cli {

void setup_tcp(CLI::App& app, context& ctx) {
    auto opt = std::make_shared<tcp_options>();
    auto* sub = app.add_subcommand(
        "tcp", "TCP probes against a nettool responder: connect, rr (request/response), stream");
    sub->add_option("target", opt->target, "HOST[:PORT] of a running 'nettool serve' (default port 51423)")
        ->required();
    sub->add_option("-m,--mode", opt->mode, "connect: setup cost; rr: round trips; stream: throughput")
        ->capture_default_str()
        ->check(CLI::IsMember({"connect", "rr", "stream"}));
    sub->add_option("-c,--count", opt->count, "Connects or requests (default: connect 10, rr 1000)")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}));
    sub->add_option("-d,--duration", opt->duration_s,
                    "Seconds to run (stream default 3; rr stops at --count or this)")
        ->check(positive_seconds());
    sub->add_option("-s,--size", opt->size,
                    "Bytes per request (rr, default 64) or per write (stream, default 131072)")
        ->check(CLI::Range(1u, proto::max_tcp_message));
    sub->add_option("-i,--interval", opt->interval_s, "Seconds between connects or requests")
        ->check(CLI::Range(0.0, 3600.0));
    sub->add_option("-t,--timeout", opt->timeout_s, "Seconds to wait for a connect or a response")
        ->capture_default_str()
        ->check(positive_seconds());
    sub->add_option("-P,--parallel", opt->parallel, "Parallel streams (stream)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 128u));
    sub->add_flag("-R,--reverse", opt->reverse, "Download: the responder sends (stream)");
    sub->add_flag("--bidir", opt->bidir, "Upload and download at once (stream)")->excludes("--reverse");
    sub->add_option("--capture", opt->capture_file,
                    "Record the run to this pcap file (needs root or CAP_NET_RAW) and add the on-wire view");
    sub->callback([opt, &ctx] { ctx.exit_status = run_tcp(*opt, ctx); });
}

namespace {

std::string p(const histogram& h, double q) {
    return h.count() ? format_duration_us(static_cast<double>(h.percentile(q)) / 1000.0) : "-";
}

table latency_table(std::string title, const histogram& h) {
    table t{std::move(title), {"count", "min", "p50", "p90", "p99", "p99.9", "max", "mean", "stddev"}, {}};
    const auto s = latency_summary::from(h);
    t.add_row({std::to_string(h.count()), format_duration_us(s.min_us), p(h, 50), p(h, 90), p(h, 99),
               p(h, 99.9), format_duration_us(s.max_us), format_duration_us(s.mean_us),
               format_duration_us(s.stddev_us)});
    return t;
}

}  // namespace

int run_tcp(const tcp_options& opt, const context& ctx) {
    const auto target = resolve_target(opt.target, proto::default_port);
    probe_capture cap{opt.capture_file, target};
    const auto timeout = seconds_to_ns(opt.timeout_s);
    const auto interval = seconds_to_ns(opt.interval_s);
    report rep{"tcp"};
    rep.data()["mode"] = opt.mode;

    if (opt.mode == "connect") {
        const auto r = tcp_connect_probe(target, {opt.count ? opt.count : 10, interval, timeout});
        rep.data()["result"] = r;
        rep.add_table(latency_table(fmt::format("TCP connect to {}: {} of {} established", target.to_string(),
                                                r.established, r.attempts),
                                    r.connect_time));
        if (r.failures.total() > 0) {
            rep.add_table({"failures",
                           {"refused", "timed out", "unreachable", "other"},
                           {{std::to_string(r.failures.refused), std::to_string(r.failures.timed_out),
                             std::to_string(r.failures.unreachable), std::to_string(r.failures.other)}}});
        }
        rep.add_reading(
            fmt::format("Kernel (TCP_INFO): handshake RTT {:.0f} us on average, {} retransmitted SYNs.",
                        r.kernel.rtt_us, r.kernel.retransmits));
        cap.attach(rep, {r.kernel.retransmits, 0, 0});
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
        tcp_rr_options o;
        o.size = opt.size ? opt.size : 64;
        o.count = opt.count ? opt.count : (opt.duration_s > 0 ? 0 : 1000);
        o.duration = seconds_to_ns(opt.duration_s);
        o.interval = interval;
        o.timeout = timeout;
        const auto r = tcp_rr_probe(target, o);
        rep.data()["result"] = r;
        rep.add_table(latency_table(fmt::format("TCP request/response with {}, {} B: {} of {} answered",
                                                target.to_string(), o.size, r.completed, r.sent),
                                    r.rtt));
        rep.add_reading(fmt::format(
            "Connect took {}, the first reply came {} after connect started; the kernel "
            "retransmitted {} segments.",
            format_duration(r.connect_time), format_duration(r.first_reply), r.kernel.retransmits));
        cap.attach(rep, {r.kernel.retransmits, 0, 0});
        emit(ctx, rep);
        if (!r.error.empty()) return fail(r.error, exit_failed);
        return exit_ok;
    }

    tcp_stream_options o;
    o.duration = seconds_to_ns(opt.duration_s > 0 ? opt.duration_s : 3.0);
    o.write_size = opt.size ? opt.size : 128 * 1024;
    o.direction = opt.bidir ? stream_direction::bidir
                            : (opt.reverse ? stream_direction::download : stream_direction::upload);
    o.parallel = opt.parallel;
    o.timeout = timeout;
    interval_callback cb;
    if (want_progress(ctx)) cb = print_interval;
    const auto r = tcp_stream_probe(target, o, cb);
    rep.data()["result"] = r;
    rep.data()["bits_per_second"] = r.bits_per_second;
    table t{fmt::format("TCP stream with {} ({}, {} stream{})", target.to_string(), to_string(r.direction),
                        r.streams, r.streams == 1 ? "" : "s"),
            {"seconds", "sent", "received", "throughput", "retransmits", "cwnd"},
            {}};
    t.add_row({fmt::format("{:.2f}", r.seconds), format_bytes(static_cast<double>(r.bytes_sent)),
               format_bytes(static_cast<double>(r.bytes_received)), format_bits_per_second(r.bits_per_second),
               std::to_string(r.kernel.retransmits), std::to_string(r.kernel.cwnd_segments)});
    rep.add_table(std::move(t));
    cap.attach(rep, {r.kernel.retransmits, 0, 0});
    emit(ctx, rep);
    if (r.bytes_received == 0)
        return fail(r.error.empty() ? "nothing was transferred" : r.error, exit_failed);
    if (!r.error.empty()) return fail(r.error, exit_failed);
    return exit_ok;
}

}  // namespace nettool::cli
