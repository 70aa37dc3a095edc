#include "cmd_netmask.hpp"

#include <nettool/net/address.hpp>
#include <nettool/netclass/netclass.hpp>

#include <fmt/format.h>

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
    emit(ctx, make_report(prefix_summary::of(p)));
    return exit_ok;
}

}  // namespace nettool::cli
