#pragma once
// One round of a module against a target: what /probe answers and what the exporter folds into
// a target's metrics each interval. A round resolves the target (timed: the lookup phase), runs
// the module's prober `count` times within a budget, and reports latencies, counts and the phases
// that apply, blackbox_exporter's names where it has them.

#include <nettool/core/export.hpp>
#include <nettool/core/histogram.hpp>
#include <nettool/exporter/config.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

NETTOOL_API_BEGIN
namespace nettool::exporter {

/// The port a target without one is probed on: nettool serve's for tcp_rr and udp_rr (and for
/// tcp_connect, so one `nettool serve` answers every module), 53 for dns.
std::uint16_t default_port(prober p) noexcept;

struct round_result {
    bool success = false;  ///< every probe of the round was answered
    std::string error;     ///< why not, in one line; empty on success
    double duration_s = 0;                  ///< the whole round, lookup included
    double lookup_s = 0;                    ///< resolving the target's name (0 for a literal)
    std::optional<double> connect_s{};      ///< tcp_rr: the TCP handshake of its session
    histogram latency;                      ///< each probe's time: connect, round trip, or query, ns
    std::uint64_t sent = 0;                 ///< probes sent (connects attempted, requests, queries)
    std::uint64_t lost = 0;                 ///< never answered (timeouts, refusals)
    std::uint64_t duplicates = 0;           ///< answers that came twice (udp_rr)
    std::uint64_t reordered = 0;            ///< answers older than one already received (udp_rr)
};

/// Runs one round. `budget` bounds the whole round: each probe's timeout is the module's, or the
/// budget shared out over the count when that is less. Never throws for what the network does;
/// a target that does not parse or resolve is a failed round with the reason.
round_result run_round(const module_config& m, const std::string& target, std::chrono::milliseconds budget);

}  // namespace nettool::exporter
NETTOOL_API_END
