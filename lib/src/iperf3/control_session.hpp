#pragma once
// Private: the client's side of iperf3's control conversation (docs/iperf3.md), shared by the TCP
// and UDP clients: the connection and cookie, state bytes (ACCESS_DENIED, SERVER_ERROR with its
// codes, SERVER_TERMINATE and undefined states become one nettool::error each), length-prefixed
// JSON both ways, every read and write with a deadline. Also the few helpers both clients need.

#include <nettool/core/clock.hpp>
#include <nettool/iperf3/control.hpp>
#include <nettool/net/endpoint.hpp>

#include "net/socket.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nettool::detail {

class iperf3_control {
public:
    /// Every state byte the server sends is appended to `states` (kept by the caller's result).
    iperf3_control(const socket_address& target, std::chrono::nanoseconds timeout, std::vector<std::int8_t>& states)
        : target_(target), timeout_(timeout), states_(states) {}

    /// Connects and sends the cookie; a busy server's ACCESS_DENIED is read even when writing the
    /// cookie failed.
    void connect(const std::string& cookie);
    int fd() const noexcept { return fd_.get(); }
    std::string who() const { return target_.to_string(); }
    std::chrono::nanoseconds timeout() const noexcept { return timeout_; }

    void write(std::span<const std::byte> data, std::string_view what);
    void send_state(iperf3::state s);
    void send_json(const std::string& json, std::string_view what);
    /// One state byte; ACCESS_DENIED, SERVER_ERROR, SERVER_TERMINATE and a byte iperf3 does not
    /// define throw the run's error.
    iperf3::state read_state(std::string_view waiting_for);
    /// read_state, and a protocol error naming both states when it is not `want`.
    void expect(iperf3::state want);
    /// One length-prefixed message (at most iperf3::max_message bytes), its JSON.
    std::vector<std::byte> read_message(std::string_view what);

    /// The common tail of every test: EXCHANGE_RESULTS, nettool's results out, the server's in,
    /// DISPLAY_RESULTS, IPERF_DONE.
    iperf3::peer_results exchange_results(const iperf3::peer_results& mine);

private:
    static std::string words(const std::error_code& ec);
    void read(std::span<std::byte> out, mono_clock::time_point deadline, const std::string& what);
    [[noreturn]] void server_error();

    socket_address target_;
    std::chrono::nanoseconds timeout_;
    std::vector<std::int8_t>& states_;
    unique_fd fd_;
};

std::span<const std::byte> iperf3_bytes(std::string_view s) noexcept;

/// iperf3 numbers its streams in the order the server accepts them: 1, then 3, 4, 5...
/// (iperf_add_stream counts from 2 and increments before the first assignment after the head).
std::int64_t iperf3_stream_id(unsigned index) noexcept;

/// CPU seconds (user + system) of this process so far.
double process_cpu_seconds() noexcept;

}  // namespace nettool::detail
