// The reports of `nettool tcp` and `nettool udp`: one per result type, tables, readings and the
// JSON body (docs/JSON.md, `tcp` and `udp`). tcp_vs_udp.cpp builds the side-by-side report.
#include <nettool/probe/tcp_probe.hpp>
#include <nettool/probe/udp_probe.hpp>

#include "probe/udp_loss.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nettool {

namespace {

constexpr std::string_view warm_up_note =
    "Timed after one untimed warm-up session, so the first run of either side's code (page faults, lazy "
    "symbol binding) is not counted as protocol cost.";

report probe_report(std::string_view command, std::string_view mode) {
    report rep{std::string{command}};
    rep.data()["mode"] = mode;
    return rep;
}

double share(std::uint64_t part, std::uint64_t whole) {
    return whole ? static_cast<double>(part) / static_cast<double>(whole) : 0;
}

}  // namespace

namespace detail {

std::string udp_loss_split(const udp_stream_result& r) {
    if (r.lost == 0) return "-";
    if (!r.receiver_dropped || !r.path_lost) return "not counted by the responder";
    return fmt::format("{} on the path, {} at the receiver", *r.path_lost, *r.receiver_dropped);
}

std::string udp_loss_reading(const udp_stream_result& r) {
    if (r.lost == 0) return {};
    const auto overflow = [&] {
        return fmt::format("whose socket buffer overflowed: the sender pushed {} and the receiver took {}, "
                           "and without flow control UDP drops the excess there",
                           format_rate(r.send_packets_per_second, "pkt"), format_rate(r.packets_per_second, "pkt"));
    };
    if (!r.receiver_dropped || !r.path_lost)
        return fmt::format("UDP lost {} of {} datagrams ({}); the responder does not count its socket's drops "
                           "(an older nettool), so where they were lost is unknown.",
                           r.lost, r.sent, format_percent(r.loss_fraction()));
    const auto path = *r.path_lost, rx = *r.receiver_dropped;
    if (rx == 0)
        return fmt::format("All {} lost datagrams ({} of those sent) were lost on the path between the two "
                           "sockets (links, queues, filters); the receiver's socket buffer dropped none.",
                           r.lost, format_percent(r.loss_fraction()));
    if (path == 0)
        return fmt::format("All {} lost datagrams ({} of those sent) were dropped at the receiver, {}.", r.lost,
                           format_percent(r.loss_fraction()), overflow());
    return fmt::format("Of the {} lost datagrams ({} of those sent), {} ({}) were lost on the path between the "
                       "two sockets and {} ({}) were dropped at the receiver, {}.",
                       r.lost, format_percent(r.loss_fraction()), path, format_percent(share(path, r.sent)), rx,
                       format_percent(share(rx, r.sent)), overflow());
}

}  // namespace detail

report make_report(const tcp_connect_result& r) {
    auto rep = probe_report("tcp", "connect");
    rep.data()["result"] = r;
    rep.add_table(latency_table(fmt::format("TCP connect to {}: {} of {} established", r.target.to_string(),
                                            r.established, r.attempts),
                                r.connect_time));
    if (r.failures.total() > 0) {
        rep.add_table({"failures",
                       {"refused", "timed out", "unreachable", "other"},
                       {{std::to_string(r.failures.refused), std::to_string(r.failures.timed_out),
                         std::to_string(r.failures.unreachable), std::to_string(r.failures.other)}}});
    }
    rep.add_reading(
        fmt::format("Kernel (TCP_INFO): handshake RTT {:.0f} us on average, {} retransmitted SYNs.",
                    r.kernel.rtt_us, r.kernel.retransmits));
    if (r.warmed_up)
        rep.add_reading("Timed after one untimed connect, so the first run of the code is not counted "
                        "as handshake cost; socket creation is not counted either.");
    return rep;
}

report make_report(const tcp_rr_result& r, const tcp_rr_options& opt) {
    auto rep = probe_report("tcp", "rr");
    rep.data()["result"] = r;
    rep.add_table(latency_table(fmt::format("TCP request/response with {}, {} B: {} of {} answered",
                                            r.target.to_string(), opt.size, r.completed, r.sent),
                                r.rtt));
    rep.add_reading(fmt::format(
        "The handshake took {}; the first reply came {} after connect() was called: the handshake plus one "
        "round trip, since the first request went out with the session hello. The kernel retransmitted {} "
        "segments.",
        format_duration(r.connect_time), format_duration(r.first_reply), r.kernel.retransmits));
    if (r.warmed_up) rep.add_reading(std::string{warm_up_note});
    return rep;
}

report make_report(const tcp_stream_result& r) {
    auto rep = probe_report("tcp", "stream");
    rep.data()["result"] = r;
    rep.data()["bits_per_second"] = r.bits_per_second;
    table t{fmt::format("TCP stream with {} ({}, {} stream{})", r.target.to_string(), to_string(r.direction),
                        r.streams, r.streams == 1 ? "" : "s"),
            {"seconds", "sent", "received", "throughput", "retransmits", "cwnd", "congestion control"},
            {}};
    t.add_row({fmt::format("{:.2f}", r.seconds), format_bytes(static_cast<double>(r.bytes_sent)),
               format_bytes(static_cast<double>(r.bytes_received)), format_bits_per_second(r.bits_per_second),
               std::to_string(r.kernel.retransmits), std::to_string(r.kernel.cwnd_segments),
               r.kernel.congestion_control.empty() ? "-" : r.kernel.congestion_control});
    rep.add_table(std::move(t));
    if (!r.intervals.empty()) {
        // Retransmissions are this host's sending sockets' (TCP_INFO at each boundary); on a
        // download only the responder sends, and it does not report them: "-".
        table iv{"Per interval", {"interval", "bytes", "throughput", "retransmits"}, {}};
        for (const auto& i : r.intervals)
            iv.add_row({fmt::format("{:.1f}-{:.1f} s", i.start_s, i.end_s),
                        format_bytes(static_cast<double>(i.bytes)), format_bits_per_second(i.bits_per_second),
                        i.retransmits ? std::to_string(*i.retransmits) : std::string{"-"}});
        rep.add_table(std::move(iv));
    }
    return rep;
}

report make_report(const udp_rr_result& r, const udp_rr_options& opt) {
    auto rep = probe_report("udp", "rr");
    rep.data()["result"] = r;
    const auto s = latency_summary::from(r.rtt);
    table t{fmt::format("UDP request/response with {}, {} B", r.target.to_string(), opt.size),
            {"sent", "answered", "lost", "dup", "reordered", "late", "p50", "p90", "p99", "max"},
            {}};
    t.add_row({std::to_string(r.sent), std::to_string(r.received), std::to_string(r.lost),
               std::to_string(r.duplicates), std::to_string(r.reordered), std::to_string(r.late),
               format_duration_us(s.p50_us), format_duration_us(s.p90_us), format_duration_us(s.p99_us),
               format_duration_us(s.max_us)});
    rep.add_table(std::move(t));
    if (r.intervals.size() > 1) {
        table iv{"Over time, by when each request was sent",
                 {"interval", "sent", "lost", "reordered", "dup", "late"},
                 {}};
        // A run shorter than a second has stretches of milliseconds.
        const bool ms = r.intervals.back().end_s < 1.0;
        for (const auto& i : r.intervals)
            iv.add_row({ms ? fmt::format("{:.2f}-{:.2f} ms", i.start_s * 1e3, i.end_s * 1e3)
                           : fmt::format("{:.2f}-{:.2f} s", i.start_s, i.end_s),
                        std::to_string(i.sent),
                        std::to_string(i.lost), std::to_string(i.reordered), std::to_string(i.duplicates),
                        std::to_string(i.late)});
        rep.add_table(std::move(iv));
    }
    if (r.received > 0 && r.first_reply.count() > 0)
        rep.add_reading(fmt::format("The first datagram's answer came back {} after it was sent: one round "
                                    "trip, with no setup before it.",
                                    format_duration(r.first_reply)));
    rep.add_reading(fmt::format("UDP lost {} of its requests or answers; nothing resent them.",
                                format_percent(r.loss_fraction())));
    if (r.warmed_up) rep.add_reading(std::string{warm_up_note});
    return rep;
}

report make_report(const udp_stream_result& r, const udp_stream_options& opt) {
    auto rep = probe_report("udp", "stream");
    rep.data()["result"] = r;
    rep.data()["bits_per_second"] = r.bits_per_second;
    rep.data()["packets_per_second"] = r.packets_per_second;
    table t{fmt::format("UDP stream to {}, {} B datagrams, {}", r.target.to_string(), opt.size,
                        opt.rate > 0 ? format_rate(opt.rate, "pkt") : std::string{"as fast as possible"}),
            {"sent", "received", "lost", "where lost", "dup", "out of order", "max displacement", "jitter",
             "received rate", "throughput"},
            {}};
    t.add_row({std::to_string(r.sent), std::to_string(r.received),
               fmt::format("{} ({})", r.lost, format_percent(r.loss_fraction())), detail::udp_loss_split(r),
               std::to_string(r.duplicates), std::to_string(r.out_of_order),
               std::to_string(r.max_displacement), format_duration_us(r.jitter_us),
               format_rate(r.packets_per_second, "pkt"), format_bits_per_second(r.bits_per_second)});
    rep.add_table(std::move(t));
    if (r.intervals.size() > 1) {
        // Loss per interval needs a responder that counts per interval; "-" where it did not.
        table iv{"Per interval, by when each datagram was sent",
                 {"interval", "sent", "send rate", "lost", "out of order", "dup"},
                 {}};
        auto count = [](const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : std::string{"-"}; };
        for (const auto& i : r.intervals)
            iv.add_row({fmt::format("{:.1f}-{:.1f} s", i.start_s, i.end_s), count(i.sent),
                        format_bits_per_second(i.bits_per_second), count(i.lost), count(i.reordered),
                        count(i.duplicates)});
        rep.add_table(std::move(iv));
    }
    if (r.lost > 0)
        rep.add_reading(detail::udp_loss_reading(r));
    else if (r.error.empty())
        rep.add_reading("UDP lost nothing on this run: every datagram sent reached the responder.");
    return rep;
}

}  // namespace nettool
