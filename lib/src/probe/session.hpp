#pragma once
// Private: opening a session with the responder (connect, hello, reply), shared by the probes.

#include <nettool/core/export.hpp>
#include "net/socket.hpp"

#include <nettool/probe/protocol.hpp>

#include <string>

// Exported for tests and benchmarks only (see nettool/core/export.hpp); not public API.
NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

struct session {
    unique_fd fd;
    std::uint64_t cookie = 0;
    std::uint16_t flags = 0;  ///< proto::flag_* bits the responder granted
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
NETTOOL_TESTING_API_END
