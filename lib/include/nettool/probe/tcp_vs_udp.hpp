#pragma once
// `nettool tcp-vs-udp`: the classic comparison on one path, measured and then read out loud.
// TCP pays for a handshake and hides loss by retransmitting (it shows up as delay); UDP has no
// setup and hands loss, duplication and reordering to the application.

#include <nettool/core/export.hpp>
#include <nettool/core/report.hpp>
#include <nettool/probe/tcp_probe.hpp>
#include <nettool/probe/udp_probe.hpp>

#include <functional>
#include <string>
#include <string_view>

NETTOOL_API_BEGIN
namespace nettool {

struct tcp_vs_udp_options {
    std::uint32_t size = 64;       ///< request/response message and datagram size, bytes
    std::uint64_t count = 1000;    ///< request/response rounds per protocol
    std::uint64_t connects = 200;  ///< TCP connects timed for setup cost
    std::chrono::nanoseconds duration{std::chrono::seconds{2}};  ///< each stream test
    std::uint32_t stream_datagram = 1400;                        ///< UDP stream datagram size, bytes
    std::chrono::nanoseconds timeout{std::chrono::seconds{3}};
    bool udp_gso = true;  ///< see udp_stream_options::gso
    std::string congestion_control;  ///< the TCP stream's (tcp_stream_options); empty: the system's
    double udp_stream_rate = 0;  ///< UDP stream datagrams per second; 0: as fast as possible
};

struct tcp_vs_udp_result {
    tcp_connect_result connect;
    tcp_rr_result tcp_rr;
    udp_rr_result udp_rr;
    tcp_stream_result tcp_stream;
    udp_stream_result udp_stream;
    bool operator==(const tcp_vs_udp_result&) const = default;
};

/// Called before each step with a short description ("TCP stream, 2 s").
using step_callback = std::function<void(std::string_view)>;

tcp_vs_udp_result run_tcp_vs_udp(const socket_address& target, const tcp_vs_udp_options& opt,
                                 const step_callback& on_step = {},
                                 const interval_callback& on_interval = {});

/// Segments the kernel retransmitted over every TCP part of the run (connects, rr, stream).
std::uint64_t tcp_retransmits(const tcp_vs_udp_result& r) noexcept;

/// True when every part got at least one answer.
bool succeeded(const tcp_vs_udp_result& r) noexcept;

/// The side-by-side table, the plain-language readings and the JSON body; in_process_responder
/// says whether the run started its own responder on loopback (no HOST given).
report make_report(const tcp_vs_udp_result& r, bool in_process_responder = false);

}  // namespace nettool
NETTOOL_API_END
