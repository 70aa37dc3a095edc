#pragma once
// DNS lookup timing: how long name resolution takes the way applications see it (getaddrinfo)
// and the way a DNS server answers it (direct queries over UDP or TCP), plus a load mode that
// replays a dnsperf-style query file against one server.
//
// The DNS message format is handled by ldns inside the library; this header needs only the
// standard library and nlohmann-json. A timeout, an NXDOMAIN or a lost query is a measured
// outcome in the result, not an error.

#include <nettool/core/export.hpp>
#include <nettool/core/line_reader.hpp>
#include <nettool/core/error.hpp>
#include <nettool/packet/dns_rcode.hpp>
#include <nettool/core/histogram.hpp>
#include <nettool/core/report.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

// ---------------------------------------------------------------------------------------------
// Input checking (all before anything is sent)

/// Checks a domain name in presentation format: no label over 63 octets, the whole name at most
/// 255 octets in wire form, no empty label (a single trailing dot and "." itself are fine).
/// Returns errc::bad_dns_name with nothing sent.
std::error_code validate_dns_name(std::string_view name) noexcept;

/// "A", "aaaa", "MX", "TXT", "NS", "SOA", "CNAME", "PTR", "SRV", "CAA", "ANY", "TYPE65" or a
/// number 0..65535. nullopt for anything else.
std::optional<std::uint16_t> parse_dns_type(std::string_view text) noexcept;
/// The mnemonic of a query type ("AAAA", "TYPE65534" when ldns has no name for it).
std::string dns_type_name(std::uint16_t type);

/// A DNS server address: an IPv4 or IPv6 literal and a port.
struct dns_server {
    std::string address;
    std::uint16_t port = 53;

    std::string to_string() const;  ///< "192.0.2.1:53", "[::1]:5353"
    bool operator==(const dns_server&) const = default;
};
/// "ADDR", "ADDR:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 literal: parse_host_port's grammar
/// with port 53 by default, and the host must be numeric. errc::bad_address or errc::bad_port.
/// Throws nettool::error naming the offending text.
dns_server parse_dns_server(std::string_view text);
dns_server parse_dns_server(std::string_view text, std::error_code& ec) noexcept;
/// What a resolv.conf may hold: lines of at most 4096 bytes, 10,000 lines, 1 MiB.
inline constexpr line_limits resolv_conf_limits{.max_line_bytes = 4096, .max_lines = 10'000,
                                                .max_bytes = 1ULL << 20};
/// The nameserver lines of a resolv.conf, port 53; nameserver values that are not numeric
/// addresses are skipped (as the C library does). Throws what line_reader throws.
std::vector<dns_server> parse_resolv_conf(line_reader& in);
/// Opens path with resolv_conf_limits and parses it. Throws nettool::error when the file cannot
/// be opened or read ("<path>: cannot open: No such file or directory") or is over a limit.
std::vector<dns_server> resolv_conf_servers(const std::string& path = "/etc/resolv.conf");

// ---------------------------------------------------------------------------------------------
// Direct queries to one server

enum class dns_transport { udp, tcp };

struct dns_query_options {
    std::string name;
    std::uint16_t type = 1;                        ///< A
    dns_transport transport = dns_transport::udp;  ///< udp retries over TCP when TC is set
    bool edns = true;
    std::uint16_t edns_size = 1232;  ///< advertised UDP payload size with EDNS
    bool recurse = true;             ///< RD bit
    unsigned count = 1;
    std::chrono::nanoseconds interval{0};                       ///< from one query's send to the next
    std::chrono::nanoseconds timeout{std::chrono::seconds{2}};  ///< per query (and per TCP retry)
    bool operator==(const dns_query_options&) const = default;
};

/// Datagrams received while waiting for an answer that were not the answer.
struct dns_ignored_counts {
    std::uint64_t wrong_id = 0;        ///< ID of no outstanding query
    std::uint64_t wrong_source = 0;    ///< from another address or port than the server
    std::uint64_t wrong_question = 0;  ///< right ID, another name/type/class (or not a response)
    std::uint64_t malformed = 0;       ///< empty, cut short, records beyond the message, name pointer
                                       ///< loops or forward pointers, or unparsable by ldns
    std::uint64_t oversized = 0;       ///< a UDP answer larger than the query allowed: its EDNS
                                       ///< payload size, or 512 bytes without EDNS (RFC 6891 6.2.5)

    std::uint64_t total() const noexcept {
        return wrong_id + wrong_source + wrong_question + malformed + oversized;
    }
    bool operator==(const dns_ignored_counts&) const = default;
};
void to_json(nlohmann::json& j, const dns_ignored_counts& c);

/// The records of one response, one string per RR as dig prints them (owner, TTL, class, type,
/// rdata, tab separated).
struct dns_records {
    std::string rcode;  ///< "NOERROR", "NXDOMAIN", ...
    bool authoritative = false;
    bool truncated = false;  ///< TC bit of the response these records came from
    std::vector<std::string> answer, authority, additional;
    bool operator==(const dns_records&) const = default;
};
void to_json(nlohmann::json& j, const dns_records& r);

struct dns_query_result {
    dns_server server;
    std::string name;
    std::uint16_t type = 1;
    dns_transport transport = dns_transport::udp;
    std::uint64_t sent = 0;          ///< queries sent (TCP retries not counted again)
    std::uint64_t answered = 0;      ///< queries that got a well-formed response
    std::uint64_t timeouts = 0;      ///< queries with no valid response before their deadline
    std::uint64_t unreachable = 0;   ///< queries ended at once: an ICMP unreachable answered the UDP
                                     ///< query, or the TCP connection was refused
    std::uint64_t closed = 0;        ///< TCP queries whose connection the server closed or reset
                                     ///< before the answer came
    std::uint64_t tcp_retries = 0;   ///< UDP answers with TC set that were asked again over TCP
    std::uint64_t tcp_failures = 0;  ///< TCP exchanges that failed (refused, reset, timed out)
    std::uint64_t send_errors = 0;   ///< queries the local stack refused to send
    histogram rtt;                   ///< send of the query to its answer (over TCP too when retried)
    std::map<std::string, std::uint64_t> rcodes;  ///< rcode name -> responses
    dns_ignored_counts ignored;
    std::optional<dns_records> last;  ///< records of the last response received

    bool operator==(const dns_query_result&) const = default;
};
void to_json(nlohmann::json& j, const dns_query_result& r);

/// Sends options.count queries to server one after another and times each answer. ec is set only
/// for local failures (no socket, bad address); timeouts and rcodes are in the result.
dns_query_result time_dns_queries(const dns_server& server, const dns_query_options& options,
                                  std::error_code& ec) noexcept;

// ---------------------------------------------------------------------------------------------
// The system resolver (getaddrinfo)

struct system_lookup_result {
    std::string name;
    unsigned lookups = 0;
    std::optional<std::chrono::nanoseconds> cold;  ///< the first lookup
    histogram warm;                                ///< every lookup after the first
    std::vector<std::string> addresses;            ///< of the last successful lookup, unique
    std::uint64_t failures = 0;
    int gai_error = 0;  ///< getaddrinfo's code of the last failure (0: none)
    std::string error;  ///< gai_strerror of it

    bool operator==(const system_lookup_result&) const = default;
};
void to_json(nlohmann::json& j, const system_lookup_result& r);

/// Calls getaddrinfo(name, AF_UNSPEC, SOCK_STREAM) count times, interval apart.
system_lookup_result time_system_lookups(const std::string& name, unsigned count,
                                         std::chrono::nanoseconds interval) noexcept;

// ---------------------------------------------------------------------------------------------
// Load mode

/// One line of a dnsperf query file: "name type".
struct dns_load_query {
    std::string name;
    std::uint16_t type = 1;
    bool operator==(const dns_load_query&) const = default;
};
/// What a query file may hold: lines of at most 1024 bytes, a million lines, 64 MiB.
inline constexpr line_limits query_file_limits{.max_line_bytes = 1024, .max_lines = 1'000'000,
                                               .max_bytes = 64ULL << 20};
/// Parses dnsperf's format: one "name [type]" per line (type defaults to A), '#' and ';'
/// comments and blank lines skipped. Throws nettool::error (errc::bad_dns_name or
/// errc::bad_argument, usage errors) whose what() names the line, or what line_reader throws.
std::vector<dns_load_query> parse_dns_query_file(line_reader& in);
/// The same over text in memory (named "query file" in messages), with query_file_limits.
std::vector<dns_load_query> parse_dns_query_file(std::string_view text);
/// Opens path ("-": standard input) with query_file_limits and parses it.
std::vector<dns_load_query> read_dns_query_file(const std::string& path);
std::vector<dns_load_query> parse_dns_query_file(std::string_view text, std::error_code& ec) noexcept;

struct dns_load_options {
    std::vector<dns_load_query> queries;  ///< replayed in order, round and round
    std::chrono::nanoseconds duration{std::chrono::seconds{10}};
    unsigned concurrency = 100;  ///< queries outstanding at most
    double rate = 0;             ///< queries per second at most (0: as fast as answered)
    std::chrono::nanoseconds timeout{std::chrono::seconds{2}};  ///< a query is lost after this
    bool edns = true;
    std::uint16_t edns_size = 1232;
    bool recurse = true;
};

struct dns_load_result {
    dns_server server;
    std::uint64_t sent = 0;
    std::uint64_t answered = 0;  ///< well-formed answers to an outstanding query, TC clear
    std::uint64_t lost = 0;  ///< no response within the timeout
    std::uint64_t late = 0;  ///< a response that came after its query was counted lost
    std::uint64_t truncated = 0;    ///< answers with TC set: the server would not fit the answer
                                    ///< in UDP (not counted as answered; no TCP retry in load mode)
    std::uint64_t unreachable = 0;  ///< ICMP unreachable errors the socket reported
    std::uint64_t send_errors = 0;
    std::chrono::nanoseconds elapsed{0};
    double queries_per_second = 0;  ///< answered / elapsed
    histogram latency;
    std::map<std::string, std::uint64_t> rcodes;
    dns_ignored_counts ignored;

    bool operator==(const dns_load_result&) const = default;
};
void to_json(nlohmann::json& j, const dns_load_result& r);

dns_load_result run_dns_load(const dns_server& server, const dns_load_options& options,
                             std::error_code& ec) noexcept;

// ---------------------------------------------------------------------------------------------
// Reports (what `nettool dns` prints; docs/dns.md and docs/JSON.md)

/// One `nettool dns NAME` run: the system resolver and each server, asked the same question.
struct dns_timing_result {
    dns_query_options query;                       ///< name, type, count, transport, timeout asked
    std::optional<system_lookup_result> system{};  ///< when the system resolver was timed
    std::vector<dns_query_result> servers{};       ///< in the order they were asked
    /// The resolv.conf the servers were taken from; empty when they were given (or not wanted).
    std::string resolv_conf{};
    bool operator==(const dns_timing_result&) const = default;
};

/// The lookup-times table (system resolver first, then each server), the records of each
/// server's last response, and readings on failures, timeouts, ignored datagrams and TCP
/// retries. JSON body: mode "timing", name, type, count, system (null when not timed), servers.
report make_report(const dns_timing_result& r);

/// The load table and a reading of the rate and loss. JSON body: mode "load", query_file,
/// queries_in_file, concurrency, rate_limit_qps, load.
report make_report(const dns_load_result& r, const dns_load_options& options, std::string_view query_file);

}  // namespace nettool
NETTOOL_API_END
