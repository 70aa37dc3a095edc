#pragma once
// iperf3's control protocol, the bytes of it: the state byte, the cookie, the length-prefixed JSON
// messages, the SERVER_ERROR codes, and the results a server sends in its results exchange
// (docs/iperf3.md). Everything here that reads bytes from the peer goes through nettool::cursor
// and refuses what does not fit; nothing here touches a socket.

#include <nettool/core/export.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool::iperf3 {

/// The control connection's states, one signed byte on the wire (iperf_api.h). Both sides send
/// them; the server drives the test with them.
enum class state : std::int8_t {
    test_start = 1,         ///< server: every stream is connected, the test starts
    test_running = 2,       ///< server: send (or receive) now
    result_request = 3,     ///< unused by iperf3 3.x
    test_end = 4,           ///< client: the test's time is up
    stream_begin = 5,       ///< unused on the wire
    stream_running = 6,     ///< unused on the wire
    stream_end = 7,         ///< unused on the wire
    all_streams_end = 8,    ///< unused on the wire
    param_exchange = 9,     ///< server: send the test's parameters
    create_streams = 10,    ///< server: connect the data streams
    server_terminate = 11,  ///< server: it was interrupted (SIGINT, SIGTERM)
    client_terminate = 12,  ///< client: it was interrupted
    exchange_results = 13,  ///< server: send your results, then read mine
    display_results = 14,   ///< server: the results exchange is over
    iperf_start = 15,       ///< local only
    iperf_done = 16,        ///< client: done, closing
    access_denied = -1,     ///< server: busy with another test (sent before reading the cookie)
    server_error = -2,      ///< server: failed; two 4-byte big-endian codes follow (i_errno, errno)
};

/// "PARAM_EXCHANGE", "ACCESS_DENIED", ...; "state N" for a value iperf3 does not define.
std::string state_name(std::int8_t value);
/// The state a byte names, or nothing when iperf3 3.x defines no such state.
std::optional<state> parse_state(std::uint8_t byte) noexcept;

/// The cookie that names a test: 36 characters from [a-z2-7] and a NUL, sent first on the control
/// connection and on every data connection.
inline constexpr std::size_t cookie_size = 37;
/// A fresh random cookie (36 characters and the NUL).
std::string make_cookie();

/// The most JSON nettool reads in one message from a server. The server sends one JSON message,
/// its results: about 160 bytes per stream as iperf3 3.12 writes them (measured: 30,992 bytes
/// for -P 128 --bidir, 256 streams), at most 240 per stream with every counter at 2^64-1 and
/// every double at 17 digits, plus about 300 bytes of totals. 256 streams (iperf3's and nettool's
/// limit of 128 per direction, --bidir) x 240 + 300 fits in 64 KiB with room to spare; nettool
/// never asks for get_server_output, the one field that could be longer.
inline constexpr std::uint32_t max_message = 64 * 1024;

/// What a length-prefixed message (4-byte big-endian length, then that many bytes of JSON) in
/// `data` amounts to: whole (json and consumed set), not yet whole, or refused.
enum class frame_status { ok, truncated, too_long, empty };
struct frame {
    frame_status status = frame_status::truncated;
    std::uint32_t length = 0;         ///< the announced length (0 until 4 bytes arrived)
    std::span<const std::byte> json;  ///< the message when status is ok
    std::size_t consumed = 0;         ///< 4 + length when status is ok
};
frame parse_frame(std::span<const std::byte> data, std::uint32_t cap = max_message) noexcept;

/// The codes after a SERVER_ERROR byte: iperf3's own error number (i_errno) and the server's
/// errno, both 4-byte big-endian. iperf3 3.12 sends errno only when it has one to send.
struct server_error_codes {
    std::int32_t iperf_error = 0;
    std::optional<std::int32_t> sys_errno{};
    bool operator==(const server_error_codes&) const = default;
};
/// Parses 4 or 8 bytes; nothing when fewer than 4.
std::optional<server_error_codes> parse_server_error(std::span<const std::byte> data) noexcept;
/// iperf3's words for an i_errno ("the server is busy running a test", "test authorization
/// failed"), or "iperf3 error N" for a code nettool does not know.
std::string describe_iperf_error(std::int32_t code);
/// iperf_api.h: the server requires authentication (--rsa-private-key-path on the server).
inline constexpr std::int32_t error_auth_failed = 142;
inline constexpr std::int32_t error_access_denied = 121;

/// One stream as a peer reports it in the results exchange.
struct stream_report {
    std::int64_t id = 0;
    std::uint64_t bytes = 0;
    std::optional<std::uint64_t> retransmits{};  ///< absent when the peer did not send on it (-1)
    double jitter_s = 0;
    std::uint64_t errors = 0;
    std::uint64_t packets = 0;
    double start_time_s = 0;
    double end_time_s = 0;
    bool operator==(const stream_report&) const = default;
};

/// A peer's half of the results exchange.
struct peer_results {
    double cpu_util_total = 0;  ///< percent of one CPU over the test
    double cpu_util_user = 0;
    double cpu_util_system = 0;
    bool sender_has_retransmits = false;  ///< the peer sent and could read its retransmits
    std::string congestion_used;          ///< empty when the peer did not say (older iperf3)
    std::vector<stream_report> streams;
    bool operator==(const peer_results&) const = default;
};

/// Parses the results JSON a server sends. Throws nettool::error (errc::malformed) naming the
/// field when the text is not JSON, a field is missing or of the wrong type, a number is not
/// finite or out of its range, or there are more streams than iperf3 allows (256).
peer_results parse_results(std::span<const std::byte> json);
/// The results JSON nettool sends for its own side (cJSON's shape: what 3.12 sends).
std::string results_json(const peer_results& r);

void to_json(nlohmann::json& j, const stream_report& s);
void to_json(nlohmann::json& j, const peer_results& r);

}  // namespace nettool::iperf3
NETTOOL_API_END
