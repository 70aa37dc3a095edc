#include "cmd_tls.hpp"

#include "files.hpp"

#include <nettool/packet/wire_view.hpp>
#include <nettool/tls/tls_probe.hpp>

#include <fmt/format.h>

namespace nettool::cli {

void setup_tls(CLI::App& app, context& ctx) {
    auto opt = std::make_shared<tls_cli_options>();
    auto* sub = app.add_subcommand(
        "tls",
        "What a TLS handshake costs and what the server proved: the timeline (name lookup, TCP connect, "
        "TLS handshake, with --http first byte and total), the handshake in round trips, what was "
        "negotiated, the certificate chain and why it does or does not verify. Exit 1 when the "
        "handshake or the verification fails.");
    sub->add_option("target", opt->target, "HOST[:PORT] of a TLS server (default port 443)")->required();
    sub->add_option("--sni", opt->sni,
                    "Server name to send and to check the certificate against (default: HOST when it is a name)");
    sub->add_option("--ca", opt->ca_file, "Trust the CA certificates in this PEM file instead of the system's")
        ->check(file_option());
    sub->add_flag("-k,--insecure", opt->insecure, "Report a certificate that does not verify, without failing");
    auto* v12 = sub->add_flag("--tls1.2", opt->tls12, "Only TLS 1.2");
    sub->add_flag("--tls1.3", opt->tls13, "Only TLS 1.3")->excludes(v12);
    sub->add_option("--alpn", opt->alpn, "Protocols to offer, comma-separated (h2,http/1.1)");
    sub->add_option("-c,--count", opt->count, "Handshakes to time, one after another (default 1; 20 with --compare)")
        ->check(count_option(1, 100'000, "handshakes"));
    sub->add_flag("--resume", opt->resume,
                  "Resume the previous handshake's session (TLS 1.3 tickets, TLS 1.2 tickets or session IDs)");
    sub->add_flag("--compare", opt->compare,
                  "Also run full TLS 1.2, full TLS 1.3 and both resumed, --count handshakes each, side by side");
    sub->add_option("--http", opt->http_path,
                    "GET this path (\"/\") over the connection: adds first byte and total to the timeline");
    sub->add_option("-t,--timeout", opt->timeout_s, "Seconds to wait for each phase (connect, handshake, response)")
        ->capture_default_str()
        ->check(seconds_option(min_seconds, 3600));
    sub->add_option("--capture", opt->capture_file,
                    "Record the run to this pcap file (needs root or CAP_NET_RAW) and count the handshake's "
                    "flights on the wire")
        ->check(file_option());
    sub->callback([opt, &ctx] { ctx.exit_status = run_tls(*opt, ctx); });
}

namespace {

std::vector<std::string> split_alpn(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size() && !text.empty()) {
        const auto comma = text.find(',', start);
        out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

// One line a second on a terminal during a long run, as iperf3 prints its intervals.
void progress_line(std::uint64_t completed, std::chrono::nanoseconds elapsed) {
    const double s = std::chrono::duration<double>(elapsed).count();
    fmt::print("[{:6.1f} s]  {} handshakes, {:.1f} per second\n", s, completed, s > 0 ? static_cast<double>(completed) / s : 0.0);
    flush_stdout();
}

}  // namespace

int run_tls(const tls_cli_options& opt, const context& ctx) {
    if (!opt.http_path.empty() && opt.http_path.front() != '/')
        return fail(fmt::format("--http: '{}' is not a path: give one that starts with /", opt.http_path), exit_usage);
    if (opt.http_path.find_first_of(" \r\n") != std::string::npos)
        return fail("--http: a path may not hold spaces or line breaks (percent-encode them)", exit_usage);
    const auto hp = parse_host_port(opt.target, 443);
    const tls_options o{.sni = opt.sni,
                        .ca_file = opt.ca_file,
                        .insecure = opt.insecure,
                        .version = opt.tls12 ? tls_version::tls1_2 : opt.tls13 ? tls_version::tls1_3 : tls_version::any,
                        .alpn = split_alpn(opt.alpn),
                        .http_path = opt.http_path,
                        .count = opt.count ? opt.count : (opt.compare ? 20 : 1),
                        .resume = opt.resume,
                        .timeout = seconds_to_ns(opt.timeout_s),
                        .warm_up = true,
                        .progress = want_progress(ctx) ? progress_line : nullptr};
    std::unique_ptr<probe_capture> cap;
    if (!opt.capture_file.empty()) cap = std::make_unique<probe_capture>(opt.capture_file, resolve_target(opt.target, 443));

    tls_result r;
    report rep{"tls"};
    if (opt.compare) {
        const auto c = tls_compare(hp, o);
        r = c.baseline;
        rep = make_report(c, o);
    } else {
        r = tls_probe(hp, o);
        rep = make_report(r, o);
    }
    if (cap) {
        cap->attach(rep, {});
        if (cap->recorded() && r.completed > 0) add_tls_on_wire(rep, tls_on_wire(cap->file(), r));
    }
    emit(ctx, rep);
    if (r.outcome != tls_outcome::ok) return fail(fmt::format("tls {}: {}", opt.target, r.error), exit_failed);
    return exit_ok;
}

}  // namespace nettool::cli
