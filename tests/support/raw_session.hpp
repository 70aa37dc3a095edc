#pragma once
// nettool's protocol spoken by hand (test helper): a TCP connection from a chosen loopback source
// address, a hello, the reply -- for tests that must know every byte a responder saw
// (the attack tests, serve --metrics' exact counters).

#include <nettool/probe/protocol.hpp>

#include "net/socket.hpp"

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace nettool::test {

/// A TCP connection from source (an address of 127/8) to to:port, with 2 s send and receive
/// timeouts and TCP_NODELAY; empty when it could not connect.
inline detail::unique_fd tcp_from(const std::string& source, std::uint16_t port, const std::string& to = "127.0.0.1") {
    detail::unique_fd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &a.sin_addr);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return {};
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, to.c_str(), &a.sin_addr);
    const timeval tv{2, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return {};
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

inline bool send_all(int fd, std::span<const std::byte> data) {
    while (!data.empty()) {
        const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return true;
}

/// Reads exactly out.size() bytes (false on end of stream, error or the receive timeout).
inline bool recv_all(int fd, std::span<std::byte> out) {
    while (!out.empty()) {
        const auto n = ::recv(fd, out.data(), out.size(), 0);
        if (n <= 0) return false;
        out = out.subspan(static_cast<std::size_t>(n));
    }
    return true;
}

inline std::array<std::byte, proto::hello_size> hello_bytes(proto::mode m, std::uint32_t size,
                                                            std::uint32_t duration_ms = 0) {
    std::array<std::byte, proto::hello_size> out{};
    proto::encode(proto::hello{m, size, duration_ms}, out);
    return out;
}

/// A session opened from source: the connection and the responder's answer (nullopt when it
/// did not answer a hello at all).
struct opened {
    detail::unique_fd fd;
    std::optional<proto::hello_reply> reply;
    bool ok() const { return reply && reply->st == proto::status::ok; }
    bool busy() const { return reply && reply->st == proto::status::busy; }
};

inline opened open_from(const std::string& source, std::uint16_t port, proto::mode m, std::uint32_t size,
                        std::uint32_t duration_ms = 0, const std::string& to = "127.0.0.1") {
    opened o;
    o.fd = tcp_from(source, port, to);
    if (!o.fd) return o;
    if (!send_all(o.fd.get(), hello_bytes(m, size, duration_ms))) return o;
    std::array<std::byte, proto::hello_reply_size> in{};
    if (!recv_all(o.fd.get(), in)) return o;
    if (const auto d = proto::decode_hello_reply(in)) o.reply = d.value;
    return o;
}

}  // namespace nettool::test
