// The report of `nettool udp --iperf3 --mode stream`: nettool's figures and the iperf3 server's
// side by side (docs/JSON.md, `udp`; docs/iperf3.md says how they relate).
#include <nettool/iperf3/udp_client.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nettool {

namespace {

std::string percent_of(std::uint64_t part, std::uint64_t whole) {
    return whole ? format_percent(static_cast<double>(part) / static_cast<double>(whole)) : std::string{"-"};
}

std::string rate_text(double rate) {
    return rate > 0 ? format_bits_per_second(rate) + " per stream" : std::string{"as fast as possible"};
}

}  // namespace

report make_report(const iperf3_udp_result& r) {
    report rep{"udp"};
    rep.data()["mode"] = "stream";
    rep.data()["iperf3"] = true;
    rep.data()["result"] = r;
    rep.data()["bits_per_second"] = r.bits_per_second;

    table t{fmt::format("iperf3 UDP test with {} ({}, {} stream{}, {} B datagrams, {}, {}-bit counters)",
                        r.target.to_string(), to_string(r.direction), r.streams, r.streams == 1 ? "" : "s", r.size,
                        rate_text(r.rate), r.counters_64bit ? 64 : 32),
            {"counted by", "seconds", "sent", "received", "lost", "duplicates", "out of order", "jitter", "throughput",
             "cpu"},
            {}};
    const bool recv = r.received > 0 || r.direction != stream_direction::upload;
    t.add_row({"nettool", fmt::format("{:.2f}", r.seconds), std::to_string(r.sent),
               recv ? std::to_string(r.received) : "-",
               recv ? fmt::format("{} ({})", r.lost, percent_of(r.lost, r.lost + r.received - r.duplicates)) : "-",
               recv ? std::to_string(r.duplicates) : "-", recv ? std::to_string(r.out_of_order) : "-",
               recv ? format_duration_us(r.jitter_us) : "-", format_bits_per_second(r.bits_per_second),
               format_percent(r.cpu_util_total / 100.0)});
    if (r.server_results) {
        const bool srecv = r.direction != stream_direction::download;
        const double bytes = static_cast<double>(r.server_bytes_sent + r.server_bytes_received);
        t.add_row({"iperf3 server", fmt::format("{:.2f}", r.server_seconds), std::to_string(r.server_packets_sent),
                   srecv ? std::to_string(r.server_packets_received - std::min(r.server_lost, r.server_packets_received))
                         : "-",
                   srecv ? fmt::format("{} ({})", r.server_lost, percent_of(r.server_lost, r.server_packets_received))
                         : "-",
                   "-", "-", srecv ? format_duration_us(r.server_jitter_us) : "-",
                   r.server_seconds > 0 ? format_bits_per_second(bytes * 8.0 / r.server_seconds) : "-",
                   format_percent(r.server.cpu_util_total / 100.0)});
    }
    rep.add_table(std::move(t));

    table per{"Each stream on both sides",
              {"stream", "sender", "sent", "received (nettool / server)", "lost (nettool / server)",
               "jitter (nettool / server)", "bytes (nettool / server)"},
              {}};
    for (const auto& s : r.per_stream) {
        const std::string sent = s.nettool_sends ? std::to_string(s.packets)
                                                 : (s.server_reported ? std::to_string(s.server_packets) : "-");
        std::string received, lost, jitter;
        if (s.nettool_sends) {
            received = s.server_reported ? fmt::format("- / {} (highest seq)", s.server_packets) : "-";
            lost = s.server_reported ? fmt::format("- / {}", s.server_lost) : "-";
            jitter = s.server_reported ? fmt::format("- / {}", format_duration_us(s.server_jitter_us)) : "-";
        } else {
            received = fmt::format("{} / -", s.packets);
            lost = fmt::format("{} / -", s.lost);
            jitter = fmt::format("{} / -", format_duration_us(s.jitter_us));
        }
        per.add_row({std::to_string(s.id), s.nettool_sends ? "nettool" : "server", sent, received, lost, jitter,
                     fmt::format("{} / {}", format_bytes(static_cast<double>(s.bytes)),
                                 s.server_reported ? format_bytes(static_cast<double>(s.server_bytes)) : "-")});
    }
    if (!r.per_stream.empty()) rep.add_table(std::move(per));

    if (r.server_results) {
        if (r.sent > 0) {
            if (r.server_packets_received == r.sent)
                rep.add_reading(fmt::format(
                    "The server saw sequence numbers up to the last of the {} datagrams nettool sent and counted {} "
                    "of them lost ({}).",
                    r.sent, r.server_lost, percent_of(r.server_lost, r.sent)));
            else
                rep.add_reading(fmt::format(
                    "nettool sent {} datagrams; the highest sequence number the server saw is {}: the last {} "
                    "never reached it before TEST_END (lost at the end of the test, or still on the way), and "
                    "iperf3 does not count those as lost. It counted {} lost before them.",
                    r.sent, r.server_packets_received,
                    r.sent > r.server_packets_received ? r.sent - r.server_packets_received : 0, r.server_lost));
            if (r.send_errors > 0)
                rep.add_reading(fmt::format("This host refused {} sends (ENOBUFS or an ICMP error); those "
                                            "sequence numbers were sent again and are not gaps.",
                                            r.send_errors));
        }
        if (r.direction != stream_direction::upload) {
            const std::uint64_t unique = r.received - r.duplicates;
            rep.add_reading(fmt::format(
                "The server sent {} datagrams; nettool received {} distinct ({} duplicates), counted {} lost "
                "and {} out of order apart (iperf3 3.12 counts a late datagram by taking one off its loss "
                "count; nettool counts it as out of order and never as lost){}.",
                r.server_packets_sent, unique, r.duplicates, r.lost, r.out_of_order,
                unique + r.lost < r.server_packets_sent
                    ? fmt::format("; the last {} sent never arrived, which no receiver can tell from the "
                                  "sequence numbers",
                                  r.server_packets_sent - unique - r.lost)
                    : std::string{}));
        }
        rep.add_reading(fmt::format("The iperf3 server used {} of a CPU ({} user, {} system).",
                                    format_percent(r.server.cpu_util_total / 100.0),
                                    format_percent(r.server.cpu_util_user / 100.0),
                                    format_percent(r.server.cpu_util_system / 100.0)));
    } else {
        rep.add_reading("The iperf3 server's results did not arrive: only nettool's own figures are shown.");
    }
    return rep;
}

}  // namespace nettool
