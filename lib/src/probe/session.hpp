#pragma once
// Private: opening a session with the responder (connect, hello, reply), shared by the probes.

#include <nettool/core/export.hpp>
#include "net/socket.hpp"

#include <nettool/probe/protocol.hpp>

#include <span>
#include <string>

// Exported for tests and benchmarks only (see nettool/core/export.hpp); not public API.
NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

struct session {
    unique_fd fd;
    std::uint64_t cookie = 0;
    std::uint16_t flags = 0;  ///< proto::flag_* bits the responder granted
    std::chrono::nanoseconds connect_time{0};  ///< connect() to usable: the handshake
    mono_clock::time_point connect_started{};  ///< when connect() was called (about)
    socket_address local;                      ///< the client's end, to find it in a capture
};

/// Connects to target, sends the hello and reads the reply, all before deadline. On failure
/// ec says why (system errors from connect, errc::timed_out, errc::rejected,
/// errc::version_mismatch, errc::protocol_error) and what describes it in words.
///
/// With hello_then_request (at least proto::hello_size bytes), the hello is encoded into its
/// first bytes and the whole buffer goes out in one write: the bytes after the hello are the
/// session's first request, which then costs no round trip of its own (the responder reads the
/// hello, answers it, and finds the request already waiting).
session open_session(const socket_address& target, const proto::hello& hello, mono_clock::time_point deadline,
                     std::error_code& ec, std::string& what, std::span<std::byte> hello_then_request = {});

/// Describes a connect or session error for a result's error field: "connection refused".
std::string describe(const std::error_code& ec);

}  // namespace nettool::detail
NETTOOL_TESTING_API_END
