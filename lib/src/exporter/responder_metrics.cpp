#include <nettool/exporter/responder_metrics.hpp>

#include <nettool/core/version.hpp>
#include <nettool/exporter/exposition.hpp>

namespace nettool::exporter {

std::string responder_exposition(const responder_stats& s, const iperf3_server_stats* iperf3) {
    const auto d = [](std::uint64_t v) { return static_cast<double>(v); };
    exposition e;
    e.family("nettool_responder_sessions_total", "counter",
             "Sessions that sent a valid hello and were admitted, by protocol and mode (docs/PROTOCOL.md).");
    e.sample("nettool_responder_sessions_total", {{"protocol", "tcp"}, {"mode", "echo"}}, d(s.sessions_echo));
    e.sample("nettool_responder_sessions_total", {{"protocol", "tcp"}, {"mode", "sink"}}, d(s.sessions_sink));
    e.sample("nettool_responder_sessions_total", {{"protocol", "tcp"}, {"mode", "source"}}, d(s.sessions_source));
    e.sample("nettool_responder_sessions_total", {{"protocol", "tcp"}, {"mode", "connect-only"}},
             d(s.sessions_connect_only));
    e.sample("nettool_responder_sessions_total", {{"protocol", "udp"}, {"mode", "udp-echo"}}, d(s.sessions_udp_echo));
    e.sample("nettool_responder_sessions_total", {{"protocol", "udp"}, {"mode", "udp-sink"}}, d(s.sessions_udp_sink));
    e.family("nettool_responder_sessions_rejected_total", "counter",
             "Hellos and control messages refused: busy (the session limits, overall or per source) or "
             "protocol (not a nettool hello, another version, an unknown mode, parameters out of range).");
    e.sample("nettool_responder_sessions_rejected_total", {{"reason", "busy"}}, d(s.refused_busy));
    e.sample("nettool_responder_sessions_rejected_total", {{"reason", "protocol"}},
             d(s.rejected >= s.refused_busy ? s.rejected - s.refused_busy : 0));
    e.family("nettool_responder_sessions_dropped_total", "counter",
             "Sessions the responder ended: idle (no hello in time, or silent too long) or slow (below the "
             "minimum progress rate).");
    e.sample("nettool_responder_sessions_dropped_total", {{"reason", "idle"}}, d(s.dropped_idle));
    e.sample("nettool_responder_sessions_dropped_total", {{"reason", "slow"}}, d(s.dropped_slow));
    e.family("nettool_responder_accept_pauses_total", "counter",
             "Accepts put off for lack of descriptors or memory.");
    e.sample("nettool_responder_accept_pauses_total", {}, d(s.accept_pauses));
    e.family("nettool_responder_udp_datagrams_total", "counter",
             "UDP datagrams with a live cookie from the address it was made for.");
    e.sample("nettool_responder_udp_datagrams_total", {}, d(s.udp_datagrams));
    e.family("nettool_responder_udp_datagrams_dropped_total", "counter",
             "UDP datagrams dropped unanswered: garbage (malformed, no or unknown cookie, wrong kind) or "
             "wrong_source (a live cookie from another address).");
    e.sample("nettool_responder_udp_datagrams_dropped_total", {{"reason", "garbage"}},
             d(s.udp_dropped >= s.udp_wrong_source ? s.udp_dropped - s.udp_wrong_source : 0));
    e.sample("nettool_responder_udp_datagrams_dropped_total", {{"reason", "wrong_source"}}, d(s.udp_wrong_source));
    e.family("nettool_responder_udp_replies_total", "counter", "UDP echo replies sent.");
    e.sample("nettool_responder_udp_replies_total", {}, d(s.udp_replies));
    e.family("nettool_responder_udp_polls_total", "counter",
             "Times the UDP thread turned from sleeping to polling: a stream arrived faster than it wakes.");
    e.sample("nettool_responder_udp_polls_total", {}, d(s.udp_polls));
    e.family("nettool_responder_received_bytes_total", "counter",
             "Bytes read: TCP, everything sessions sent (hellos, messages, uploads, control requests); UDP, "
             "every datagram's payload, dropped ones too.");
    e.sample("nettool_responder_received_bytes_total", {{"protocol", "tcp"}}, d(s.tcp_bytes_received));
    e.sample("nettool_responder_received_bytes_total", {{"protocol", "udp"}}, d(s.udp_bytes_received));
    e.family("nettool_responder_sent_bytes_total", "counter",
             "Bytes written: TCP, hello replies, echoes, downloads and reports; UDP, echo replies' payloads.");
    e.sample("nettool_responder_sent_bytes_total", {{"protocol", "tcp"}}, d(s.tcp_bytes_sent));
    e.sample("nettool_responder_sent_bytes_total", {{"protocol", "udp"}}, d(s.udp_bytes_sent));
    if (iperf3) {
        const auto& i = *iperf3;
        e.family("nettool_responder_iperf3_tests_total", "counter", "iperf3 control connections that became a test.");
        e.sample("nettool_responder_iperf3_tests_total", {}, d(i.tests));
        e.family("nettool_responder_iperf3_tests_ended_total", "counter",
                 "iperf3 tests ended: completed (IPERF_DONE), malformed, stalled, idle, other.");
        e.sample("nettool_responder_iperf3_tests_ended_total", {{"reason", "completed"}}, d(i.completed));
        e.sample("nettool_responder_iperf3_tests_ended_total", {{"reason", "malformed"}}, d(i.ended_malformed));
        e.sample("nettool_responder_iperf3_tests_ended_total", {{"reason", "stalled"}}, d(i.ended_stalled));
        e.sample("nettool_responder_iperf3_tests_ended_total", {{"reason", "idle"}}, d(i.ended_idle));
        e.sample("nettool_responder_iperf3_tests_ended_total", {{"reason", "other"}}, d(i.ended_other));
        e.family("nettool_responder_iperf3_tests_refused_total", "counter",
                 "iperf3 tests refused (ACCESS_DENIED): busy (every slot taken) or limits (the source's count or rate).");
        e.sample("nettool_responder_iperf3_tests_refused_total", {{"reason", "busy"}}, d(i.refused_busy));
        e.sample("nettool_responder_iperf3_tests_refused_total", {{"reason", "limits"}}, d(i.refused_limits));
        e.family("nettool_responder_iperf3_received_bytes_total", "counter", "iperf3 payload read on data streams.");
        e.sample("nettool_responder_iperf3_received_bytes_total", {}, d(i.bytes_received));
        e.family("nettool_responder_iperf3_sent_bytes_total", "counter", "iperf3 payload written on data streams.");
        e.sample("nettool_responder_iperf3_sent_bytes_total", {}, d(i.bytes_sent));
    }
    e.family("nettool_responder_build_info", "gauge", "The nettool version of this responder.");
    e.sample("nettool_responder_build_info", {{"version", version_string}}, 1);
    return e.take();
}

}  // namespace nettool::exporter
