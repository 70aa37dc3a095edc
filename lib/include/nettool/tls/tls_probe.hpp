#pragma once
// What a TLS handshake costs and what the server proved (issue 13): the timeline of one
// connection as curl's -w gives it (name lookup, TCP connect, TLS handshake, first byte, total),
// the handshake in round trips (the kernel's TCP RTT of the same connection, and the flights the
// protocol needed), what was negotiated, the certificate chain and the verification result in
// words; over --count handshakes a latency distribution, and side by side the full and resumed
// handshakes of TLS 1.2 and 1.3. OpenSSL 3 does the TLS; nettool moves the bytes (memory BIOs
// over its own socket), so it sees every flight and when it arrived.
//
// A failed handshake, a timeout or a certificate that does not verify is a measured outcome in
// the result (outcome, error), not an exception; tls_probe throws only for what stops it from
// starting: a CA file that cannot be read, an option out of range, libssl missing.

#include <nettool/core/export.hpp>
#include <nettool/core/histogram.hpp>
#include <nettool/core/report.hpp>
#include <nettool/net/endpoint.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

enum class tls_version : std::uint8_t { any, tls1_2, tls1_3 };

struct tls_options {
    /// Server name sent in the ClientHello and checked against the certificate. Empty: the host
    /// as given when it is a name; none for an address literal (RFC 6066), whose IP SAN is checked.
    std::string sni{};
    std::string ca_file{};  ///< trust these CAs (PEM) instead of the system's store
    bool insecure = false;  ///< a certificate that does not verify is reported, not a failure
    tls_version version = tls_version::any;
    std::vector<std::string> alpn{};  ///< protocols to offer, in order ("h2", "http/1.1")
    std::string http_path{};        ///< non-empty: GET it after the handshake, time first byte and total
    std::uint64_t count = 1;        ///< timed handshakes (1 to 100000)
    bool resume = false;            ///< handshakes after the first resume the previous session
    std::chrono::nanoseconds timeout{std::chrono::seconds{5}};  ///< per connection, for each phase
    /// One untimed handshake first, so the timed ones pay for the protocol and not for loading
    /// libssl, reading the CA file or the first run of this process's code.
    bool warm_up = true;
    /// Called about once a second during a long run, between connections (never inside a timed
    /// phase) with the handshakes completed so far and the time since the first timed connect.
    std::function<void(std::uint64_t completed, std::chrono::nanoseconds elapsed)> progress{};
};

/// How a connection ended. Everything but ok is a measured failure (exit 1).
enum class tls_outcome : std::uint8_t {
    ok,                ///< handshake done and certificate verified (or verification not required)
    verify_failed,     ///< handshake done, but the certificate did not verify
    timeout,           ///< the server did not answer in time (no ServerHello, or stalled)
    not_tls,           ///< the server's bytes are not TLS records (plain text, garbage)
    connect_failed,    ///< the TCP connection did not open (refused, unreachable, timed out)
    handshake_failed,  ///< the server refused the handshake (an alert) or closed it
};
const char* to_string(tls_outcome o) noexcept;

/// One certificate of the chain the server sent, leaf first.
struct tls_certificate {
    std::string subject;  ///< RFC 2253: "CN=localhost,O=nettool test"
    std::string issuer;
    std::vector<std::string> sans;  ///< "DNS:localhost", "IP:127.0.0.1"
    std::string not_before;         ///< ISO 8601 UTC: "2026-12-02T06:00:00Z"
    std::string not_after;
    std::int64_t not_after_unix = 0;  ///< not_after in seconds since 1970 (UTC); 0 when unreadable
    std::int64_t days_left = 0;  ///< whole days from now to not_after; negative once expired
    std::string key_type;        ///< "EC", "RSA", "ED25519"...
    int key_bits = 0;
    std::string signature_algorithm;  ///< "ecdsa-with-SHA256"
    bool self_signed = false;         ///< issued by its own key
    bool operator==(const tls_certificate&) const = default;
};

/// What the certificate check found: every problem OpenSSL reported, in words.
struct tls_verification {
    bool checked = false;  ///< a handshake completed, so there was a chain to check
    bool ok = false;
    /// "expired", "not yet valid", "name mismatch", "self-signed", "unknown issuer",
    /// "chain too long", or OpenSSL's own text for anything else; each once.
    std::vector<std::string> reasons;
    std::vector<std::string> details;  ///< one sentence per reason, naming the certificate
    std::string name;                  ///< the name (or address) the leaf was checked against
    bool operator==(const tls_verification&) const = default;
};

/// One connection, phase by phase (durations, not curl's cumulative times).
struct tls_timeline {
    std::chrono::nanoseconds name_lookup{0};  ///< resolving the host (once per run)
    std::chrono::nanoseconds connect{0};      ///< TCP: connect() to established
    std::chrono::nanoseconds handshake{0};    ///< TLS: first ClientHello byte prepared to Finished sent
    std::chrono::nanoseconds first_byte{0};   ///< --http: request sent to first response byte
    std::chrono::nanoseconds total{0};        ///< --http: request sent to the response's end
    bool operator==(const tls_timeline&) const = default;
};

/// What one handshake negotiated and how many times it waited on the network.
struct tls_handshake {
    std::string version;  ///< "TLSv1.3"
    std::string cipher;   ///< "TLS_AES_256_GCM_SHA384"
    std::string group;    ///< key exchange group: "x25519"; empty when there was none (RSA key transport)
    std::string alpn;     ///< the protocol the server chose, empty when none
    bool resumed = false;
    /// Times the client sent a flight and waited for the server's: the protocol's round trips
    /// (TLS 1.3 full 1, TLS 1.2 full 2, resumed 1).
    unsigned flights = 0;
    std::uint32_t tcp_rtt_us = 0;  ///< the kernel's RTT of this connection after the TCP handshake (TCP_INFO)
    std::uint64_t client_bytes = 0;  ///< TLS bytes each way during the handshake
    std::uint64_t server_bytes = 0;
    /// Handshake bytes each side had sent when each of its flights ended (cumulative), to find
    /// the flights in a capture.
    std::vector<std::uint64_t> client_flight_ends;
    std::vector<std::uint64_t> server_flight_ends;
    bool operator==(const tls_handshake&) const = default;
};

struct tls_result {
    std::string host;  ///< as given
    socket_address target;
    socket_address local;  ///< the client end of the first timed connection, to find it in a capture
    std::string sni;       ///< sent in the ClientHello; empty when none
    tls_outcome outcome = tls_outcome::ok;
    std::string error;  ///< why the run failed, empty when it did not
    bool warmed_up = false;
    tls_timeline timeline;      ///< the first timed connection
    tls_handshake first;        ///< the first timed connection
    std::vector<tls_certificate> chain;
    tls_verification verification;
    int http_status = 0;           ///< --http: the response's status code
    std::uint64_t http_bytes = 0;  ///< --http: response bytes after decryption, headers included
    std::uint64_t attempts = 0;
    std::uint64_t completed = 0;
    std::uint64_t resumed = 0;  ///< completed handshakes that resumed a session
    histogram connect_time;     ///< ns, over the timed connections
    histogram handshake_time;   ///< ns, over the completed handshakes
    histogram round_trips;      ///< handshake / TCP RTT of each completed handshake, in thousandths
    std::chrono::nanoseconds elapsed{0};  ///< the timed connections, first connect to last close
    double handshakes_per_second() const noexcept;
    /// Handshake time over the TCP RTT of the same connection; 0 when the kernel gave no RTT.
    double measured_round_trips() const noexcept;
    bool operator==(const tls_result&) const = default;
};

/// The probe. Resolves host (timed), opens count connections one after another (after one
/// untimed warm-up), each doing the TCP and TLS handshakes and, with http_path, one GET.
/// Stops at the first connection that fails. Throws nettool::error for a CA file that cannot be
/// loaded (a usage error), a name that does not resolve, or libssl missing.
tls_result tls_probe(const host_port& target, const tls_options& opt);

/// --compare: the same server, full TLS 1.2, full TLS 1.3, and each resumed, side by side.
struct tls_compare_row {
    std::string name;  ///< "TLS 1.3 full", "TLS 1.2 resumed"
    tls_version version = tls_version::any;
    bool resume = false;
    std::string negotiated{};  ///< the version the server agreed to
    std::uint64_t completed = 0;
    std::uint64_t resumed = 0;
    histogram handshake_time{};
    histogram round_trips{};  ///< handshake / TCP RTT, in thousandths (1000 = one round trip)
    unsigned flights = 0;   ///< of the first timed handshake
    std::string error{};    ///< why this variant failed (the server refused the version...)
    bool operator==(const tls_compare_row&) const = default;
};

struct tls_compare_result {
    tls_result baseline;  ///< the run as asked (timeline, chain, verification)
    std::vector<tls_compare_row> rows;
    bool operator==(const tls_compare_result&) const = default;
};

/// Runs tls_probe as asked, then each variant with opt.count handshakes (options' version and
/// resume replaced, no HTTP).
tls_compare_result tls_compare(const host_port& target, const tls_options& opt);

/// --capture: the first timed connection read back from a capture of the run. The flights are
/// found where each side's handshake bytes ended (tls_handshake's *_flight_ends), so the capture
/// shows whether they alternated on the wire as the client saw them, and when.
struct tls_wire_view {
    bool found = false;  ///< the connection is in the capture
    socket_address client;
    socket_address server;
    std::vector<std::string> events;  ///< "SYN", "client flight 1 (ClientHello)", "server flight 1"...
    std::vector<std::chrono::nanoseconds> times;  ///< each event's time from the SYN, when seen
    std::vector<bool> seen;
    std::chrono::nanoseconds tcp_handshake{0};  ///< SYN to the client's ACK
    std::chrono::nanoseconds tls_handshake{0};  ///< the ClientHello to the handshake's last byte
    unsigned flights = 0;  ///< client flights answered by a server flight, in order on the wire
    std::chrono::nanoseconds app_tcp_handshake{0};
    std::chrono::nanoseconds app_tls_handshake{0};
    unsigned app_flights = 0;
    bool operator==(const tls_wire_view&) const = default;
};
/// Throws nettool::error as capture_file::open.
tls_wire_view tls_on_wire(const std::string& capture, const tls_result& r);
void to_json(nlohmann::json& j, const tls_wire_view& w);
/// The wire's timeline beside the application's, under "on_wire" in JSON, and a reading.
void add_tls_on_wire(report& rep, const tls_wire_view& w);

void to_json(nlohmann::json& j, const tls_certificate& c);
void to_json(nlohmann::json& j, const tls_verification& v);
void to_json(nlohmann::json& j, const tls_result& r);
void to_json(nlohmann::json& j, const tls_compare_row& r);

// What `nettool tls` prints (docs/JSON.md, `tls`).
/// The timeline, what was negotiated, the chain, the verification, the handshake distribution
/// over count handshakes, and readings of the round trips.
report make_report(const tls_result& r, const tls_options& opt);
/// The above plus the comparison table and its reading.
report make_report(const tls_compare_result& r, const tls_options& opt);

}  // namespace nettool
NETTOOL_API_END
