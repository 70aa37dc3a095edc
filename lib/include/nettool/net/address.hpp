#pragma once
// IPv4 and IPv6 addresses and prefixes: parse, print, and the arithmetic ipcalc shows (network,
// netmask, wildcard, broadcast, first and last host, host count). Depends on the standard
// library, fmt and nlohmann only.
//
// RFC 3021: an IPv4 /31 has two usable hosts and no broadcast address; a /32 is one host.
// IPv6 has no broadcast: every address of a prefix is usable.

#include <nettool/core/export.hpp>
#include <nettool/core/error.hpp>
#include <fmt/format.h>
#include <nlohmann/json_fwd.hpp>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

NETTOOL_API_BEGIN
namespace nettool {

enum class ip_family : std::uint8_t { v4 = 4, v6 = 6 };

/// An IPv4 or IPv6 address in network byte order. IPv4 uses the first 4 bytes; the rest are 0.
struct ip_address {
    ip_family family = ip_family::v4;
    std::array<std::uint8_t, 16> bytes{};

    /// Parses dotted quad or RFC 4291 text (no zone index); nullopt when it is neither.
    static std::optional<ip_address> parse(std::string_view text) noexcept;
    /// Host-order 32-bit value to an IPv4 address.
    static ip_address v4(std::uint32_t host_order) noexcept;

    /// Host-order value of an IPv4 address (0 for IPv6).
    std::uint32_t to_v4() const noexcept;
    /// 32 or 128.
    int bit_width() const noexcept { return family == ip_family::v4 ? 32 : 128; }
    /// Bit i counted from the most significant (i = 0) of the address.
    bool bit(int i) const noexcept {
        return ((bytes[static_cast<std::size_t>(i / 8)] >> (7 - i % 8)) & 1U) != 0;
    }
    bool is_v4() const noexcept { return family == ip_family::v4; }
    /// 127.0.0.0/8 or ::1.
    bool is_loopback() const noexcept;

    /// "192.0.2.1" or RFC 5952 text "2001:db8::1".
    std::string to_string() const;
    /// The address in binary: octets separated by '.' (IPv4) or 16-bit groups by ':' (IPv6).
    std::string to_binary() const;

    auto operator<=>(const ip_address&) const = default;
    bool operator==(const ip_address&) const = default;
};
void to_json(nlohmann::json& j, const ip_address& a);

/// The netmask for a prefix length of a family (255.255.255.0 for v4/24).
ip_address netmask_for(ip_family f, int prefix_length) noexcept;

/// An address with a prefix length, as written "192.0.2.77/24". The address is kept as given
/// (it may have host bits set); network() clears them.
struct ip_prefix {
    ip_address address;
    int length = 0;

    /// "ADDR/LEN" or "ADDR/DOTTED.MASK" (IPv4 only). Throws nettool::error (bad_address,
    /// bad_prefix or non_contiguous_mask: usage errors) with a sentence naming the offending text.
    static ip_prefix parse(std::string_view text);
    static ip_prefix parse(std::string_view text, std::error_code& ec) noexcept;

    ip_address network() const noexcept;
    ip_address netmask() const noexcept { return netmask_for(address.family, length); }
    /// Inverse of the netmask (Cisco ACL style): 0.0.0.255 for /24.
    ip_address wildcard() const noexcept;
    /// Directed broadcast; nullopt for IPv6 and for IPv4 /31 and /32 (RFC 3021).
    std::optional<ip_address> broadcast() const noexcept;
    /// Usable host range: network+1 .. broadcast-1 for IPv4 up to /30; the whole range for /31
    /// (RFC 3021), /32 and IPv6.
    ip_address first_host() const noexcept;
    ip_address last_host() const noexcept;
    /// Usable hosts, as a decimal string (IPv6 counts exceed 64 bits).
    std::string host_count() const;
    /// Usable hosts when the count fits 64 bits.
    std::optional<std::uint64_t> host_count_u64() const noexcept;
    /// True when a has the same family and the same first `length` bits as address.
    bool contains(const ip_address& a) const noexcept;

    /// "192.0.2.0/24" style with the address as given.
    std::string to_string() const;

    bool operator==(const ip_prefix&) const = default;
};

/// Contiguous-mask check: the prefix length of a netmask, or -1 when its one-bits are not
/// leading and contiguous.
int prefix_length_of_mask(const ip_address& mask) noexcept;

/// What `nettool netmask` shows: every derived value of one prefix.
struct prefix_summary {
    ip_prefix prefix;
    ip_address network, netmask, wildcard, first_host, last_host;
    std::optional<ip_address> broadcast;
    std::string hosts;  ///< decimal

    static prefix_summary of(const ip_prefix& p);
    bool operator==(const prefix_summary&) const = default;
};
/// Keys: address, network, netmask, wildcard, prefix_length, broadcast (null when none),
/// first_host, last_host, hosts (number when it fits 64 bits, else decimal string), family.
void to_json(nlohmann::json& j, const prefix_summary& s);

/// A 48-bit Ethernet MAC address.
struct mac_address {
    std::array<std::uint8_t, 6> bytes{};

    /// "00:11:22:33:44:55", "00-11-22-33-44-55" or "0011.2233.4455"; nullopt otherwise.
    static std::optional<mac_address> parse(std::string_view text) noexcept;
    /// "00:11:22:33:44:55".
    std::string to_string() const;
    bool is_broadcast() const noexcept;

    auto operator<=>(const mac_address&) const = default;
    bool operator==(const mac_address&) const = default;
};
void to_json(nlohmann::json& j, const mac_address& m);

}  // namespace nettool
NETTOOL_API_END

/// fmt::format("{}", addr) prints to_string(); likewise prefixes ("192.0.2.0/24") and MACs.
template <>
struct fmt::formatter<nettool::ip_address> : fmt::formatter<std::string_view> {
    auto format(const nettool::ip_address& a, fmt::format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(a.to_string(), ctx);
    }
};
template <>
struct fmt::formatter<nettool::ip_prefix> : fmt::formatter<std::string_view> {
    auto format(const nettool::ip_prefix& p, fmt::format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(p.to_string(), ctx);
    }
};
template <>
struct fmt::formatter<nettool::mac_address> : fmt::formatter<std::string_view> {
    auto format(const nettool::mac_address& m, fmt::format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(m.to_string(), ctx);
    }
};
