// The report of `nettool tcp --iperf3 --mode stream`: nettool's figures and the iperf3 server's
// side by side (docs/JSON.md, `tcp`; docs/iperf3.md says how they relate).
#include <nettool/iperf3/client.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

namespace nettool {

namespace {

std::string or_dash(const std::optional<std::uint64_t>& v) {
    return v ? std::to_string(*v) : std::string{"-"};
}

// (theirs - ours) / ours, as a signed percentage; "-" when either side counted nothing.
std::string difference(std::uint64_t ours, std::uint64_t theirs) {
    if (ours == 0 || theirs == 0) return "-";
    const double d = (static_cast<double>(theirs) - static_cast<double>(ours)) / static_cast<double>(ours);
    return fmt::format("{:+.3f}%", d * 100.0);
}

}  // namespace

report make_report(const iperf3_tcp_result& r) {
    report rep{"tcp"};
    rep.data()["mode"] = "stream";
    rep.data()["iperf3"] = true;
    rep.data()["result"] = r;
    rep.data()["bits_per_second"] = r.bits_per_second;

    table t{fmt::format("iperf3 TCP test with {} ({}, {} stream{})", r.target.to_string(),
                        to_string(r.direction), r.streams, r.streams == 1 ? "" : "s"),
            {"counted by", "seconds", "sent", "received", "throughput", "retransmits", "cwnd", "rtt", "cpu"},
            {}};
    t.add_row({"nettool", fmt::format("{:.2f}", r.seconds), format_bytes(static_cast<double>(r.bytes_sent)),
               format_bytes(static_cast<double>(r.bytes_received)), format_bits_per_second(r.bits_per_second),
               r.bytes_sent > 0 ? std::to_string(r.kernel.retransmits) : "-",
               r.bytes_sent > 0 ? std::to_string(r.kernel.cwnd_segments) : "-",
               r.bytes_sent > 0 ? format_duration_us(r.kernel.rtt_us) : "-",
               format_percent(r.cpu_util_total / 100.0)});
    if (r.server_results) {
        std::uint64_t retr = 0;
        bool any_retr = false;
        for (const auto& s : r.per_stream)
            if (s.server_retransmits) {
                retr += *s.server_retransmits;
                any_retr = true;
            }
        const double bytes = static_cast<double>(r.server_bytes_sent + r.server_bytes_received);
        t.add_row({"iperf3 server", fmt::format("{:.2f}", r.server_seconds),
                   format_bytes(static_cast<double>(r.server_bytes_sent)),
                   format_bytes(static_cast<double>(r.server_bytes_received)),
                   r.server_seconds > 0 ? format_bits_per_second(bytes * 8.0 / r.server_seconds) : "-",
                   any_retr ? std::to_string(retr) : "-", "-", "-",
                   format_percent(r.server.cpu_util_total / 100.0)});
    }
    rep.add_table(std::move(t));

    table per{"Each stream on both sides",
              {"stream", "sender", "nettool counted", "server counted", "difference", "retransmits"},
              {}};
    for (const auto& s : r.per_stream)
        per.add_row({std::to_string(s.id), s.nettool_sends ? "nettool" : "server",
                     format_bytes(static_cast<double>(s.bytes)),
                     s.server_reported ? format_bytes(static_cast<double>(s.server_bytes)) : "-",
                     s.server_reported ? difference(s.bytes, s.server_bytes) : "-",
                     s.nettool_sends ? or_dash(s.retransmits) : or_dash(s.server_retransmits)});
    if (!r.per_stream.empty()) rep.add_table(std::move(per));

    if (r.server_results) {
        if (r.bytes_sent > 0 && r.server_bytes_received == r.bytes_sent)
            rep.add_reading(fmt::format("The server read all {} nettool sent.",
                                        format_bytes(static_cast<double>(r.bytes_sent))));
        else if (r.bytes_sent > 0)
            rep.add_reading(fmt::format(
                "The server read {} of the {} nettool sent ({}): what it had not read when TEST_END arrived "
                "was still in its socket buffers.",
                format_bytes(static_cast<double>(r.server_bytes_received)),
                format_bytes(static_cast<double>(r.bytes_sent)),
                difference(r.bytes_sent, r.server_bytes_received)));
        if (r.bytes_received > 0)
            rep.add_reading(fmt::format("nettool read {} of the {} the server sent ({}).",
                                        format_bytes(static_cast<double>(r.bytes_received)),
                                        format_bytes(static_cast<double>(r.server_bytes_sent)),
                                        difference(r.server_bytes_sent, r.bytes_received)));
        rep.add_reading(fmt::format(
            "The iperf3 server used {} of a CPU ({} user, {} system){}.",
            format_percent(r.server.cpu_util_total / 100.0), format_percent(r.server.cpu_util_user / 100.0),
            format_percent(r.server.cpu_util_system / 100.0),
            r.server.congestion_used.empty() ? std::string{}
                                             : fmt::format(" and sent with {}", r.server.congestion_used)));
    } else {
        rep.add_reading("The iperf3 server's results did not arrive: only nettool's own figures are shown.");
    }
    return rep;
}

}  // namespace nettool
