#pragma once
// nettool as an iperf3 TCP client: the control protocol of nettool/iperf3/control.hpp against a
// stock `iperf3 -s`, nettool's own figures (interval lines, bytes, TCP_INFO) and the server's
// (its bytes per stream, retransmits and CPU from the results exchange) side by side.
// A busy server, a server error, an authentication requirement and a protocol nettool does not
// know end the run with `error` set; every read on the control connection has a deadline.

#include <nettool/core/export.hpp>
#include <nettool/core/report.hpp>
#include <nettool/iperf3/control.hpp>
#include <nettool/net/endpoint.hpp>
#include <nettool/probe/stream_interval.hpp>
#include <nettool/probe/tcp_probe.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

/// iperf3's well-known port.
inline constexpr std::uint16_t iperf3_default_port = 5201;

struct iperf3_tcp_options {
    std::chrono::nanoseconds duration{
        std::chrono::seconds{3}};           ///< sent to the server rounded up to whole seconds
    std::uint32_t write_size = 128 * 1024;  ///< bytes per write/read ("len")
    stream_direction direction = stream_direction::upload;      ///< download: iperf3's -R
    unsigned parallel = 1;                                      ///< streams per direction (-P), 1..128
    std::chrono::nanoseconds timeout{std::chrono::seconds{3}};  ///< each control read, connect and stall
};

/// One data stream, as nettool counted it and as the server reported it.
struct iperf3_stream_figures {
    std::int64_t id = 0;                         ///< iperf3's stream id: 1, 3, 4, 5... in connect order
    bool nettool_sends = false;                  ///< nettool sent on it (else the server did)
    std::uint64_t bytes = 0;                     ///< nettool's count: sent or received
    std::uint64_t server_bytes = 0;              ///< the server's count: received or sent
    bool server_reported = false;                ///< the server's results named this stream
    std::optional<std::uint64_t> retransmits{};  ///< nettool's TCP_INFO, on the streams it sent
    std::optional<std::uint64_t> server_retransmits{};  ///< the server's, on the streams it sent
    bool operator==(const iperf3_stream_figures&) const = default;
};

struct iperf3_tcp_result {
    socket_address target;
    stream_direction direction = stream_direction::upload;
    unsigned streams = 0;
    std::uint64_t bytes_sent = 0;      ///< by nettool
    std::uint64_t bytes_received = 0;  ///< by nettool
    double seconds = 0;                ///< TEST_RUNNING to the last byte nettool sent or read
    double bits_per_second = 0;        ///< nettool's bytes (sent and received) over seconds
    std::vector<stream_interval> intervals;
    kernel_tcp_view kernel;     ///< nettool's sending sockets
    double cpu_util_total = 0;  ///< nettool's process, percent of one CPU, as iperf3 counts it
    std::vector<iperf3_stream_figures> per_stream;
    bool server_results = false;  ///< the results exchange completed
    iperf3::peer_results server;  ///< what the server sent in it
    std::uint64_t server_bytes_received = 0;
    std::uint64_t server_bytes_sent = 0;
    double server_seconds = 0;        ///< the longest stream's end_time in the server's results
    std::vector<std::int8_t> states;  ///< the state bytes the server sent, in order
    std::string error;                ///< why the run failed or stopped early; empty when it did not
    bool operator==(const iperf3_tcp_result&) const = default;
};

iperf3_tcp_result iperf3_tcp_client(const socket_address& target, const iperf3_tcp_options& opt,
                                    const interval_callback& on_interval = {});

void to_json(nlohmann::json& j, const iperf3_stream_figures& s);
void to_json(nlohmann::json& j, const iperf3_tcp_result& r);

/// `nettool tcp --iperf3 --mode stream` (docs/JSON.md, `tcp`): the body is {"mode": "stream",
/// "iperf3": true, "result", "bits_per_second"}; a table with nettool's and the server's totals,
/// one with each stream's bytes on both sides, and readings of how they agree.
report make_report(const iperf3_tcp_result& r);

}  // namespace nettool
NETTOOL_API_END
