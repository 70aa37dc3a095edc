#include "cmd_wol.hpp"

#include <nettool/netclass/broadcast.hpp>

#include <fmt/format.h>

#include <memory>
#include <thread>

namespace nettool::cli {

void setup_wol(CLI::App& app, context& ctx) {
    auto opts = std::make_shared<wol_options>();
    auto* sub = app.add_subcommand(
        "wol",
        "Wake a machine: send a Wake-on-LAN magic packet (6 x 0xff, then its MAC 16 times) as a raw "
        "broadcast frame with EtherType 0x0842, or with --udp as a UDP broadcast to port 9.");
    sub->add_option("mac", opts->mac, "MAC address of the machine to wake (00:11:22:33:44:55)")->required();
    sub->add_option("-i,--interface", opts->interface, "Interface to send on (required)")->required();
    sub->add_flag("--udp", opts->udp,
                  "UDP broadcast to 255.255.255.255 instead of a raw frame (no root needed)");
    sub->add_option("--port", opts->port, "UDP port for --udp (default 9, discard; 7 is also common)")
        ->check(port_option());
    sub->add_flag("--directed", opts->directed, "--udp to the interface's directed broadcast address");
    sub->add_option(
        "--password", opts->password,
        "SecureOn password appended to the packet: six hex octets (aa:bb:cc:dd:ee:ff) or four dotted "
        "decimal octets");
    sub->add_option("-c,--count", opts->count, "Packets to send, one per second (default 1, at most 10)")
        ->check(count_option(1, 10, "packets"));
    sub->callback([opts, &ctx] { ctx.exit_status = run_wol(*opts, ctx); });
}

int run_wol(const wol_options& opts, const context& ctx) {
    const auto target = mac_address::parse(opts.mac);
    if (!target) return fail(fmt::format("'{}'", opts.mac), make_error_code(errc::bad_mac));
    std::vector<std::uint8_t> password;
    if (!opts.password.empty()) {
        auto p = parse_wol_password(opts.password);
        if (!p)
            return fail(
                fmt::format("--password '{}' is neither six hex octets nor four dotted decimal octets",
                            opts.password),
                exit_usage);
        password = *p;
    }

    std::error_code ec;
    const auto itf = find_broadcast_interface(opts.interface, ec);
    if (ec) return fail(fmt::format("interface '{}'", opts.interface), ec);
    const auto payload = build_wol_payload(*target, password);
    const mac_address all = *mac_address::parse("ff:ff:ff:ff:ff:ff");
    ip_address dst = ip_address::v4(0xFFFFFFFFU);
    if (opts.udp && opts.directed) {
        if (!itf.directed_broadcast)
            return fail(fmt::format("interface '{}' has no IPv4 broadcast address", opts.interface),
                        exit_usage);
        dst = *itf.directed_broadcast;
    }
    frame_sender sender;
    if (!opts.udp) {
        sender.open(opts.interface, ec);
        if (ec) return fail(fmt::format("raw frames on '{}'", opts.interface), ec);
    }
    for (int i = 0; i < opts.count; ++i) {
        if (opts.udp) {
            send_udp_broadcast(opts.interface, dst, static_cast<std::uint16_t>(opts.port), payload, ec);
        } else {
            sender.send(
                build_ethernet_frame(all, itf.mac.value_or(mac_address{}), ethertype_wake_on_lan, payload),
                ec);
        }
        if (ec) return fail(fmt::format("sending on '{}'", opts.interface), ec);
        if (i + 1 < opts.count) std::this_thread::sleep_for(std::chrono::seconds{1});
    }

    emit(ctx, make_report(wol_result{.target = *target,
                                     .interface = opts.interface,
                                     .udp = opts.udp,
                                     .destination = dst,
                                     .port = static_cast<std::uint16_t>(opts.port),
                                     .payload_bytes = payload.size(),
                                     .password = !password.empty(),
                                     .sent = opts.count}));
    return exit_ok;
}

}  // namespace nettool::cli
