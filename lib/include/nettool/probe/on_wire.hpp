#pragma once
// The on-wire self-check: a probe's first exchange read back from a capture of the run (nettool's
// own --capture, or tcpdump's), set beside what the application measured, so anyone can see that
// the two agree. The capture's timestamps give the handshake (SYN to the client's ACK), the first
// reply (from the SYN, or from the first datagram for UDP) and how long the responder took to
// answer the session hello and, in the median, each echo.

#include <nettool/core/export.hpp>
#include <nettool/core/report.hpp>
#include <nettool/net/endpoint.hpp>
#include <nettool/probe/tcp_probe.hpp>
#include <nettool/probe/udp_probe.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

/// One moment of the first exchange, relative to its first packet (the SYN, or for UDP the first
/// datagram), and the application's own figure for it when it has one.
struct wire_event {
    std::string what;  ///< "SYN", "SYN/ACK", "first reply complete", ...
    std::optional<std::chrono::nanoseconds> wire;
    std::optional<std::chrono::nanoseconds> application;
    bool operator==(const wire_event&) const = default;
};

struct first_exchange {
    std::string probe;  ///< "tcp connect", "tcp rr", "udp rr"
    socket_address client;
    socket_address server;
    bool found = false;  ///< the connection (or datagrams) were in the capture
    std::vector<wire_event> events;
    /// Wire durations the test and readings compare with the application's.
    std::optional<std::chrono::nanoseconds> handshake;        ///< SYN to the client's ACK
    std::optional<std::chrono::nanoseconds> first_reply;      ///< SYN (UDP: first datagram) to first reply
    std::optional<std::chrono::nanoseconds> hello_turnaround;  ///< hello in, hello answer out
    std::optional<std::chrono::nanoseconds> echo_turnaround_p50;  ///< request in, response out
    std::uint64_t echo_samples = 0;
    std::chrono::nanoseconds app_handshake{0};
    std::chrono::nanoseconds app_first_reply{0};
    bool operator==(const first_exchange&) const = default;
};
void to_json(nlohmann::json& j, const first_exchange& f);

/// Reads the capture file for the probe's timed connection. Throws nettool::error as
/// capture_file::open.
first_exchange on_wire(const std::string& capture, const tcp_connect_result& r);
first_exchange on_wire(const std::string& capture, const tcp_rr_result& r, std::uint32_t size);
first_exchange on_wire(const std::string& capture, const udp_rr_result& r);

/// Adds the timeline table, a reading on whether the wire and the application agree, and the
/// JSON under "on_wire" (an array: one entry per exchange).
void add_on_wire(report& rep, const first_exchange& f);

}  // namespace nettool
NETTOOL_API_END
