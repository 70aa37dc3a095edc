#pragma once
// The TCP-vs-UDP lesson across an emulated link: build the path, run the responder on the host
// side and the probes inside the link's namespace, tear it down, and read the numbers against
// what the link was told to do (and, for TCP under random loss, against the Mathis model).

#include <nettool/core/export.hpp>
#include <nettool/core/report.hpp>
#include <nettool/link/emulator.hpp>
#include <nettool/probe/tcp_vs_udp.hpp>

#include <string>
#include <string_view>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool::link {

/// One tcp-vs-udp run across one link.
struct lab_run {
    std::string spec;  ///< the link as given (parse_link_spec's text)
    link_config config;
    link_addresses where;
    tcp_vs_udp_result result;
    link_stats stats;
};

/// tcp-vs-udp's options for a path with delay: fewer rounds (each costs a round trip) and a
/// UDP stream paced at half the link's rate (or 5,000 datagrams/s without one), so its loss is
/// the link's loss and not the queue overflowing.
tcp_vs_udp_options lab_defaults(const link_config& config, tcp_vs_udp_options base);

/// Builds the link described by spec, runs tcp-vs-udp through it (downlink carries the
/// responder's replies, uplink the probes' requests and streams), and tears the link down.
/// Throws nettool::error when the link cannot be built.
lab_run run_tcp_vs_udp_over_link(std::string_view spec, const tcp_vs_udp_options& opt,
                                 const step_callback& on_step = {}, const interval_callback& on_interval = {});

/// The Mathis et al. (1997) bound on a Reno-like TCP's throughput under random loss p:
/// MSS / RTT x sqrt(3/2) / sqrt(p), in bit/s. 0 when p or rtt is not positive.
double mathis_bits_per_second(double mss_bytes, double rtt_seconds, double p) noexcept;

/// The tcp-vs-udp report with the link: a table per direction, the link under "link" in the
/// JSON, and readings that set what TCP and UDP saw beside what the link did.
report make_report(const lab_run& run);

/// "loss=0,0.5,1,2,5%": a key of parse_link_spec and its values; a unit on the last value
/// applies to every value without one. Throws nettool::error (bad_argument).
struct sweep_spec {
    std::string key;
    std::vector<std::string> values;  ///< each with its unit
};
sweep_spec parse_sweep(std::string_view text);

/// base with key=value set (replacing any value base gave that key).
std::string with_key(std::string_view base, std::string_view key, std::string_view value);

/// One row per run: the value, TCP's throughput beside the Mathis model, TCP's retransmissions,
/// UDP's loss beside the configured loss, jitter and the round trip.
report make_sweep_report(const sweep_spec& sweep, const std::vector<lab_run>& runs);

}  // namespace nettool::link
NETTOOL_API_END
