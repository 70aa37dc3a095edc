#include "cmd_netmask.hpp"

#include <nettool/net/address.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>

namespace nettool::cli {

void setup_netmask(CLI::App& app, context& ctx) {
    auto opts = std::make_shared<netmask_options>();
    auto* sub = app.add_subcommand(
        "netmask",
        "Show what a prefix means: network, netmask, wildcard, broadcast, host range and count, "
        "with address and mask in binary (like ipcalc). Works for IPv4 and IPv6.");
    sub->add_option("prefix", opts->prefix,
                    "ADDR/LEN (192.0.2.77/24, 2001:db8::1/64) or ADDR/NETMASK (192.0.2.77/255.255.255.0)")
        ->required();
    sub->add_option("mask", opts->mask, "Optional netmask or prefix length when PREFIX is a bare address");
    sub->callback([opts, &ctx] { ctx.exit_status = run_netmask(*opts, ctx); });
}

int run_netmask(const netmask_options& opts, const context& ctx) {
    std::string text = opts.prefix;
    if (!opts.mask.empty()) {
        if (text.find('/') != std::string::npos)
            return fail(fmt::format("'{}' already has a prefix; drop the extra '{}'", text, opts.mask),
                        exit_usage);
        text += "/" + opts.mask;
    }
    const auto p = ip_prefix::parse(text);  // a bad prefix throws a usage error: exit 2
    const auto s = prefix_summary::of(p);

    report r{"netmask"};
    nlohmann::json j = s;
    for (auto& [k, v] : j.items()) r.data()[k] = v;

    table t{fmt::format("{} ({})", p.to_string(), p.address.is_v4() ? "IPv4" : "IPv6"),
            {"", "value", "binary"},
            {}};
    t.add_row({"address", p.address.to_string(), p.address.to_binary()});
    t.add_row({"netmask", fmt::format("{} = /{}", s.netmask.to_string(), p.length), s.netmask.to_binary()});
    t.add_row({"wildcard", s.wildcard.to_string(), s.wildcard.to_binary()});
    t.add_row({"network", fmt::format("{}/{}", s.network.to_string(), p.length), s.network.to_binary()});
    if (s.broadcast)
        t.add_row({"broadcast", s.broadcast->to_string(), s.broadcast->to_binary()});
    else
        t.add_row({"broadcast", p.address.is_v4() ? "none (RFC 3021)" : "none (IPv6)", ""});
    t.add_row({"first host", s.first_host.to_string(), ""});
    t.add_row({"last host", s.last_host.to_string(), ""});
    t.add_row({"hosts", s.hosts, ""});
    r.add_table(std::move(t));
    r.add_reading(
        fmt::format("An address is on this network when its first {} bits equal those of {}; "
                    "the other {} bits number the host.",
                    p.length, s.network.to_string(), p.address.bit_width() - p.length));
    if (p.address.is_v4() && p.length == 31)
        r.add_reading(
            "A /31 is a point-to-point link (RFC 3021): both addresses are hosts, there is no broadcast.");
    emit(ctx, r);
    return exit_ok;
}

}  // namespace nettool::cli
