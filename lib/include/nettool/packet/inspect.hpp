#pragma once
// Traffic inspection: stream a pcap/pcapng file (or packets fed one by one) through the decoders
// and summarise it in constant memory: totals, protocol hierarchy (like `tshark -z io,phs`),
// conversations in a bounded flow table, per-connection TCP analysis (handshake RTT and
// tshark's tcp.analysis.* rules: retransmissions, duplicate ACKs, out-of-order, lost segments,
// zero windows, resets) and DNS (queries, responses, rcodes, query-to-response latency).

#include <nettool/core/export.hpp>
#include <nettool/core/error.hpp>
#include <nettool/packet/dns_rcode.hpp>
#include <nettool/core/histogram.hpp>
#include <nettool/packet/packet.hpp>
#include <nettool/core/report.hpp>

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

struct inspect_progress {
    std::uint64_t packets = 0;
    std::uint64_t file_offset = 0;  ///< bytes of the file read so far
    std::uint64_t file_size = 0;    ///< 0 when unknown
};

struct inspect_options {
    /// Most conversations tracked at once; the least recently seen one is evicted beyond it.
    std::size_t max_flows = 100000;
    /// A port to decode as DNS besides 53 and 5353 (0 = none).
    std::uint16_t extra_dns_port = 0;
    /// Called about every 64k packets while a file is read (progress lines).
    std::function<void(const inspect_progress&)> on_progress;
};

/// Counts of packets carrying at least one header of each protocol (inner headers quoted by
/// ICMP errors count too, as in tshark).
struct protocol_counts {
    std::uint64_t ethernet = 0, vlan = 0, sll = 0, null_loop = 0;
    std::uint64_t ipv4 = 0, ipv6 = 0, tcp = 0, udp = 0, icmp = 0, icmpv6 = 0, arp = 0, dns = 0;
    bool operator==(const protocol_counts&) const = default;
};
void to_json(nlohmann::json& j, const protocol_counts& c);

/// One node of the protocol hierarchy: frames and bytes whose layer path passes through it.
struct protocol_node {
    std::string name;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::vector<protocol_node> children;
    bool operator==(const protocol_node&) const = default;
};
void to_json(nlohmann::json& j, const protocol_node& n);

/// TCP analysis counters (one connection or all of them), each counting the segments that the
/// tshark display filter tcp.analysis.<name> selects (docs/inspect.md: the rules, the differences).
struct tcp_analysis {
    std::uint64_t retransmissions = 0;  ///< all of them, fast and spurious included (tshark's rule)
    std::uint64_t fast_retransmissions = 0;
    std::uint64_t spurious_retransmissions = 0;  ///< data the peer had already acknowledged
    std::uint64_t out_of_order = 0;
    std::uint64_t duplicate_acks = 0;
    std::uint64_t lost_segments = 0;  ///< "previous segment not captured": a gap before this one
    std::uint64_t zero_windows = 0;
    std::uint64_t keep_alives = 0;
    std::uint64_t resets = 0;
    std::uint64_t syns = 0;  ///< segments with SYN and without ACK
    void add(const tcp_analysis& o) noexcept;
    bool operator==(const tcp_analysis&) const = default;
};
void to_json(nlohmann::json& j, const tcp_analysis& a);

struct conversation {
    std::string protocol;              ///< "tcp" or "udp"
    std::string address_a, address_b;  ///< A is the sender of the first packet seen
    std::uint16_t port_a = 0, port_b = 0;
    std::uint64_t packets_a_to_b = 0, bytes_a_to_b = 0;
    std::uint64_t packets_b_to_a = 0, bytes_b_to_a = 0;
    std::chrono::nanoseconds start{0};  ///< since the first packet of the file
    std::chrono::nanoseconds duration{0};
    /// TCP only: SYN -> SYN/ACK and SYN -> handshake ACK when the handshake was seen.
    std::optional<std::chrono::nanoseconds> syn_to_synack, handshake_rtt;
    tcp_analysis tcp;  ///< zeros for UDP

    std::uint64_t packets() const noexcept { return packets_a_to_b + packets_b_to_a; }
    std::uint64_t bytes() const noexcept { return bytes_a_to_b + bytes_b_to_a; }
    bool operator==(const conversation&) const = default;
};
void to_json(nlohmann::json& j, const conversation& c);

struct tcp_summary {
    tcp_analysis totals;
    std::uint64_t connections = 0;  ///< TCP conversations seen (incl. evicted)
    std::uint64_t handshakes = 0;   ///< full SYN, SYN/ACK, ACK handshakes seen
    histogram handshake_rtt;        ///< SYN -> handshake ACK
    bool operator==(const tcp_summary&) const = default;
};
void to_json(nlohmann::json& j, const tcp_summary& s);

struct dns_summary {
    std::uint64_t messages = 0;
    std::uint64_t queries = 0;
    std::uint64_t responses = 0;
    std::uint64_t answered = 0;  ///< responses matched to a query (id and client endpoint)
    std::uint64_t malformed_questions = 0;
    std::array<std::uint64_t, 16> rcodes{};  ///< responses by rcode
    histogram latency;                       ///< query -> matching response
    bool operator==(const dns_summary&) const = default;
};
void to_json(nlohmann::json& j, const dns_summary& s);

struct inspect_result {
    std::string file;
    int link_type = -1;
    std::string link_type_name;  ///< pcap's name, e.g. "EN10MB"
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;              ///< sum of on-wire lengths
    std::uint64_t captured_bytes = 0;     ///< sum of captured lengths
    std::uint64_t truncated_packets = 0;  ///< captured length < on-wire length (snaplen)
    std::optional<std::chrono::nanoseconds> first_time, last_time;  ///< since the Unix epoch
    std::chrono::nanoseconds duration{0};
    protocol_counts protocols;
    protocol_node hierarchy{"frame", 0, 0, {}};
    /// Why decoding stopped, per reason (decode_stop_name), only reasons other than complete.
    std::vector<std::pair<std::string, std::uint64_t>> decode_stops;
    std::vector<conversation> conversations;  ///< by bytes, largest first
    std::uint64_t flows_seen = 0;
    std::uint64_t flows_evicted = 0;
    tcp_summary tcp;
    dns_summary dns;
    std::vector<std::string> notes;  ///< e.g. "unsupported link type 147 (USER0)"

    bool operator==(const inspect_result&) const = default;
};
void to_json(nlohmann::json& j, const inspect_result& r);
/// Tables and readings for people.
report make_report(const inspect_result& r, std::size_t max_rows = 20);

/// Totals over the conversations that have `port` at either end (protocol "tcp" or "udp"):
/// what a probe needs to compare the on-wire view with what the application saw.
struct port_totals {
    std::uint64_t conversations = 0;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t packets_to_port = 0;    ///< packets sent to `port`
    std::uint64_t packets_from_port = 0;  ///< packets sent from `port`
    tcp_analysis tcp;
    bool operator==(const port_totals&) const = default;
};
port_totals totals_for_port(const inspect_result& r, std::string_view protocol, std::uint16_t port) noexcept;

/// Incremental inspector: feed packets in capture order, then take the result. Memory is
/// bounded by max_flows and a fixed DNS pending-query table.
class inspector {
public:
    explicit inspector(int link_type, inspect_options opts = {});
    ~inspector();
    inspector(inspector&&) noexcept;
    inspector& operator=(inspector&&) noexcept;

    /// One packet: capture time since the epoch, captured bytes, on-wire length.
    void add(std::chrono::nanoseconds time, bytes_view data, std::uint32_t wire_length) noexcept;
    /// The summary so far (conversations sorted by bytes).
    inspect_result result() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Reads a pcap or pcapng file. Throws nettool::error: system errors from opening the file (no
/// such file, permission denied, a directory); errc::malformed when it is not a capture file
/// libpcap can read (what() says why). A file cut inside a packet record is not an error: a
/// note in the result says so.
inspect_result inspect_file(const std::string& path, const inspect_options& opts = {});
/// The same, setting ec instead of throwing.
inspect_result inspect_file(const std::string& path, const inspect_options& opts, std::error_code& ec) noexcept;

/// "EN10MB", "LINUX_SLL", ... from libpcap; "unknown" when it has no name.
std::string link_type_name(int link_type);

}  // namespace nettool
NETTOOL_API_END
