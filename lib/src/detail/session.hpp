#pragma once
// Private: opening a session with the responder (connect, hello, reply), shared by the probes.

#include "detail/socket.hpp"

#include <nettool/protocol.hpp>

#include <string>

namespace nettool::detail {

struct session {
    unique_fd fd;
    std::uint64_t cookie = 0;
    std::chrono::nanoseconds connect_time{0};
};

/// Connects to target, sends the hello and reads the reply, all before deadline. On failure
/// ec says why (system errors from connect, errc::timed_out, errc::rejected,
/// errc::version_mismatch, errc::protocol_error) and what describes it in words.
session open_session(const socket_address& target, const proto::hello& hello, mono_clock::time_point deadline,
                     std::error_code& ec, std::string& what);

/// Describes a connect or session error for a result's error field: "connection refused".
std::string describe(const std::error_code& ec);

}  // namespace nettool::detail
