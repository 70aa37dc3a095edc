#include "cmd_listen.hpp"

#include "files.hpp"

#include <nettool/netclass/broadcast.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace nettool::cli {

void setup_listen(CLI::App& app, context& ctx) {
    auto opts = std::make_shared<listen_cli_options>();
    auto* sub = app.add_subcommand(
        "listen",
        "Print broadcast announcements as they arrive: UDP datagrams on a port, or raw Ethernet "
        "broadcast frames on an interface (source, size, text; Wake-on-LAN packets are decoded).");
    sub->add_option("-i,--interface", opts->interface, "Interface to listen on (required with --ether)");
    auto* udp = sub->add_option("--udp", opts->udp_port, "Receive UDP datagrams on this port (1-65535)")
                    ->check(port_option());
    auto* eth = sub->add_flag("--ether", opts->ether,
                              "Capture raw Ethernet broadcast frames (libpcap; needs CAP_NET_RAW)");
    udp->excludes(eth);
    sub->add_option("--ethertype", opts->ethertype,
                    "With --ether: only frames of this EtherType (e.g. 0x88b5)")
        ->check(ethertype_option());
    sub->add_option("-c,--count", opts->count, "Stop after this many messages (default: no limit)")
        ->check(count_option(1, 1'000'000'000'000, "messages", "no limit"));
    sub->add_option("-t,--timeout", opts->timeout_s, "Stop after this many seconds (default: no limit)")
        ->check(seconds_option(min_seconds, 31'536'000, "no limit"));
    sub->callback([opts, &ctx] { ctx.exit_status = run_listen(*opts, ctx); });
}

int run_listen(const listen_cli_options& opts, const context& ctx) {
    if (!opts.udp_port && !opts.ether) return fail("listen needs --udp PORT or --ether", exit_usage);
    if (opts.ether && opts.interface.empty()) return fail("--ether needs -i IFACE", exit_usage);
    listen_options lo;
    lo.interface = opts.interface;
    if (opts.udp_port) lo.udp_port = static_cast<std::uint16_t>(*opts.udp_port);
    lo.ether = opts.ether;
    if (!opts.ethertype.empty()) lo.ethertype = parse_ethertype(opts.ethertype);  // ethertype_option() checked it
    lo.count = opts.count;
    lo.timeout = seconds_to_ms_ceil(opts.timeout_s);  // 0.0004 s is 1 ms, not 0 (no limit)

    const bool stream = !ctx.global.json;
    std::error_code ec;
    const auto got = listen(
        lo,
        [&](const received_message& m) {
            if (!stream) return;
            fmt::print(
                "from {}{} size {} bytes: {}\n", m.source,
                m.ethertype ? fmt::format(" to {} ethertype 0x{:04x}", m.destination, *m.ethertype) : "",
                m.size,
                m.wake_on_lan ? fmt::format("Wake-on-LAN for {}{}", m.wake_on_lan->target.to_string(),
                                            m.wake_on_lan->password.empty() ? "" : " (with password)")
                              : m.text);
            flush_stdout();
        },
        ec);
    if (ec) {
        const std::string what = opts.ether ? fmt::format("capturing on '{}'", opts.interface)
                                            : fmt::format("listening on UDP port {}", *opts.udp_port);
        return fail(what, ec);
    }
    report r{"listen"};
    r.data()["mode"] = opts.ether ? "ether" : "udp";
    if (!opts.interface.empty()) r.data()["interface"] = opts.interface;
    if (opts.udp_port) r.data()["port"] = *opts.udp_port;
    r.data()["received"] = got;
    r.data()["count"] = got.size();
    if (ctx.global.json) {
        emit(ctx, r);
    } else {
        fmt::print("{} message(s) received.\n", got.size());
    }
    if (got.empty()) return fail("nothing received before the timeout", exit_failed);
    return exit_ok;
}

}  // namespace nettool::cli
