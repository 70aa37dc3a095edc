#include <nettool/probe/tcp_vs_udp.hpp>

#include <nettool/probe/protocol.hpp>

#include "probe/udp_loss.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nettool {

tcp_vs_udp_result run_tcp_vs_udp(const socket_address& target, const tcp_vs_udp_options& opt,
                                 const step_callback& on_step, const interval_callback& on_interval) {
    auto step = [&](std::string_view s) {
        if (on_step) on_step(s);
    };
    tcp_vs_udp_result r;
    step(fmt::format("TCP connect x{}", opt.connects));
    r.connect = tcp_connect_probe(target, {opt.connects, {}, opt.timeout});
    step(fmt::format("TCP request/response x{}, {} B", opt.count, opt.size));
    r.tcp_rr = tcp_rr_probe(target, {opt.size, opt.count, {}, {}, opt.timeout});
    step(fmt::format("UDP request/response x{}, {} B", opt.count, opt.size));
    udp_rr_options u;
    u.size = std::max<std::uint32_t>(opt.size, proto::udp_header_size);
    u.count = opt.count;
    r.udp_rr = udp_rr_probe(target, u);
    const double secs = std::chrono::duration<double>(opt.duration).count();
    step(fmt::format("TCP stream, {:.0f} s", secs));
    tcp_stream_options ts;
    ts.duration = opt.duration;
    ts.timeout = opt.timeout;
    ts.congestion_control = opt.congestion_control;
    r.tcp_stream = tcp_stream_probe(target, ts, on_interval);
    step(opt.udp_stream_rate > 0
             ? fmt::format("UDP stream, {:.0f} s, {} B datagrams at {:.0f}/s", secs, opt.stream_datagram,
                           opt.udp_stream_rate)
             : fmt::format("UDP stream, {:.0f} s, {} B datagrams, as fast as possible", secs, opt.stream_datagram));
    udp_stream_options us;
    us.size = opt.stream_datagram;
    us.rate = opt.udp_stream_rate;
    us.duration = opt.duration;
    us.timeout = opt.timeout;
    us.gso = opt.udp_gso;
    r.udp_stream = udp_stream_probe(target, us, on_interval);
    return r;
}

std::uint64_t tcp_retransmits(const tcp_vs_udp_result& r) noexcept {
    return r.connect.kernel.retransmits + r.tcp_rr.kernel.retransmits + r.tcp_stream.kernel.retransmits;
}

bool succeeded(const tcp_vs_udp_result& r) noexcept {
    return r.connect.established > 0 && r.tcp_rr.completed > 0 && r.udp_rr.received > 0 &&
           r.tcp_stream.bytes_received > 0 && r.udp_stream.received > 0;
}

namespace {

std::string us(double v) {
    return format_duration_us(v);
}
std::string ns_us(std::chrono::nanoseconds d) {
    return format_duration(d);
}

}  // namespace

report make_report(const tcp_vs_udp_result& r, bool in_process_responder) {
    report rep{"tcp-vs-udp"};
    const auto& c = r.connect;
    const auto target = c.target.to_string();

    table t{fmt::format("TCP vs UDP to {}", target), {"", "TCP", "UDP"}, {}};
    t.add_row({"setup: TCP handshake (p50)", format_percentile(c.connect_time, 50), "none"});
    t.add_row({"setup p99", format_percentile(c.connect_time, 99), "none"});
    t.add_row({"first reply: TCP handshake + 1 RTT, UDP 1 RTT", ns_us(r.tcp_rr.first_reply),
               ns_us(r.udp_rr.first_reply)});
    t.add_row({"RTT p50", format_percentile(r.tcp_rr.rtt, 50), format_percentile(r.udp_rr.rtt, 50)});
    t.add_row({"RTT p90", format_percentile(r.tcp_rr.rtt, 90), format_percentile(r.udp_rr.rtt, 90)});
    t.add_row({"RTT p99", format_percentile(r.tcp_rr.rtt, 99), format_percentile(r.udp_rr.rtt, 99)});
    t.add_row({"throughput (received)", format_bits_per_second(r.tcp_stream.bits_per_second),
               format_bits_per_second(r.udp_stream.bits_per_second)});
    t.add_row({"loss seen by the application", "0 (hidden by TCP)",
               fmt::format("{} rr, {} stream", format_percent(r.udp_rr.loss_fraction()),
                           format_percent(r.udp_stream.loss_fraction()))});
    t.add_row({"where the stream's datagrams were lost", "-", detail::udp_loss_split(r.udp_stream)});
    t.add_row({"duplicates seen by the application", "0",
               std::to_string(r.udp_rr.duplicates + r.udp_stream.duplicates)});
    t.add_row({"reordered seen by the application", "0",
               std::to_string(r.udp_rr.reordered + r.udp_stream.out_of_order)});
    t.add_row({"jitter (RFC 3550, stream)", "-", us(r.udp_stream.jitter_us)});
    const auto retrans = tcp_retransmits(r);
    t.add_row({"retransmissions by the kernel", std::to_string(retrans), "none (UDP never retransmits)"});
    if (!r.tcp_stream.kernel.congestion_control.empty())
        t.add_row({"congestion control (stream)", r.tcp_stream.kernel.congestion_control, "none"});
    rep.add_table(std::move(t));

    // Readings: what the numbers teach.
    if (c.connect_time.count() > 0 && r.udp_rr.rtt.count() > 0) {
        rep.add_reading(fmt::format(
            "TCP spent {} (p50) on its three-way handshake before any data could flow; its first reply took "
            "{} from connect() (handshake, then one round trip), while UDP's first reply took {} with no "
            "setup at all.",
            format_percentile(c.connect_time, 50), ns_us(r.tcp_rr.first_reply), ns_us(r.udp_rr.first_reply)));
    }
    if (c.warmed_up && r.tcp_rr.warmed_up && r.udp_rr.warmed_up)
        rep.add_reading(
            "Each part was timed after one untimed warm-up (a connect, a TCP and a UDP exchange), so the first "
            "run of the code (page faults, lazy symbol binding) is not counted as protocol cost.");
    if (retrans > 0) {
        rep.add_reading(fmt::format(
            "TCP retransmitted {} segment{}; the application saw no loss, but p99 RTT rose to {} (p50 {}).",
            retrans, retrans == 1 ? "" : "s", format_percentile(r.tcp_rr.rtt, 99),
            format_percentile(r.tcp_rr.rtt, 50)));
    } else {
        rep.add_reading(
            "TCP retransmitted nothing on this path: the application got every byte, in order, "
            "and any loss would have shown up here as delay instead.");
    }
    const auto& s = r.udp_stream;
    if (s.lost > 0 || s.out_of_order > 0 || s.duplicates > 0 || r.udp_rr.lost > 0) {
        const double reorder = s.sent ? static_cast<double>(s.out_of_order) / static_cast<double>(s.sent) : 0;
        rep.add_reading(fmt::format(
            "UDP lost {} and reordered {} of the stream's {} datagrams (request/response lost {}); nothing "
            "resent them: the application has to notice and cope.",
            format_percent(s.loss_fraction()), format_percent(reorder), s.sent,
            format_percent(r.udp_rr.loss_fraction())));
        if (s.lost > 0) rep.add_reading(detail::udp_loss_reading(s));
    } else {
        rep.add_reading(
            "UDP lost, duplicated and reordered nothing on this run; on a busier path it would hand "
            "every such event to the application.");
    }

    auto& j = rep.data();
    j["target"] = target;
    j["in_process_responder"] = in_process_responder;
    j["tcp"] = {{"connect", c}, {"rr", r.tcp_rr}, {"stream", r.tcp_stream}, {"retransmits", retrans}};
    j["udp"] = {{"rr", r.udp_rr}, {"stream", r.udp_stream}};
    return rep;
}

}  // namespace nettool
