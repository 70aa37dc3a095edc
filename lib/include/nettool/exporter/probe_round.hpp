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
#include <memory>
#include <optional>
#include <string>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool::exporter {

/// The port a target without one is probed on: nettool serve's for tcp_rr and udp_rr (and for
/// tcp_connect, so one `nettool serve` answers every module), 53 for dns, 443 for tls, and for
/// trace traceroute's 33434 (UDP's first port; unused by ICMP), or 80 with TCP probes.
std::uint16_t default_port(const module_config& m) noexcept;
std::uint16_t default_port(prober p) noexcept;  ///< as above, a trace module's with UDP

/// One hop of a trace round.
struct trace_hop_sample {
    unsigned hop = 0;     ///< the TTL
    std::string address{};  ///< the address that answered most often; empty when none did
    std::optional<double> best_rtt_s{};  ///< the hop's fastest answer; unset when none came
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    bool operator==(const trace_hop_sample&) const = default;
};

/// What only the tls and trace modules measure: the last round's, shown as gauges.
struct round_extras {
    // tls, of the round's first handshake
    std::optional<double> tls_handshake_s{};  ///< ClientHello to Finished
    std::string tls_version;                  ///< as blackbox_exporter spells it: "TLS 1.3"
    std::string tls_cipher;                   ///< OpenSSL's name: "TLS_AES_256_GCM_SHA384"
    std::optional<double> cert_expiry_unix_s{};  ///< the earliest notAfter of the chain the server sent
    // trace
    bool traced = false;  ///< a trace ran (its fields below mean something)
    bool reached = false;
    unsigned destination_hop = 0;  ///< the TTL at which the target answered; 0 when it did not
    std::vector<trace_hop_sample> hops;  ///< from hop 1 to the destination (or the last worth showing)
    bool operator==(const round_extras&) const = default;
};

struct round_result {
    bool success = false;  ///< every probe of the round was answered
    std::string error;     ///< why not, in one line; empty on success
    double duration_s = 0;                  ///< the whole round, lookup included
    double lookup_s = 0;                    ///< resolving the target's name (0 for a literal)
    std::optional<double> connect_s{};      ///< tcp_rr, tls: the TCP handshake of its (first) connection
    /// Each probe's time, ns: connect, round trip, query, TLS handshake; empty for trace (its
    /// hops are in extras).
    histogram latency;
    /// Probes sent (connects attempted, requests, queries, handshakes; for trace, the probes at
    /// the destination's hop) and never answered (timeouts, refusals, failed handshakes).
    std::uint64_t sent = 0;
    std::uint64_t lost = 0;
    std::uint64_t duplicates = 0;           ///< answers that came twice (udp_rr)
    std::uint64_t reordered = 0;            ///< answers older than one already received (udp_rr)
    round_extras extras;                    ///< tls and trace only
};

/// Runs one round. `budget` bounds the whole round: each probe's timeout is the module's, or the
/// budget shared out over the count when that is less (a trace's probes are all in flight at
/// once: each waits the module's timeout or the budget). A trace round succeeds when it reached
/// the target and every probe at the target's hop was answered. Never throws for what the network does;
/// a target that does not parse or resolve is a failed round with the reason.
round_result run_round(const module_config& m, const std::string& target, std::chrono::milliseconds budget);

/// What one target keeps from round to round: its address when the target is a literal (parsed
/// once), and udp_rr's session (probe/udp_probe.hpp's udp_rr_client), so that a thousand targets
/// a second do not each open and close a TCP connection and two sockets every round. One round
/// at a time per state.
class round_state {
public:
    round_state();
    ~round_state();
    round_state(round_state&&) noexcept;
    round_state& operator=(round_state&&) noexcept;
    struct impl;

private:
    friend round_result run_round(const module_config&, const std::string&, std::chrono::milliseconds, round_state*);
    std::unique_ptr<impl> impl_;
};

/// As above, keeping what can be kept in `state` (may be null).
round_result run_round(const module_config& m, const std::string& target, std::chrono::milliseconds budget,
                       round_state* state);

}  // namespace nettool::exporter
NETTOOL_API_END
