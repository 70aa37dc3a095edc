#include "cmd_udp.hpp"

#include "probe_link.hpp"

#include <nettool/core/clock.hpp>
#include <nettool/probe/protocol.hpp>
#include <nettool/packet/wire_view.hpp>
#include <nettool/probe/on_wire.hpp>
#include <nettool/probe/udp_probe.hpp>

#include <fmt/format.h>

namespace nettool::cli {

void setup_udp(CLI::App& app, context& ctx) {
    auto opt = std::make_shared<udp_options>();
    auto* sub =
        app.add_subcommand("udp", "UDP probes against a nettool responder: rr (request/response), stream");
    sub->add_option("target", opt->target,
                    "HOST[:PORT] of a running 'nettool serve' (default port 51423); with --link, nothing or :PORT");
    sub->add_option("-m,--mode", opt->mode,
                    "rr: round trips, loss, duplicates, reordering; stream: rate, loss, jitter")
        ->capture_default_str()
        ->check(CLI::IsMember({"rr", "stream"}));
    sub->add_option("-c,--count", opt->count, "Requests (rr, default 1000)")
        ->check(count_option(1, 100'000'000, "requests"));
    sub->add_option("-d,--duration", opt->duration_s, "Seconds to run (stream default 3)")
        ->check(seconds_option(min_seconds, 86400));
    sub->add_option("-s,--size", opt->size,
                    "Datagram size in bytes, nettool's 32-byte header included (rr 64, stream 1400)")
        ->check(count_option(proto::udp_header_size, proto::max_udp_datagram, "bytes"));
    sub->add_option("-r,--rate", opt->rate, "Stream datagrams per second; 0 sends as fast as possible")
        ->capture_default_str()
        ->check(rate_option(0.01, 1e8, "datagrams per second", "as fast as possible"));
    sub->add_option("-i,--interval", opt->interval_s, "Seconds between requests (rr)")
        ->check(seconds_option(min_seconds, 3600, "no gap"));
    sub->add_option("-t,--timeout", opt->timeout_s, "Seconds to wait for each answer (rr)")
        ->capture_default_str()
        ->check(seconds_option(min_seconds, 86400));
    sub->add_flag("--no-gso", opt->no_gso, "Stream: send datagram by datagram, without UDP GSO batching");
    sub->add_option("--capture", opt->capture_file,
                    "Record the run to this pcap file (needs root or CAP_NET_RAW) and add the on-wire view");
    sub->add_option("--link", opt->link,
                    "Cross an emulated link built for the run (needs root), e.g. \"delay=20ms,loss=1%\"; "
                    "TARGET is then empty (a responder starts at this host's end) or :PORT");
    sub->callback([opt, &ctx] { ctx.exit_status = run_udp(*opt, ctx); });
}

int run_udp(const udp_options& opt, const context& ctx) {
    if (!opt.link.empty() && !opt.capture_file.empty())
        return fail("--capture with --link: record the emulated path with 'nettool link --capture FILE'", exit_usage);
    if (opt.target.empty() && opt.link.empty()) return fail("target is required (see --help)", exit_usage);
    probe_link lk{opt.link};
    const auto target = lk.target(opt.target, proto::default_port);
    probe_capture cap{opt.capture_file, target};

    if (opt.mode == "rr") {
        const udp_rr_options o{.size = opt.size ? opt.size : 64,
                               .count = opt.count ? opt.count : (opt.duration_s > 0 ? 0 : 1000),
                               .duration = seconds_to_ns(opt.duration_s),
                               .interval = seconds_to_ns(opt.interval_s),
                               .timeout = seconds_to_ns(opt.timeout_s)};
        const auto r = lk.run([&] { return udp_rr_probe(target, o); });
        // A refused or busy session measured nothing: an error, not a report of zeros.
        if (r.sent == 0 && !r.error.empty()) return fail(r.error, exit_failed);
        auto rep = make_report(r, o);
        cap.attach(rep, {0, r.warm_up_sent + r.sent, r.received});
        if (cap.recorded() && r.received > 0) add_on_wire(rep, on_wire(cap.file(), r));
        lk.attach(rep);
        emit(ctx, rep);
        if (!r.error.empty()) return fail(r.error, exit_failed);
        if (r.received == 0)
            return fail(fmt::format("no answer from {} to {} datagrams", target.to_string(), r.sent),
                        exit_failed);
        return exit_ok;
    }

    const udp_stream_options o{.size = opt.size ? opt.size : 1400,
                               .rate = opt.rate,
                               .duration = seconds_to_ns(opt.duration_s > 0 ? opt.duration_s : 3.0),
                               // See tcp-vs-udp: one packet per datagram when capturing.
                               .gso = opt.capture_file.empty() && !opt.no_gso};
    interval_callback cb;
    if (want_progress(ctx)) cb = print_interval;
    const auto r = lk.run([&] { return udp_stream_probe(target, o, cb); });
    if (r.sent == 0 && !r.error.empty()) return fail(r.error, exit_failed);
    auto rep = make_report(r, o);
    cap.attach(rep, {0, r.sent, r.received});
    lk.attach(rep);
    emit(ctx, rep);
    if (!r.error.empty()) return fail(r.error, exit_failed);
    if (r.received == 0)
        return fail(fmt::format("the responder at {} received nothing", target.to_string()), exit_failed);
    return exit_ok;
}

}  // namespace nettool::cli
