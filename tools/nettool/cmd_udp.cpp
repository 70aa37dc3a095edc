#include "cmd_udp.hpp"

#include "probe_link.hpp"

#include <nettool/core/clock.hpp>
#include <nettool/iperf3/udp_client.hpp>
#include <nettool/iperf3/udp_datagram.hpp>
#include <nettool/probe/protocol.hpp>
#include <nettool/packet/wire_view.hpp>
#include <nettool/probe/on_wire.hpp>
#include <nettool/probe/udp_probe.hpp>

#include <fmt/format.h>

#include <cmath>
#include <optional>

namespace nettool::cli {

namespace {

// iperf3's rate notation: a number and an optional K, M or G (powers of 1000, as iperf3 reads -b).
std::optional<double> parse_bitrate(const std::string& text) {
    if (text.empty()) return std::nullopt;
    double scale = 1;
    std::string number = text;
    switch (text.back()) {
        case 'k': case 'K': scale = 1e3; break;
        case 'm': case 'M': scale = 1e6; break;
        case 'g': case 'G': scale = 1e9; break;
        default: break;
    }
    if (scale != 1) number.pop_back();
    if (!check_number(number, {.unit = "bits per second", .min = 0, .max = iperf3_max_udp_rate}).empty())
        return std::nullopt;
    const double v = std::strtod(number.c_str(), nullptr) * scale;
    if (!std::isfinite(v) || v < 0 || v > iperf3_max_udp_rate) return std::nullopt;
    return v;
}

CLI::Validator bitrate_option() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            if (parse_bitrate(text)) return {};
            return fmt::format("'{}' is not a rate: give 0 (as fast as possible) or bits per second up to 100G, "
                               "with an optional K, M or G (10M)",
                               text);
        },
        "BITS/S 0 to 100G");
}

}  // namespace

void setup_udp(CLI::App& app, context& ctx) {
    auto opt = std::make_shared<udp_options>();
    auto* sub = app.add_subcommand(
        "udp",
        "UDP probes against a nettool responder: rr (request/response), stream; with --iperf3, a stream test "
        "against a stock iperf3 server");
    sub->add_option("target", opt->target,
                    "HOST[:PORT] of a running 'nettool serve' (default port 51423), or of an 'iperf3 -s' with "
                    "--iperf3 (default port 5201); with --link, nothing or :PORT");
    sub->add_option("-m,--mode", opt->mode,
                    "rr: round trips, loss, duplicates, reordering; stream: rate, loss, jitter")
        ->capture_default_str()
        ->check(CLI::IsMember({"rr", "stream"}));
    sub->add_option("-c,--count", opt->count, "Requests (rr, default 1000)")
        ->check(count_option(1, 100'000'000, "requests"));
    sub->add_option("-d,--duration", opt->duration_s, "Seconds to run (stream default 3)")
        ->check(seconds_option(min_seconds, 86400));
    // 12 is iperf3's smallest datagram (its header); nettool's own modes need 32, checked in run_udp.
    sub->add_option("-s,--size", opt->size,
                    "Datagram size in bytes, nettool's 32-byte header included (rr 64, stream 1400); with "
                    "--iperf3 from 12, iperf3's header (16 with --udp-counters-64bit; default: as iperf3 picks it)")
        ->check(count_option(iperf3::udp_header_size_32, proto::max_udp_datagram, "bytes"));
    sub->add_option("-r,--rate", opt->rate, "Stream datagrams per second; 0 sends as fast as possible")
        ->capture_default_str()
        ->check(rate_option(0.01, 1e8, "datagrams per second", "as fast as possible"));
    sub->add_option("-i,--interval", opt->interval_s, "Seconds between requests (rr)")
        ->check(seconds_option(min_seconds, 3600, "no gap"));
    sub->add_option("-t,--timeout", opt->timeout_s,
                    "Seconds to wait for each answer (rr); with --iperf3, for each control read (default 3)")
        ->capture_default_str()
        ->each([opt](const std::string&) { opt->timeout_given = true; })
        ->check(seconds_option(min_seconds, 86400));
    sub->add_flag("--no-gso", opt->no_gso, "Stream: send datagram by datagram, without UDP GSO batching");
    sub->add_option("--capture", opt->capture_file,
                    "Record the run to this pcap file (needs root or CAP_NET_RAW) and add the on-wire view");
    sub->add_option("--link", opt->link,
                    "Cross an emulated link built for the run (needs root), e.g. \"delay=20ms,loss=1%\"; "
                    "TARGET is then empty (a responder starts at this host's end) or :PORT");
    sub->add_flag(
        "--iperf3", opt->iperf3,
        "The target is a stock 'iperf3 -s' (3.x): speak its control protocol and UDP data path and show its "
        "results beside nettool's (--mode stream)");
    sub->add_option("-b,--bitrate", opt->bitrate,
                    "With --iperf3: bits per second per stream as iperf3 writes them (10M, 1.5G, 500K; 0: as fast "
                    "as possible; default 1M, iperf3's); --rate gives datagrams per second instead")
        ->check(bitrate_option())
        ->excludes("--rate");
    sub->add_flag("-R,--reverse", opt->reverse, "With --iperf3: download, the server sends (iperf3's -R)");
    sub->add_flag("--bidir", opt->bidir, "With --iperf3: upload and download at once")->excludes("--reverse");
    sub->add_option("-P,--parallel", opt->parallel, "With --iperf3: streams per direction")
        ->capture_default_str()
        ->check(count_option(1, 128, "streams"));
    sub->add_flag("--udp-counters-64bit", opt->counters_64bit,
                  "With --iperf3: 64-bit sequence numbers in the datagram header (iperf3's --udp-counters-64bit)");
    sub->callback([opt, &ctx] { ctx.exit_status = run_udp(*opt, ctx); });
}

namespace {

// `--iperf3 --mode stream`: nettool as an iperf3 UDP client (docs/iperf3.md).
int run_udp_iperf3(const udp_options& opt, const context& ctx) {
    if (opt.mode != "stream") return fail("--iperf3 runs iperf3's stream test: add --mode stream", exit_usage);
    if (!opt.link.empty() || !opt.capture_file.empty() || opt.no_gso || opt.count != 0 || opt.interval_s != 0)
        return fail("--iperf3 does not combine with --link, --capture, --no-gso, --count or --interval", exit_usage);
    if (opt.target.empty()) return fail("target is required (see --help)", exit_usage);
    const std::size_t header = iperf3::udp_header_size(opt.counters_64bit);
    if (opt.size != 0 && (opt.size < header || opt.size > iperf3_max_udp_size))
        return fail(fmt::format("--size {} does not fit iperf3's UDP datagram: give {} (its {}-bit header) to {}",
                                opt.size, header, opt.counters_64bit ? 64 : 32, iperf3_max_udp_size),
                    exit_usage);
    double rate = 1e6;  // iperf3's UDP default
    if (!opt.bitrate.empty()) rate = *parse_bitrate(opt.bitrate);  // checked by bitrate_option()
    if (opt.rate > 0) {
        // Datagrams per second, nettool's unit: the size must be known to say it in bits.
        if (opt.size == 0)
            return fail("--rate with --iperf3 is in datagrams per second and needs --size; or give --bitrate",
                        exit_usage);
        rate = opt.rate * opt.size * 8.0;
        if (rate > iperf3_max_udp_rate)
            return fail(fmt::format("--rate {} x --size {} is over {} bits per second", opt.rate, opt.size,
                                    iperf3_max_udp_rate),
                        exit_usage);
    }
    const auto target = resolve_target(opt.target, iperf3_default_port);
    const iperf3_udp_options o{
        .duration = seconds_to_ns(opt.duration_s > 0 ? opt.duration_s : 3.0),
        .size = opt.size,
        .rate = rate,
        .direction = opt.bidir ? stream_direction::bidir
                               : (opt.reverse ? stream_direction::download : stream_direction::upload),
        .parallel = opt.parallel,
        .counters_64bit = opt.counters_64bit,
        // The udp default timeout (0.5 s, per rr probe) is too short for a control conversation.
        .timeout = seconds_to_ns(opt.timeout_given ? opt.timeout_s : 3.0)};
    interval_callback cb;
    if (want_progress(ctx)) cb = print_interval;
    const auto r = iperf3_udp_client(target, o, cb);
    // Refused, busy, an error or an unknown protocol before any datagram moved: one line, no report.
    if (r.sent == 0 && r.received == 0 && !r.error.empty()) return fail(r.error, exit_failed);
    emit(ctx, make_report(r));
    if (!r.error.empty()) return fail(r.error, exit_failed);
    if (r.sent == 0 && r.received == 0) return fail("nothing was transferred", exit_failed);
    return exit_ok;
}

}  // namespace

int run_udp(const udp_options& opt, const context& ctx) {
    if (opt.iperf3) return run_udp_iperf3(opt, ctx);
    if (!opt.bitrate.empty() || opt.reverse || opt.bidir || opt.parallel != 1 || opt.counters_64bit)
        return fail("--bitrate, --reverse, --bidir, --parallel and --udp-counters-64bit need --iperf3", exit_usage);
    if (opt.size != 0 && opt.size < proto::udp_header_size)
        return fail(fmt::format("--size: '{}' is below the minimum of {} bytes (nettool's header): give {} to {} "
                                "(see --help)",
                                opt.size, proto::udp_header_size, proto::udp_header_size, proto::max_udp_datagram),
                    exit_usage);
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
