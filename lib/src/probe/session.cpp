#include "probe/session.hpp"

#include <nettool/core/error.hpp>

#include <fmt/format.h>

#include <array>
#include <netinet/in.h>
#include <netinet/tcp.h>

namespace nettool::detail {

session open_session(const socket_address& target, const proto::hello& hello, mono_clock::time_point deadline,
                     std::error_code& ec, std::string& what, std::span<std::byte> hello_then_request) {
    session s;
    std::array<std::byte, proto::hello_size> hello_only{};
    const auto out = hello_then_request.size() >= proto::hello_size ? hello_then_request : std::span{hello_only};
    proto::encode(hello, out);
    s.fd = tcp_connect(target, deadline, ec, &s.connect_time);
    if (ec) {
        what = fmt::format("connect to {}: {}", target.to_string(), describe(ec));
        return {};
    }
    s.connect_started = mono_clock::now() - s.connect_time;
    set_int_option(s.fd.get(), IPPROTO_TCP, TCP_NODELAY, 1);
    if (!write_all(s.fd.get(), out, deadline, ec)) {
        what = fmt::format("sending hello to {}: {}", target.to_string(), describe(ec));
        return {};
    }
    std::array<std::byte, proto::hello_reply_size> in{};
    if (!read_exact(s.fd.get(), in, deadline, ec)) {
        what =
            fmt::format("waiting for the responder's reply from {}: {} (is 'nettool serve' running there?)",
                        target.to_string(), describe(ec));
        return {};
    }
    const auto reply = proto::decode_hello_reply(in);
    if (reply.status == proto::decode_status::bad_version) {
        ec = make_error_code(errc::version_mismatch);
        what = fmt::format("{} speaks another nettool protocol version", target.to_string());
        return {};
    }
    if (!reply) {
        ec = make_error_code(errc::protocol_error);
        what = fmt::format("{} is not a nettool responder (bad reply to hello)", target.to_string());
        return {};
    }
    if (reply.value.st != proto::status::ok) {
        ec = make_error_code(errc::rejected);
        what = fmt::format("responder {} rejected the session: {}", target.to_string(),
                           proto::to_string(reply.value.st));
        return {};
    }
    s.cookie = reply.value.cookie;
    s.flags = reply.value.flags;
    s.local = local_address(s.fd.get());
    return s;
}

std::string describe(const std::error_code& ec) {
    // Only the client side calls this, so the peer is the server.
    if (ec == std::errc::connection_aborted) return "connection closed by the server";
    if (ec == std::errc::connection_reset) return "connection reset by the server";
    return ec.message();
}

}  // namespace nettool::detail
