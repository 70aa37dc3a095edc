#include "cmd_capture.hpp"

#include "files.hpp"

#include <nettool/packet/capture.hpp>
#include <nettool/packet/packet.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <iterator>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

namespace nettool::cli {

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) {
    g_stop = 1;
}

}  // namespace

void setup_capture(CLI::App& app, context& ctx) {
    auto opts = std::make_shared<capture_cli_options>();
    auto* cmd = app.add_subcommand(
        "capture",
        "Capture packets live with libpcap: one line per packet like `tcpdump -n`, or a pcap file with -w. "
        "Ctrl-C or SIGTERM stops it and leaves the file complete. Needs root or CAP_NET_RAW.");
    cmd->add_option("-i,--interface", opts->interface,
                    "Interface to capture on (default: the default route's interface, else lo)");
    cmd->add_option("-f,--filter", opts->filter,
                    "BPF filter expression, tcpdump syntax (e.g. \"udp port 53\")");
    cmd->add_option("-w,--write", opts->write,
                    "Write packets to this pcap file instead of printing them ('-': stdout). A write that "
                    "fails (full disk) ends the capture with exit 1; the file keeps the packets written, "
                    "ending on a whole record")
        ->check(file_option());
    cmd->add_option("-c,--count", opts->count, "Stop after this many packets (0: no limit)")
        ->check(count_option(1, 1'000'000'000'000, "packets", "no limit"))
        ->capture_default_str();
    cmd->add_option("-d,--duration", opts->seconds, "Stop after this many seconds (0: until Ctrl-C)")
        ->check(seconds_option(min_seconds, 31'536'000, "until Ctrl-C"))
        ->capture_default_str();
    cmd->add_option("-s,--snaplen", opts->snaplen, "Bytes kept per packet")
        ->check(count_option(64, 262144, "bytes"))
        ->capture_default_str();
    cmd->add_flag("-p,--promiscuous", opts->promiscuous,
                  "Put the interface in promiscuous mode (off by default)");
    cmd->add_option("-B,--buffer-size", opts->buffer_kib, "Kernel capture buffer, KiB")
        ->check(count_option(64, 1 << 20, "KiB"))
        ->capture_default_str();
    cmd->callback([opts, &ctx] { ctx.exit_status = run_capture(*opts, ctx); });
}

int run_capture(const capture_cli_options& o, const context& ctx) {
    capture_options co;
    co.interface = o.interface;
    co.filter = o.filter;
    co.output_file = o.write;
    co.max_packets = o.count;
    co.duration = seconds_to_ms_ceil(o.seconds);  // 0.0004 s is 1 ms, not 0 (no limit)
    co.snaplen = o.snaplen;
    co.promiscuous = o.promiscuous;
    co.buffer_size = o.buffer_kib * 1024;

    std::unique_ptr<capture_session> cap;
    try {
        cap = capture_session::open(co);
    } catch (const error& e) {
        // The output file: the OS's reason (read-only, no such directory, disk full), exit 1.
        if (e.code().category() == std::system_category())
            return fail(fmt::format("{}: {}: 0 packets written", o.write, os_reason(e.code())), exit_failed);
        const std::string iface = co.interface.empty() ? default_capture_interface() : co.interface;
        std::string why = e.what();
        if (e.code() == make_error_code(errc::permission_denied))
            why = fmt::format("permission denied: {} (capturing needs root or CAP_NET_RAW)", e.what());
        return fail(fmt::format("capture: {}: {}", iface, why), is_usage_error(e.code()) ? exit_usage : exit_failed);
    }

    g_stop = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int {
    }, old_term{};
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    bool lines = o.write.empty() && !ctx.global.json;
    bool progress = !o.write.empty() && want_progress(ctx);
    if (!ctx.global.json && !ctx.global.quiet)
        fmt::print(stderr, "nettool: capturing on {}{}{}\n", cap->interface(),
                   o.filter.empty() ? "" : ", filter: ", o.filter);
    int lt = cap->link_type();
    // Packet lines are written on the capture thread, where nothing may throw: a failed write
    // to stdout ends the capture, and main() reports it.
    std::atomic<bool> stdout_failed{false};
    if (lines) {
        cap->start([lt, &stdout_failed](const captured_packet& p) {
            if (stdout_failed.load()) return;
            fmt::memory_buffer line;
            try {
                fmt::format_to(std::back_inserter(line), "{}\n", packet_line(p.time, decode(lt, p.data), p.wire_length));
            } catch (...) {
                return;
            }
            if (!write_stdout({line.data(), line.size()}) || !flush_stdout()) stdout_failed.store(true);
        });
    } else {
        cap->start();
    }
    auto last = std::chrono::steady_clock::now();
    while (cap->running() && g_stop == 0 && !stdout_failed.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
        if (progress && std::chrono::steady_clock::now() - last >= std::chrono::milliseconds{250}) {
            last = std::chrono::steady_clock::now();
            auto s = cap->stats();
            fmt::print(stderr, "\rcaptured {} packets ({}), dropped by kernel {}   ", s.captured,
                       format_bytes(static_cast<double>(s.bytes)), s.dropped_kernel);
            std::fflush(stderr);
        }
    }
    auto s = cap->stop();
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    if (progress) fmt::print(stderr, "\r\033[K");

    report r{"capture"};
    r.data()["interface"] = cap->interface();
    r.data()["filter"] = o.filter;
    r.data()["file"] = o.write.empty() ? nlohmann::json() : nlohmann::json(o.write);
    r.data()["link_type"] = lt;
    r.data()["captured"] = s.captured;
    if (!o.write.empty()) r.data()["written"] = s.written;
    r.data()["bytes"] = s.bytes;
    r.data()["received_by_filter"] = s.received;
    r.data()["dropped_by_kernel"] = s.dropped_kernel;
    r.data()["dropped_by_interface"] = s.dropped_interface;
    if (ctx.global.json) {
        emit(ctx, r);
    } else if (!ctx.global.quiet && !cap->output_error() && !stdout_failed.load()) {
        // Like tcpdump: the counts go to stderr so stdout stays the packet lines.
        fmt::print(stderr,
                   "{} packets captured\n{} packets received by filter\n{} packets dropped by kernel\n",
                   s.captured, s.received, s.dropped_kernel);
    }
    if (stdout_failed.load()) return exit_failed;  // main() says why
    if (const auto& ec = cap->output_error())
        return fail(fmt::format("{}: {}: {} of {} packets written", o.write, os_reason(ec), s.written, s.captured),
                    exit_failed);
    return exit_ok;
}

}  // namespace nettool::cli
