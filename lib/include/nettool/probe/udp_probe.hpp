#pragma once
// UDP probes against a nettool responder: request/response round trips with loss, duplication
// and reordering counted apart, and a paced or flat-out stream the responder counts (received,
// lost, duplicated, out of order, RFC 3550 jitter). UDP has no setup: the session cookie comes
// over a TCP control connection, which also carries the responder's counts back.

#include <nettool/core/export.hpp>
#include <nettool/net/endpoint.hpp>
#include <nettool/core/histogram.hpp>
#include <nettool/core/report.hpp>
#include <nettool/probe/stream_interval.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

struct udp_rr_options {
    std::uint32_t size = 64;  ///< datagram size, bytes (>= 32, the nettool header)
    std::uint64_t count = 1000;
    std::chrono::nanoseconds duration{0};  ///< 0: use count
    std::chrono::nanoseconds interval{0};
    std::chrono::nanoseconds timeout{std::chrono::milliseconds{500}};  ///< per probe
    /// After the last probe, how long to wait for answers still on their way (late ones,
    /// duplicates), at most the timeout. The exporter, which runs a short round every second,
    /// waits none: what arrives during the round is counted all the same.
    std::chrono::nanoseconds drain{std::chrono::milliseconds{200}};
    /// One untimed session (control connection, one datagram exchange) first, so the timed one
    /// pays for the protocol and not for the first run of either side's code.
    bool warm_up = true;
};

/// One stretch of a UDP request/response run: what became of the probes sent in it. The client
/// knows each probe's fate, so a probe is counted in the interval it was sent in, whenever its
/// answer came. Intervals are 1 s of sending time; a run that sent for less than 10 s is cut into
/// 10 equal stretches instead (fewer when it sent fewer than 10 probes), so a short run still
/// shows a shape. Summed over the intervals, each count is the run's total.
struct udp_rr_interval {
    double start_s = 0;  ///< seconds since the first probe was sent
    double end_s = 0;
    std::uint64_t sent = 0;
    std::uint64_t lost = 0;        ///< never answered
    std::uint64_t reordered = 0;   ///< answered after a later probe's answer
    std::uint64_t duplicates = 0;  ///< extra copies of the answers
    std::uint64_t late = 0;        ///< answered after the probe's timeout
    bool operator==(const udp_rr_interval&) const = default;
};
void to_json(nlohmann::json& j, const udp_rr_interval& i);

struct udp_rr_result {
    socket_address target;
    socket_address local;          ///< the client's UDP socket, to find it in a capture
    socket_address control_local;  ///< the client end of the session's TCP control connection
    bool warmed_up = false;        ///< an untimed session ran first
    std::uint64_t warm_up_sent = 0;  ///< datagrams the warm-up sent (not counted in sent)
    std::uint64_t sent = 0;
    std::uint64_t received = 0;               ///< distinct probes answered (late ones included)
    std::uint64_t lost = 0;                   ///< probes never answered
    std::uint64_t duplicates = 0;             ///< extra copies of an answer
    std::uint64_t reordered = 0;              ///< answers older than one already received
    std::uint64_t late = 0;                   ///< answers that came after their probe's timeout
    std::chrono::nanoseconds first_reply{0};  ///< first datagram out to its answer back
    histogram rtt;
    std::vector<udp_rr_interval> intervals;  ///< the counts above over time, by send time
    std::string error;
    std::chrono::nanoseconds elapsed{0};
    double loss_fraction() const noexcept {
        return sent ? static_cast<double>(lost) / static_cast<double>(sent) : 0;
    }
    bool operator==(const udp_rr_result&) const = default;
};

/// udp_rr runs that keep their session between runs: the control connection and the UDP socket
/// stay open while the target and size stay the same, so a probe every second (the exporter's
/// rounds) does not pay for a TCP handshake and two sockets each time. A run that got no answer
/// at all, or a control connection the responder ended, opens a new session on the next run.
/// The session holds one of the responder's sessions (its per-source limit counts it) until
/// close() or destruction. One run at a time; no warm-up.
class udp_rr_client {
public:
    udp_rr_client();
    ~udp_rr_client();
    udp_rr_client(udp_rr_client&&) noexcept;
    udp_rr_client& operator=(udp_rr_client&&) noexcept;
    /// One run as udp_rr_probe's timed part, over the kept session (or a new one).
    udp_rr_result run(const socket_address& target, const udp_rr_options& opt);
    /// Ends the session (the responder retires it). Idempotent.
    void close() noexcept;

private:
    struct state;
    std::unique_ptr<state> s_;
};

struct udp_stream_options {
    std::uint32_t size = 1400;  ///< datagram payload size, bytes (>= 32)
    double rate = 0;            ///< datagrams per second; 0 sends as fast as possible
    std::chrono::nanoseconds duration{std::chrono::seconds{3}};
    std::chrono::nanoseconds timeout{std::chrono::seconds{3}};
    /// Let the kernel cut batches into datagrams (UDP GSO). A capture on the sending host then
    /// sees one large packet per batch; turn it off to see every datagram on the wire.
    bool gso = true;
};

struct udp_stream_result {
    socket_address target;
    std::uint32_t size = 0;
    std::uint64_t sent = 0;          ///< datagrams handed to the kernel
    std::uint64_t send_dropped = 0;  ///< refused by this host's stack (ENOBUFS and alike)
    std::uint64_t received = 0;      ///< by the responder, duplicates included
    std::uint64_t lost = 0;          ///< sent but never received
    /// Where the lost ones went, when the responder counts its socket's drops (older responders
    /// do not: both empty). receiver_dropped + path_lost == lost.
    std::optional<std::uint64_t> receiver_dropped{};///< turned away by the receiver's full socket buffer
    std::optional<std::uint64_t> path_lost{};       ///< lost between the two sockets
    std::uint64_t duplicates = 0;
    std::uint64_t out_of_order = 0;
    std::uint64_t max_displacement = 0;  ///< largest reordering distance, in datagrams
    double jitter_us = 0;                ///< RFC 3550 interarrival jitter
    double seconds = 0;                  ///< sending time
    double packets_per_second = 0;       ///< received by the responder
    double bits_per_second = 0;          ///< UDP payload received by the responder
    double send_packets_per_second = 0;
    std::vector<stream_interval> intervals;  ///< sender side
    std::string error;
    double loss_fraction() const noexcept {
        return sent ? static_cast<double>(lost) / static_cast<double>(sent) : 0;
    }
    bool operator==(const udp_stream_result&) const = default;
};

udp_rr_result udp_rr_probe(const socket_address& target, const udp_rr_options& opt);
udp_stream_result udp_stream_probe(const socket_address& target, const udp_stream_options& opt,
                                   const interval_callback& on_interval = {});

void to_json(nlohmann::json& j, const udp_rr_result& r);
void to_json(nlohmann::json& j, const udp_stream_result& r);

// What `nettool udp` prints (docs/JSON.md, `tcp` and `udp`): the body is {"mode", "result"}, the
// result as to_json writes it; tables and readings for people.
/// Counts and round trips of requests of opt.size bytes, and a reading of the loss.
report make_report(const udp_rr_result& r, const udp_rr_options& opt);
/// Loss, reordering, jitter and rates at opt.rate (or flat out); the body also carries
/// bits_per_second and packets_per_second at the top level, as iperf3 does.
report make_report(const udp_stream_result& r, const udp_stream_options& opt);

}  // namespace nettool
NETTOOL_API_END
