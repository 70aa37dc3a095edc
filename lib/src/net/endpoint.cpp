#include <nettool/net/endpoint.hpp>
#include <nettool/core/error.hpp>

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>

namespace nettool {

namespace {

bool valid_hostname(std::string_view h) {
    if (h.empty() || h.size() > 253) return false;
    return std::all_of(h.begin(), h.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.' || c == '_';
    });
}

bool parse_port(std::string_view s, std::uint16_t& port) {
    unsigned v = 0;
    const auto [p, e] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (e != std::errc{} || p != s.data() + s.size() || v == 0 || v > 65535) return false;
    port = static_cast<std::uint16_t>(v);
    return true;
}

// An IPv6 literal, optionally with a zone index ("fe80::1%eth0", as resolv.conf may hold).
bool is_ipv6_literal(std::string_view s) {
    in6_addr a{};
    const auto zone = s.find('%');
    if (zone != std::string_view::npos && (zone + 1 == s.size() || zone == 0)) return false;
    const std::string z{s.substr(0, zone)};
    return ::inet_pton(AF_INET6, z.c_str(), &a) == 1;
}

}  // namespace

host_port parse_host_port(std::string_view text, std::uint16_t default_port) {
    host_port hp{{}, default_port};
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
        throw error(errc::bad_address, fmt::format("'{}': no closing ']' after the IPv6 address", text));
    }
        hp.host = std::string{text.substr(1, close - 1)};
        if (!is_ipv6_literal(hp.host)) {
        throw error(errc::bad_address, fmt::format("'{}': '{}' in brackets is not an IPv6 address", text, hp.host));
    }
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':' || !parse_port(rest.substr(1), hp.port)) {
        throw error(errc::bad_port, fmt::format("'{}': the port after ']' must be ':' and a number 1..65535", text));
    }
        }
        return hp;
    }
    if (std::count(text.begin(), text.end(), ':') > 1) {  // bare IPv6 literal, no port
        if (!is_ipv6_literal(text)) {
        throw error(errc::bad_address, fmt::format("'{}' is not an IPv6 address (write [ADDR]:PORT to give a port)", text));
    }
        hp.host = std::string{text};
        return hp;
    }
    const auto colon = text.find(':');
    const auto host = text.substr(0, colon);
    if (colon != std::string_view::npos && !parse_port(text.substr(colon + 1), hp.port)) {
        throw error(errc::bad_port, fmt::format("'{}': port '{}' is not a number 1..65535", text, text.substr(colon + 1)));
    }
    if (!valid_hostname(host)) {
        throw error(errc::bad_address, fmt::format("'{}' is not a host name or address", host));
    }
    // Digits and dots only is an IPv4 address or a mistake, never a name to look up (no top-level
    // domain is all digits): "256.1.1.1" is a usage error, not a name that did not resolve.
    if (std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
        in_addr a{};
        const std::string h{host};
        if (::inet_pton(AF_INET, h.c_str(), &a) != 1) {
            throw error(errc::bad_address,
                        fmt::format("'{}' is not an IPv4 address: give four numbers 0 to 255, like 192.0.2.1", host));
        }
    }
    hp.host = std::string{host};
    return hp;
}

host_port parse_host_port(std::string_view text, std::uint16_t default_port, std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return parse_host_port(text, default_port); });
}

socket_address socket_address::from_numeric(std::string_view text, std::uint16_t port,
                                            std::error_code& ec) noexcept {
    ec.clear();
    socket_address a;
    char buf[INET6_ADDRSTRLEN + 1] = {};
    if (text.size() >= sizeof buf) {
        ec = make_error_code(errc::bad_address);
        return a;
    }
    std::memcpy(buf, text.data(), text.size());
    sockaddr_in v4{};
    sockaddr_in6 v6{};
    if (::inet_pton(AF_INET, buf, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons(port);
        return from_sockaddr(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
    }
    if (::inet_pton(AF_INET6, buf, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(port);
        return from_sockaddr(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
    }
    ec = make_error_code(errc::bad_address);
    return a;
}

socket_address socket_address::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
    socket_address a;
    if (sa == nullptr || len > static_cast<socklen_t>(sizeof a.storage_)) return a;
    std::memcpy(&a.storage_, sa, static_cast<std::size_t>(len));
    a.len_ = len;
    return a;
}

bool socket_address::is_loopback() const noexcept {
    if (family() == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&storage_);
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    }
    if (family() == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
        return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
    }
    return false;
}

std::uint16_t socket_address::port() const noexcept {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    return 0;
}

void socket_address::set_port(std::uint16_t p) noexcept {
    if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(p);
    if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(p);
}

std::string socket_address::address_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
    else if (family() == AF_INET6)
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
    else
        return "-";
    return buf;
}

std::optional<ip_address> socket_address::ip() const noexcept {
    ip_address a;
    if (family() == AF_INET) {
        std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, 4);
        return a;
    }
    if (family() == AF_INET6) {
        a.family = ip_family::v6;
        std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, 16);
        return a;
    }
    return std::nullopt;
}

std::string socket_address::to_string() const {
    if (is_v6()) return fmt::format("[{}]:{}", address_string(), port());
    return fmt::format("{}:{}", address_string(), port());
}

bool operator==(const socket_address& a, const socket_address& b) noexcept {
    return a.len_ == b.len_ && a.family() == b.family() && a.port() == b.port() &&
           a.address_string() == b.address_string();
}

std::vector<socket_address> resolve(const host_port& hp) {
    std::error_code numeric_ec;
    auto a = socket_address::from_numeric(hp.host, hp.port, numeric_ec);
    if (!numeric_ec) return {a};
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(hp.port);
    const int rc = ::getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr) {
        throw error(errc::resolve_failed,
                    fmt::format("'{}' did not resolve to an address ({})", hp.host,
                                rc != 0 ? ::gai_strerror(rc) : "no addresses"));
    }
    // Owns res from here, so a failed allocation below does not leak it.
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard{res, ::freeaddrinfo};
    std::vector<socket_address> out;
    for (auto* p = res; p != nullptr; p = p->ai_next) {
        auto sa = socket_address::from_sockaddr(p->ai_addr, p->ai_addrlen);
        if (std::find(out.begin(), out.end(), sa) == out.end()) out.push_back(sa);
    }
    return out;
}

std::vector<socket_address> resolve(const host_port& hp, std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return resolve(hp); });
}

}  // namespace nettool
