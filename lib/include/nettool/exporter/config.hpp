#pragma once
// What `nettool exporter` probes: modules (a prober and its settings) and targets (an address, a
// module and an interval), read from a YAML file (docs/exporter.md). The built-in modules
// tcp_connect, tcp_rr, udp_rr and dns exist without a file; a file may define more or override
// them; tls and trace are built in too. Every value is checked (type, range, known keys, keys
// that belong to another prober) and every error names its line.

#include <nettool/core/export.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool::exporter {

enum class prober { tcp_connect, tcp_rr, udp_rr, dns, tls, trace };
std::string_view prober_name(prober p) noexcept;

/// Hard limits: a config beyond them is refused, so no file lifts a guard.
struct config_caps {
    static constexpr std::size_t max_targets = 10'000;
    static constexpr std::size_t max_modules = 1'000;
    static constexpr std::uint64_t max_count = 1'000;  ///< probes per round
    static constexpr std::uint32_t max_size = 65'000;  ///< request bytes
    static constexpr std::chrono::milliseconds min_interval{100};
    static constexpr std::chrono::milliseconds max_interval{3'600'000};
    static constexpr std::chrono::milliseconds max_timeout{60'000};
    static constexpr std::size_t max_file_bytes = 4 * 1024 * 1024;
    static constexpr std::uint64_t max_tls_count = 100;   ///< tls: handshakes per round
    static constexpr std::uint64_t max_trace_count = 10;  ///< trace: probes per hop
    static constexpr unsigned max_trace_hops = 64;
};

/// tls: which TLS versions a module offers.
enum class tls_versions : std::uint8_t { any, tls1_2, tls1_3 };
/// trace: what the probes are (trace.hpp): UDP needs no privilege, ICMP a ping socket (or root),
/// TCP SYN a raw socket (root or CAP_NET_RAW).
enum class trace_protocols : std::uint8_t { udp, icmp, tcp };

struct module_config {
    std::string name;
    prober kind = prober::tcp_connect;
    std::uint64_t count = 1;  ///< probes (connects, requests, queries) per round
    std::uint32_t size = 64;  ///< tcp_rr and udp_rr request size, bytes
    std::chrono::milliseconds timeout{1'000};  ///< per probe
    std::string query_name = "example.com";    ///< dns: the name asked
    std::uint16_t query_type = 1;              ///< dns: A
    std::string server_name{};                 ///< tls: SNI and the name checked; empty: the target's host
    std::string ca_file{};                     ///< tls: trust these CAs (PEM) instead of the system's
    bool insecure_skip_verify = false;         ///< tls: a certificate that does not verify is not a failure
    tls_versions tls_version = tls_versions::any;
    trace_protocols trace_protocol = trace_protocols::udp;
    unsigned max_hops = 30;                    ///< trace: the highest TTL sent (1..max_trace_hops)
    bool operator==(const module_config&) const = default;
};

struct target_config {
    std::string name;    ///< the "target" label: as written (HOST[:PORT])
    std::string module;  ///< a module's name
    std::chrono::milliseconds interval{1'000};
    bool operator==(const target_config&) const = default;
};

struct config {
    std::map<std::string, module_config> modules;  ///< built-ins first, then the file's
    std::vector<target_config> targets;
    bool operator==(const config&) const = default;
};

/// tcp_connect (1 connect), tcp_rr (10 requests of 64 bytes), udp_rr (10 datagrams of 64 bytes),
/// dns (1 query for example.com A), tls (1 handshake, verified), trace (UDP, 1 probe per hop up
/// to 30 hops), each with a 1 s timeout per probe.
std::map<std::string, module_config> builtin_modules();

/// Parses a config file's text. Throws nettool::error (errc::bad_argument, or too_large) whose
/// sentence begins "line N:" for anything it refuses.
config parse_config(std::string_view yaml);
/// Reads and parses a file; errors also name the file.
config read_config(const std::string& path);

}  // namespace nettool::exporter
NETTOOL_API_END
