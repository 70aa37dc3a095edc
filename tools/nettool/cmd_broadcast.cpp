#include "cmd_broadcast.hpp"

#include <nettool/netclass/broadcast.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

namespace nettool::cli {

void setup_broadcast(CLI::App& app, context& ctx) {
    auto opts = std::make_shared<broadcast_options>();
    auto* sub = app.add_subcommand(
        "broadcast",
        "Send broadcast announcements on ONE interface: UDP to 255.255.255.255 (or the directed broadcast "
        "with "
        "--directed), or raw Ethernet frames to ff:ff:ff:ff:ff:ff. Every host on that segment receives them; "
        "routers do not forward them. Watch them arrive with 'nettool listen'.");
    sub->add_option("-i,--interface", opts->interface,
                    "Interface to send on (required: nothing is sent by default)")
        ->required();
    auto* udp = sub->add_option("--udp", opts->udp_port, "UDP broadcast to this destination port (1-65535)")
                    ->check(port_option());
    auto* eth = sub->add_flag("--ether", opts->ether,
                              "Raw Ethernet broadcast frames via libpcap (needs CAP_NET_RAW)");
    udp->excludes(eth);
    sub->add_option("--ethertype", opts->ethertype,
                    "EtherType for --ether frames, hex or decimal (default 0x88b5, IEEE local experimental)")
        ->check(ethertype_option());
    sub->add_flag(
        "--directed", opts->directed,
        "UDP: send to the interface's directed broadcast (e.g. 192.0.2.255) instead of 255.255.255.255");
    sub->add_option("-m,--message", opts->message,
                    "Text to send (default: 'nettool broadcast N from IFACE')");
    sub->add_option("-c,--count", opts->count,
                    fmt::format("Messages to send (default 1, at most {})", broadcast_max_count))
        ->check(count_option(1, broadcast_max_count, "messages"));
    // --interval's floor is the ceiling's period: no value of it or of --max-rate goes past the cap.
    sub->add_option("--interval", opts->interval_s, "Seconds between messages (default 1.0)")
        ->check(seconds_option(1.0 / broadcast_rate_ceiling, 3600, "no wait (with --count 1)"));
    sub->add_option(
        "--max-rate", opts->max_rate,
        fmt::format("Rate cap in messages/s that --interval must respect (default 10, at most {})",
                    broadcast_rate_ceiling))
        ->check(rate_option(0.001, broadcast_rate_ceiling, "messages per second"));
    sub->callback([opts, &ctx] { ctx.exit_status = run_broadcast(*opts, ctx); });
}

int run_broadcast(const broadcast_options& opts, const context& ctx) {
    if (!opts.udp_port && !opts.ether) return fail("broadcast needs --udp PORT or --ether", exit_usage);
    // Each number was checked by its option's validator (cli.hpp); what is left is how they combine.
    if (opts.count > 1 && opts.interval_s * opts.max_rate < 1.0 - 1e-9)
        return fail(
            fmt::format("--interval {} s exceeds the rate cap of {}/s (raise --max-rate to go faster)",
                        opts.interval_s, opts.max_rate),
            exit_usage);
    const auto ethertype = parse_ethertype(opts.ethertype);  // ethertype_option() checked it
    if (!ethertype) return fail(fmt::format("--ethertype '{}'", opts.ethertype), exit_usage);

    std::error_code ec;
    const auto itf = find_broadcast_interface(opts.interface, ec);
    if (ec) return fail(fmt::format("interface '{}'", opts.interface), ec);

    std::optional<ip_address> dst;
    frame_sender sender;
    if (opts.udp_port) {
        dst = ip_address::v4(0xFFFFFFFFU);
        if (opts.directed) {
            if (!itf.directed_broadcast)
                return fail(fmt::format("interface '{}' has no IPv4 broadcast address for --directed",
                                        opts.interface),
                            exit_usage);
            dst = itf.directed_broadcast;
        }
    } else {
        sender.open(opts.interface, ec);
        if (ec) return fail(fmt::format("raw frames on '{}'", opts.interface), ec);
    }
    const mac_address src = itf.mac.value_or(mac_address{});
    const mac_address all = *mac_address::parse("ff:ff:ff:ff:ff:ff");

    std::size_t bytes = 0;
    int sent = 0;
    // Paced from one start on the steady clock, and never faster than the ceiling whatever the
    // options say: the cap holds even if a check above is ever loosened.
    const auto period = std::chrono::ceil<std::chrono::nanoseconds>(std::chrono::duration<double>(
        std::clamp(opts.interval_s, 1.0 / broadcast_rate_ceiling, 3600.0)));
    const auto start = std::chrono::steady_clock::now();
    for (int i = 1; i <= opts.count; ++i) {
        const std::string text = opts.message.empty()
                                     ? fmt::format("nettool broadcast {} from {}", i, opts.interface)
                                     : opts.message;
        const auto payload = std::as_bytes(std::span(text.data(), text.size()));
        if (opts.udp_port) {
            send_udp_broadcast(opts.interface, *dst, static_cast<std::uint16_t>(*opts.udp_port), payload, ec);
            bytes += payload.size();
        } else {
            const auto frame = build_ethernet_frame(all, src, *ethertype, payload);
            sender.send(frame, ec);
            bytes += frame.size();
        }
        if (ec) return fail(fmt::format("sending on '{}'", opts.interface), ec);
        ++sent;
        if (want_progress(ctx)) fmt::print(stderr, "sent {}/{}\n", sent, opts.count);
        if (i < opts.count) std::this_thread::sleep_until(start + i * period);
    }

    emit(ctx, make_report(broadcast_result{.interface = opts.interface,
                                           .udp = opts.udp_port.has_value(),
                                           .destination = dst.value_or(ip_address{}),
                                           .port = static_cast<std::uint16_t>(opts.udp_port.value_or(0)),
                                           .source_mac = src,
                                           .ethertype = *ethertype,
                                           .sent = sent,
                                           .bytes = bytes,
                                           .interval_s = opts.interval_s}));
    return exit_ok;
}

}  // namespace nettool::cli
