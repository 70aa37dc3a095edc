#include "cmd_inspect.hpp"

#include <nettool/packet/inspect.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>

namespace nettool::cli {

void setup_inspect(CLI::App& app, context& ctx) {
    auto opts = std::make_shared<inspect_cli_options>();
    auto* cmd = app.add_subcommand(
        "inspect",
        "Summarise a pcap or pcapng capture: totals, protocol hierarchy, conversations, TCP analysis "
        "(handshake RTT, retransmissions, duplicate ACKs, out-of-order, lost segments, zero windows, resets) "
        "and DNS.");
    cmd->add_option("file", opts->file, "Capture file to read (pcap or pcapng)")->required();
    cmd->add_option("--max-flows", opts->max_flows,
                    "Most conversations tracked at once; the least recently seen is evicted beyond it")
        ->check(count_option(1, 100'000'000, "conversations"))
        ->capture_default_str();
    cmd->add_option("--rows", opts->rows, "Conversations shown in the text table (JSON lists all tracked)")
        ->check(count_option(1, 1'000'000, "rows"))
        ->capture_default_str();
    cmd->add_option("--dns-port", opts->dns_port,
                    "Also decode this UDP/TCP port as DNS (53 and 5353 always are)")
        ->check(port_option());
    cmd->callback([opts, &ctx] { ctx.exit_status = run_inspect(*opts, ctx); });
}

int run_inspect(const inspect_cli_options& o, const context& ctx) {
    inspect_options io;
    io.max_flows = o.max_flows;
    io.extra_dns_port = o.dns_port;
    bool progress = want_progress(ctx);
    bool printed = false;
    auto last = std::chrono::steady_clock::now();
    if (progress) {
        io.on_progress = [&](const inspect_progress& p) {
            // Only worth a line for files that take a while: refresh at most 4 times a second.
            auto now = std::chrono::steady_clock::now();
            if (now - last < std::chrono::milliseconds{250}) return;
            last = now;
            printed = true;
            if (p.file_size != 0)
                fmt::print(stderr, "\rinspecting: {} packets, {:.0f}% of {}   ", p.packets,
                           100.0 * static_cast<double>(p.file_offset) / static_cast<double>(p.file_size),
                           format_bytes(static_cast<double>(p.file_size)));
            else
                fmt::print(stderr, "\rinspecting: {} packets   ", p.packets);
            std::fflush(stderr);
        };
    }
    inspect_result r;
    try {
        r = inspect_file(o.file, io);
    } catch (const error& e) {
        if (printed) fmt::print(stderr, "\r\033[K");
        return fail(fmt::format("inspect: {}: {}", o.file, e.what()), input_file_status(e.code()));
    }
    if (printed) fmt::print(stderr, "\r\033[K");
    emit(ctx, make_report(r, o.rows));
    return exit_ok;
}

}  // namespace nettool::cli
