#pragma once
// nettool trace: the path to a host, hop by hop.
//
// Probes with rising TTL (hop limit) go out all at once, each matched to its reply by what the
// reply quotes of it, never by arrival order. Every probe of one flow keeps the flow's 5-tuple
// (Paris traceroute), so a router that balances load (ECMP) cannot make the path look different
// from hop to hop; `paths` flows with different destination ports (UDP), ICMP checksums or
// source ports (TCP) find the paths the balancers choose between (as dublin-traceroute does).
// UDP needs no privilege: ICMP errors come back through the socket's error queue (IP_RECVERR,
// as tracepath does). ICMP uses a ping socket where net.ipv4.ping_group_range allows it and a
// raw socket otherwise; TCP SYN probes need a raw socket (root or CAP_NET_RAW).
// docs/trace.md describes the method and the readings.

#include <nettool/core/export.hpp>
#include <nettool/core/histogram.hpp>
#include <nettool/core/report.hpp>
#include <nettool/net/address.hpp>
#include <nettool/net/endpoint.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

enum class trace_protocol : std::uint8_t { udp, icmp, tcp };
std::string_view to_string(trace_protocol p) noexcept;

/// At most this many probes in one run (the probe number is 16 bits on the wire).
inline constexpr std::uint64_t max_trace_probes = 65535;
/// At most this many flows (--paths).
inline constexpr unsigned max_trace_paths = 64;

struct trace_options {
    trace_protocol protocol = trace_protocol::udp;
    /// Destination port: UDP's first port (flow i uses port + i; 33434, traceroute's, by
    /// default), TCP's port (80 by default). 0 means the default. Unused for ICMP.
    std::uint16_t port = 0;
    unsigned first_hop = 1;                                       ///< the lowest TTL sent
    unsigned max_hops = 30;                                       ///< the highest TTL sent
    unsigned queries = 3;                                         ///< probes per hop and flow in each round
    unsigned rounds = 1;                                          ///< rounds (mtr's --report-cycles)
    std::chrono::nanoseconds interval = std::chrono::seconds{1};  ///< from one round's start to the next
    std::chrono::nanoseconds timeout = std::chrono::seconds{2};   ///< wait for each probe's reply
    unsigned paths = 1;  ///< flows, each with its own constant 5-tuple
    /// Find the path MTU (tracepath's method): probes as large as the interface allows, DF set,
    /// shrunk to what each "fragmentation needed" / "packet too big" reports.
    bool pmtu = false;
    bool resolve = true;  ///< look up each responder's name (reverse DNS) after the trace
    /// Called when each round has been sent (round number from 1, rounds): progress lines.
    std::function<void(unsigned, unsigned)> on_round = {};
};

/// One address that answered at a hop.
struct trace_responder {
    ip_address address;
    std::uint64_t replies = 0;
    std::vector<unsigned> flows;                          ///< the flows whose probes it answered
    std::string name;                                     ///< reverse DNS, empty when none or not looked up
    std::optional<std::chrono::nanoseconds> lookup_time;  ///< how long the reverse lookup took
    bool operator==(const trace_responder&) const = default;
};

/// What the numbers at a hop say about it.
enum class hop_verdict : std::uint8_t {
    answers,          ///< answered at least as often as the hops after it
    destination,      ///< the target itself answered here
    does_not_answer,  ///< no reply, while hops after it answered: it forwards but sends no ICMP
    rate_limits,      ///< fewer replies than the hops after it: it limits the ICMP it sends
    no_reply,         ///< no reply, and nothing after it answered either
    unreachable,      ///< it answered "destination unreachable" (see trace_hop::unreachable)
};
std::string_view to_string(hop_verdict v) noexcept;

/// Exact round-trip statistics of one hop, as mtr shows them.
struct rtt_stats {
    std::uint64_t count = 0;
    std::chrono::nanoseconds last{0}, best{0}, worst{0};
    double sum_ns = 0, sum_sq_ns = 0;
    void add(std::chrono::nanoseconds rtt) noexcept;
    double mean_ns() const noexcept;
    double stddev_ns() const noexcept;  ///< population standard deviation, as mtr's StDev
    bool operator==(const rtt_stats&) const = default;
};

struct trace_hop {
    unsigned ttl = 0;
    std::uint64_t sent = 0;      ///< probes with this TTL (a probe re-sent smaller for --pmtu counts once)
    std::uint64_t received = 0;  ///< replies matched to them within the timeout
    rtt_stats stats;
    histogram rtt;  ///< ns, for the percentiles
    std::vector<trace_responder> responders;
    hop_verdict verdict = hop_verdict::no_reply;
    /// For "destination unreachable": traceroute's mark (!N, !H, !P, !X, ...) and the ICMP code.
    std::string unreachable;
    /// How many hops the replies took back, guessed from their TTL as tracepath does (initial
    /// 64, 128 or 255); unset when no reply carried its TTL.
    std::optional<unsigned> return_hops;
    /// --pmtu: the MTU this hop reported as too small to forward our probes.
    std::optional<std::uint32_t> mtu;
    double loss() const noexcept {
        return sent == 0 ? 0.0 : 1.0 - static_cast<double>(received) / static_cast<double>(sent);
    }
    bool operator==(const trace_hop&) const = default;
};

/// One distinct path: the responder at each TTL from first_hop (unset: no reply), and the
/// flows that took it.
struct trace_path {
    std::vector<std::optional<ip_address>> hops;
    std::vector<unsigned> flows;
    bool reached = false;
    bool operator==(const trace_path&) const = default;
};

/// Replies that changed nothing but a counter.
struct trace_ignored {
    std::uint64_t foreign = 0;        ///< quoting a packet this run never sent (another program's, or forged)
    std::uint64_t unknown_probe = 0;  ///< this run's tag, but no such probe in flight (forged or corrupted)
    std::uint64_t duplicate = 0;      ///< a second reply to one probe
    std::uint64_t late = 0;           ///< after the probe's timeout
    std::uint64_t short_quote = 0;    ///< the ICMP error quoted too little to tell which probe it was
    std::uint64_t other = 0;          ///< ICMP of a kind a trace does not use, UDP data from the target
    bool operator==(const trace_ignored&) const = default;
};

struct trace_result {
    std::string target;  ///< as given
    socket_address destination;
    trace_protocol protocol = trace_protocol::udp;
    std::string method;  ///< how probes were sent and replies received, e.g. "ICMP ping socket"
    std::uint16_t port = 0;
    unsigned first_hop = 1, max_hops = 30, queries = 3, rounds = 1, paths = 1;
    std::chrono::nanoseconds timeout{0};
    std::uint32_t probe_size = 0;  ///< bytes of IP packet per probe (the last size when --pmtu)

    bool reached = false;
    unsigned destination_hop = 0;    ///< the TTL at which the target answered; 0 when it did not
    std::vector<trace_hop> hops;     ///< first_hop up to the destination or the last hop worth showing
    std::vector<trace_path> routes;  ///< the distinct paths, one per group of flows

    bool pmtu = false;
    std::optional<std::uint32_t> path_mtu;  ///< --pmtu: the largest packet that crossed the path
    std::uint32_t first_mtu = 0;            ///< --pmtu: the outgoing interface's MTU
    unsigned mtu_hop = 0;     ///< --pmtu: the TTL of the hop that reported a smaller MTU (0: none)
    bool asymmetric = false;  ///< some reply came back over a different number of hops

    std::uint64_t probes_sent = 0;
    std::uint64_t send_errors = 0;  ///< sendmsg failures (counted, the probe is lost)
    trace_ignored ignored;
    std::chrono::nanoseconds elapsed{0};  ///< first probe to the end of the last wait
    bool operator==(const trace_result&) const = default;
};

/// Throws nettool::error (errc::bad_argument, a usage error) when opt is out of range: first_hop
/// > max_hops, too many probes, UDP ports past 65535, --pmtu with TCP. run_trace checks it too;
/// a caller checks first to refuse a command line before resolving a name.
void check_trace_options(const trace_options& opt);

/// Traces the path to target (its first address). Throws nettool::error: errc::bad_argument for
/// options out of range (first_hop > max_hops, too many probes), errc::permission_denied when
/// the protocol needs a raw socket and this process may not open one, and the system's error
/// when a socket cannot be set up. Unanswered probes are measured outcomes, not errors.
trace_result run_trace(const socket_address& target, std::string_view target_text, const trace_options& opt);
trace_result run_trace(const socket_address& target, std::string_view target_text, const trace_options& opt,
                       std::error_code& ec) noexcept;

void to_json(nlohmann::json& j, const trace_result& r);
/// The trace in the shape of `mtr --json` (report.mtr, report.hubs[] with count, host, Loss%,
/// Snt, Last, Avg, Best, Wrst, StDev in ms), plus report.reached.
nlohmann::json to_mtr_json(const trace_result& r);
/// The hop table (mtr's columns and p50/p99), the paths when there are several, the readings.
report make_report(const trace_result& r);

}  // namespace nettool
NETTOOL_API_END
