#pragma once
// nettool's own wire protocol between probes and the responder (docs/PROTOCOL.md).
//
// TCP: the client opens with a 16-byte hello naming the mode; the responder answers with a
// 16-byte reply carrying a status and, for UDP sessions, a cookie. UDP test datagrams start with
// a 32-byte header (magic, version, kind, interval, cookie, sequence number, sender timestamp). Every
// field is big-endian. Decoding goes through nettool::cursor; a short buffer decodes to nullopt.

#include <nettool/core/export.hpp>
#include <nettool/core/cursor.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

NETTOOL_API_BEGIN
namespace nettool::proto {

inline constexpr std::uint16_t default_port = 51423;
inline constexpr std::uint8_t version = 1;

inline constexpr std::uint32_t hello_magic = 0x4E544C31;           // "NTL1"
inline constexpr std::uint32_t udp_magic = 0x4E545531;             // "NTU1"
inline constexpr std::uint32_t report_request_magic = 0x4E545251;  // "NTRQ"
inline constexpr std::uint32_t udp_report_magic = 0x4E545250;      // "NTRP"
inline constexpr std::uint32_t sink_report_magic = 0x4E54534B;     // "NTSK"
inline constexpr std::uint32_t interval_request_magic = 0x4E545249;  // "NTRI"
inline constexpr std::uint32_t interval_report_magic = 0x4E544952;   // "NTIR"

inline constexpr std::size_t hello_size = 16;
inline constexpr std::size_t hello_reply_size = 16;
inline constexpr std::size_t udp_header_size = 32;
inline constexpr std::size_t report_request_size = 4;
inline constexpr std::size_t udp_report_size = 72;
inline constexpr std::size_t udp_report_extended_size = 80;  ///< with receiver_drops
inline constexpr std::size_t sink_report_size = 12;
inline constexpr std::size_t interval_report_header_size = 8;  ///< magic, count
inline constexpr std::size_t interval_counts_size = 12;        ///< one interval's three u32
/// Intervals a udp-sink session counts apart (granted flag_interval_counts): a stream's first
/// 512 intervals of 1 s. Datagrams of later intervals are in the session's totals only.
inline constexpr std::size_t max_report_intervals = 512;
inline constexpr std::size_t max_interval_report_size =
    interval_report_header_size + max_report_intervals * interval_counts_size;

// Limits the responder enforces (and probes check before sending).
inline constexpr std::uint32_t max_tcp_message = 1u << 20;   // echo message, bytes
inline constexpr std::uint32_t min_udp_datagram = 32;        // the test header, udp_header_size
inline constexpr std::uint32_t max_udp_datagram = 65507;     // IPv4 UDP payload maximum
inline constexpr std::uint32_t max_duration_ms = 3'600'000;  // one hour

enum class mode : std::uint8_t {
    echo = 1,          ///< TCP request/response: the responder returns each message
    sink = 2,          ///< TCP upload: the responder reads and counts, reports total on half-close
    source = 3,        ///< TCP download: the responder sends for duration_ms, then closes
    connect_only = 4,  ///< setup cost: the responder replies and closes
    udp_echo = 5,      ///< UDP request/response session controlled by this connection
    udp_sink = 6,      ///< UDP stream session: the responder counts, reports on request
};

enum class status : std::uint8_t {
    ok = 0,
    bad_version = 1,  ///< hello version is not ours
    bad_mode = 2,     ///< unknown mode
    busy = 3,         ///< session limit reached; try later
    bad_param = 4,    ///< message size or duration out of range
};

/// Bits of the hello's and the reply's flags (the two bytes at offset 6, zero in older peers).
/// The client sets the bits it wants; the responder answers with the ones it grants.
inline constexpr std::uint16_t flag_receiver_drops = 0x0001;  ///< udp-sink: reports carry receiver_drops
/// udp-sink: the responder counts the datagrams of each of the sender's intervals (the header's
/// interval field) apart and answers an interval request ("NTRI").
inline constexpr std::uint16_t flag_interval_counts = 0x0002;
/// Bit of the UDP report's flags (offset 4): receiver_drops follows the 72 bytes.
inline constexpr std::uint32_t report_flag_receiver_drops = 0x0001;

enum class udp_kind : std::uint8_t { echo_request = 1, echo_reply = 2, stream = 3 };

struct hello {
    mode m = mode::echo;
    std::uint32_t message_size = 0;  ///< echo message size (echo, udp_echo), bytes
    std::uint32_t duration_ms = 0;   ///< source duration (source)
    std::uint16_t flags = 0;         ///< flag_* bits the client asks for
    bool operator==(const hello&) const = default;
};

struct hello_reply {
    status st = status::ok;
    std::uint64_t cookie = 0;  ///< UDP session cookie (udp_echo, udp_sink), 0 otherwise
    std::uint16_t flags = 0;   ///< flag_* bits the responder grants
    bool operator==(const hello_reply&) const = default;
};

struct udp_header {
    udp_kind kind = udp_kind::echo_request;
    std::uint64_t cookie = 0;
    std::uint64_t seq = 0;
    std::uint64_t send_ns = 0;  ///< sender's monotonic clock
    /// stream: the sender's interval the datagram was sent in (0, 1, ...); 0 in other kinds. An
    /// echo reply carries the request's.
    std::uint16_t interval = 0;
    bool operator==(const udp_header&) const = default;
};

/// What the responder counted for one UDP stream session.
struct udp_report {
    std::uint64_t received = 0;          ///< datagrams with a valid cookie, duplicates included
    std::uint64_t duplicates = 0;        ///< datagrams whose sequence number was already seen
    std::uint64_t out_of_order = 0;      ///< datagrams older than the newest seen
    std::uint64_t max_displacement = 0;  ///< largest newest-seq minus seq of a late datagram
    std::uint64_t highest_seq = 0;       ///< largest sequence number seen, plus one
    std::uint64_t bytes = 0;             ///< UDP payload bytes received
    std::uint64_t jitter_ns = 0;         ///< RFC 3550 interarrival jitter
    std::uint64_t active_ns = 0;         ///< first to last arrival
    /// Datagrams the responder's socket dropped since the session opened (its receive buffer
    /// overflowed); only in the extended report, granted by flag_receiver_drops.
    std::optional<std::uint64_t> receiver_drops{};
    bool operator==(const udp_report&) const = default;
};

/// What a udp-sink session counted of one sender interval's datagrams (flag_interval_counts):
/// the report's received, duplicates and out_of_order, for the datagrams whose header named
/// that interval. Each count stops at 2^32 - 1.
struct udp_interval_counts {
    std::uint32_t received = 0;
    std::uint32_t duplicates = 0;
    std::uint32_t out_of_order = 0;
    bool operator==(const udp_interval_counts&) const = default;
};

// Encoders write into out and return the bytes written (0 if out is too small). A udp_report
// with receiver_drops encodes to the extended size.
std::size_t encode(const hello& h, std::span<std::byte> out) noexcept;
std::size_t encode(const hello_reply& r, std::span<std::byte> out) noexcept;
std::size_t encode(const udp_header& h, std::span<std::byte> out) noexcept;
std::size_t encode(const udp_report& r, std::span<std::byte> out) noexcept;
std::size_t encode_sink_report(std::uint64_t bytes, std::span<std::byte> out) noexcept;
std::size_t encode_report_request(std::span<std::byte> out) noexcept;
std::size_t encode_interval_request(std::span<std::byte> out) noexcept;
/// "NTIR", the number of intervals (at most max_report_intervals), then each interval's counts.
std::size_t encode_interval_report(std::span<const udp_interval_counts> counts, std::span<std::byte> out) noexcept;

/// Whether a hello's parameters are in the documented ranges for its mode: echo message_size
/// 1..max_tcp_message, udp-echo message_size min_udp_datagram..max_udp_datagram, source
/// duration_ms 1..max_duration_ms; the other modes take none. The responder answers bad_param
/// otherwise.
bool params_in_range(const hello& h) noexcept;

/// Decoding result: the value, or why not.
enum class decode_status { ok, truncated, bad_magic, bad_version, bad_value };

template <typename T>
struct decoded {
    decode_status status = decode_status::truncated;
    T value{};
    explicit operator bool() const noexcept { return status == decode_status::ok; }
};

/// A hello with an unknown mode decodes as bad_value; with another version as bad_version
/// (value still holds what was read so the responder can answer in kind).
decoded<hello> decode_hello(std::span<const std::byte> in) noexcept;
decoded<hello_reply> decode_hello_reply(std::span<const std::byte> in) noexcept;
decoded<udp_header> decode_udp_header(std::span<const std::byte> in) noexcept;
decoded<udp_report> decode_udp_report(std::span<const std::byte> in) noexcept;
decoded<std::uint64_t> decode_sink_report(std::span<const std::byte> in) noexcept;
bool is_report_request(std::span<const std::byte> in) noexcept;
bool is_interval_request(std::span<const std::byte> in) noexcept;
/// The interval report's first 8 bytes: how many intervals follow (bad_value above
/// max_report_intervals), so a reader knows how much more to read.
decoded<std::uint32_t> decode_interval_report_count(std::span<const std::byte> in) noexcept;
/// A whole interval report into `out` (which must hold max_report_intervals); the value is the
/// number of intervals. bad_value when a count is inconsistent (duplicates plus out_of_order
/// above received) or there are more than max_report_intervals.
decoded<std::size_t> decode_interval_report(std::span<const std::byte> in,
                                            std::span<udp_interval_counts> out) noexcept;

const char* to_string(mode m) noexcept;
const char* to_string(status s) noexcept;

}  // namespace nettool::proto
NETTOOL_API_END
