#pragma once
// Where a probe goes: HOST[:PORT] as users type it, and the resolved socket address.

#include <nettool/core/export.hpp>
#include <nettool/core/error.hpp>
#include <nettool/net/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <sys/socket.h>

NETTOOL_API_BEGIN
namespace nettool {

/// A host and port as typed: "example.org", "192.0.2.1:80", "[2001:db8::1]:80", "::1".
struct host_port {
    std::string host;
    std::uint16_t port = 0;
    bool operator==(const host_port&) const = default;
};

/// The one HOST[:PORT] grammar of nettool: IPv6 literals with a port go in brackets; a bare IPv6
/// literal has no port; an IPv6 literal may carry a zone ("fe80::1%eth0"). Throws
/// nettool::error with errc::bad_address or errc::bad_port (usage errors) and a sentence naming
/// the offending text.
host_port parse_host_port(std::string_view text, std::uint16_t default_port);
host_port parse_host_port(std::string_view text, std::uint16_t default_port, std::error_code& ec) noexcept;

/// An IPv4 or IPv6 socket address (value type).
class socket_address {
public:
    socket_address() noexcept = default;
    /// From a numeric address and a port; ec = bad_address when text is not numeric.
    static socket_address from_numeric(std::string_view text, std::uint16_t port,
                                       std::error_code& ec) noexcept;
    static socket_address from_sockaddr(const sockaddr* sa, socklen_t len) noexcept;

    int family() const noexcept { return storage_.ss_family; }
    bool is_v6() const noexcept { return family() == AF_INET6; }
    bool is_loopback() const noexcept;
    std::uint16_t port() const noexcept;
    void set_port(std::uint16_t p) noexcept;
    /// "192.0.2.1:80" or "[2001:db8::1]:80".
    std::string to_string() const;
    /// The address alone: "192.0.2.1", "2001:db8::1".
    std::string address_string() const;
    /// The address alone as a value; nullopt for an empty socket_address.
    std::optional<ip_address> ip() const noexcept;

    const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
    socklen_t size() const noexcept { return len_; }

    friend bool operator==(const socket_address& a, const socket_address& b) noexcept;

private:
    sockaddr_storage storage_{};
    socklen_t len_ = 0;
};

/// Resolves a host name or literal to socket addresses (numeric first; getaddrinfo otherwise).
/// Throws nettool::error with errc::resolve_failed and getaddrinfo's reason when none.
std::vector<socket_address> resolve(const host_port& hp);
std::vector<socket_address> resolve(const host_port& hp, std::error_code& ec) noexcept;

}  // namespace nettool
NETTOOL_API_END
