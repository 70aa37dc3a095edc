#include <nettool/net/address.hpp>
#include <nettool/core/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace nettool {

std::optional<ip_address> ip_address::parse(std::string_view text) noexcept {
    if (text.empty() || text.size() > 45) return std::nullopt;
    char buf[64];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    ip_address a;
    if (text.find(':') == std::string_view::npos) {
        a.family = ip_family::v4;
        if (::inet_pton(AF_INET, buf, a.bytes.data()) != 1) return std::nullopt;
    } else {
        a.family = ip_family::v6;
        if (::inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
    }
    return a;
}

ip_address ip_address::v4(std::uint32_t host_order) noexcept {
    ip_address a;
    a.bytes[0] = static_cast<std::uint8_t>(host_order >> 24);
    a.bytes[1] = static_cast<std::uint8_t>(host_order >> 16);
    a.bytes[2] = static_cast<std::uint8_t>(host_order >> 8);
    a.bytes[3] = static_cast<std::uint8_t>(host_order);
    return a;
}

std::uint32_t ip_address::to_v4() const noexcept {
    if (family != ip_family::v4) return 0;
    return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
           (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

bool ip_address::is_loopback() const noexcept {
    if (family == ip_family::v4) return bytes[0] == 127;
    for (std::size_t i = 0; i < 15; ++i)
        if (bytes[i] != 0) return false;
    return bytes[15] == 1;
}

std::string ip_address::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(family == ip_family::v4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
    return buf;
}

std::string ip_address::to_binary() const {
    std::string s;
    const int w = bit_width();
    const int group = family == ip_family::v4 ? 8 : 16;
    const char sep = family == ip_family::v4 ? '.' : ':';
    s.reserve(static_cast<std::size_t>(w + w / group));
    for (int i = 0; i < w; ++i) {
        if (i != 0 && i % group == 0) s.push_back(sep);
        s.push_back(bit(i) ? '1' : '0');
    }
    return s;
}

void to_json(nlohmann::json& j, const ip_address& a) {
    j = a.to_string();
}

ip_address netmask_for(ip_family f, int prefix_length) noexcept {
    ip_address m;
    m.family = f;
    const int w = f == ip_family::v4 ? 32 : 128;
    prefix_length = std::clamp(prefix_length, 0, w);
    for (int i = 0; i < prefix_length; ++i)
        m.bytes[static_cast<std::size_t>(i / 8)] |= static_cast<std::uint8_t>(0x80U >> (i % 8));
    return m;
}

int prefix_length_of_mask(const ip_address& mask) noexcept {
    const int w = mask.bit_width();
    int len = 0;
    while (len < w && mask.bit(len)) ++len;
    for (int i = len; i < w; ++i)
        if (mask.bit(i)) return -1;
    return len;
}

namespace {

std::size_t byte_count(const ip_address& a) {
    return a.family == ip_family::v4 ? 4 : 16;
}

ip_address combine(const ip_address& a, const ip_address& m, bool set_host_bits) {
    ip_address r = a;
    for (std::size_t i = 0; i < byte_count(a); ++i) {
        r.bytes[i] = set_host_bits ? static_cast<std::uint8_t>(a.bytes[i] | ~m.bytes[i])
                                   : static_cast<std::uint8_t>(a.bytes[i] & m.bytes[i]);
    }
    return r;
}

ip_address add_one(ip_address a, int delta) {
    // delta is +1 or -1; wraps within the family's width.
    for (std::size_t i = byte_count(a); i-- > 0;) {
        if (delta > 0) {
            if (++a.bytes[i] != 0) break;
        } else {
            if (a.bytes[i]-- != 0) break;
        }
    }
    return a;
}

// Decimal text of 2^n - sub for n <= 128 (sub is 0, 1 or 2), by schoolbook doubling.
std::string pow2_minus(int n, unsigned sub) {
    std::string digits = "1";  // little-endian decimal digits
    for (int i = 0; i < n; ++i) {
        int carry = 0;
        for (auto& c : digits) {
            const int v = (c - '0') * 2 + carry;
            c = static_cast<char>('0' + v % 10);
            carry = v / 10;
        }
        if (carry != 0) digits.push_back(static_cast<char>('0' + carry));
    }
    // subtract sub (digits >= sub always holds where we use it)
    unsigned borrow = sub;
    for (auto& c : digits) {
        if (borrow == 0) break;
        int v = (c - '0') - static_cast<int>(borrow);
        borrow = 0;
        if (v < 0) {
            v += 10;
            borrow = 1;
        }
        c = static_cast<char>('0' + v);
    }
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    std::reverse(digits.begin(), digits.end());
    return digits;
}

}  // namespace

ip_prefix ip_prefix::parse(std::string_view text) {
    auto fail = [](errc e, std::string msg) -> ip_prefix { throw error(e, std::move(msg)); };
    {
        const auto slash = text.find('/');
        if (slash == std::string_view::npos)
            return fail(errc::bad_prefix,
                        fmt::format("'{}' has no /PREFIX or /NETMASK (write e.g. 192.0.2.1/24)", text));
        const auto addr_text = text.substr(0, slash);
        const auto len_text = text.substr(slash + 1);
        const auto addr = ip_address::parse(addr_text);
        if (!addr)
            return fail(errc::bad_address, fmt::format("'{}' is not an IPv4 or IPv6 address", addr_text));
        ip_prefix p{*addr, 0};
        const int w = addr->bit_width();
        if (len_text.empty())
            return fail(errc::bad_prefix, fmt::format("'{}' has an empty prefix length", text));
        const bool all_digits =
            std::all_of(len_text.begin(), len_text.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (all_digits) {
            int n = -1;
            const auto [ptr, e] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), n);
            if (e != std::errc{} || ptr != len_text.data() + len_text.size() || n < 0 || n > w ||
                len_text.size() > 3)
                return fail(errc::bad_prefix,
                            fmt::format("prefix length '{}' is out of range 0..{}", len_text, w));
            p.length = n;
            return p;
        }
        const auto mask = ip_address::parse(len_text);
        if (!mask || mask->family != addr->family)
            return fail(errc::bad_prefix,
                        fmt::format("'{}' is neither a prefix length 0..{} nor a netmask of the same family",
                                    len_text, w));
        const int len = prefix_length_of_mask(*mask);
        if (len < 0)
            return fail(errc::non_contiguous_mask,
                        fmt::format("netmask {} is not contiguous: its one-bits must all come first ({})",
                                    mask->to_string(), mask->to_binary()));
        p.length = len;
        return p;
    }
}

ip_prefix ip_prefix::parse(std::string_view text, std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return parse(text); });
}

ip_address ip_prefix::network() const noexcept {
    return combine(address, netmask(), false);
}

ip_address ip_prefix::wildcard() const noexcept {
    ip_address m = netmask();
    for (std::size_t i = 0; i < byte_count(m); ++i) m.bytes[i] = static_cast<std::uint8_t>(~m.bytes[i]);
    return m;
}

std::optional<ip_address> ip_prefix::broadcast() const noexcept {
    if (address.family != ip_family::v4 || length >= 31) return std::nullopt;
    return combine(address, netmask(), true);
}

ip_address ip_prefix::first_host() const noexcept {
    const auto net = network();
    if (address.family == ip_family::v4 && length < 31) return add_one(net, +1);
    return net;
}

ip_address ip_prefix::last_host() const noexcept {
    const auto last = combine(address, netmask(), true);
    if (address.family == ip_family::v4 && length < 31) return add_one(last, -1);
    return last;
}

std::string ip_prefix::host_count() const {
    const int host_bits = address.bit_width() - length;
    if (address.family == ip_family::v4 && length < 31) return pow2_minus(host_bits, 2);
    return pow2_minus(host_bits, 0);
}

std::optional<std::uint64_t> ip_prefix::host_count_u64() const noexcept {
    const int host_bits = address.bit_width() - length;
    if (host_bits >= 64) return std::nullopt;
    const std::uint64_t all = std::uint64_t{1} << host_bits;
    if (address.family == ip_family::v4 && length < 31) return all - 2;
    return all;
}

bool ip_prefix::contains(const ip_address& a) const noexcept {
    if (a.family != address.family) return false;
    for (int i = 0; i < length; ++i)
        if (a.bit(i) != address.bit(i)) return false;
    return true;
}

std::string ip_prefix::to_string() const {
    return fmt::format("{}/{}", address.to_string(), length);
}

prefix_summary prefix_summary::of(const ip_prefix& p) {
    return prefix_summary{p,
                          p.network(),
                          p.netmask(),
                          p.wildcard(),
                          p.first_host(),
                          p.last_host(),
                          p.broadcast(),
                          p.host_count()};
}

void to_json(nlohmann::json& j, const prefix_summary& s) {
    j = nlohmann::json::object();
    j["family"] = s.prefix.address.is_v4() ? "ipv4" : "ipv6";
    j["address"] = s.prefix.address;
    j["network"] = s.network;
    j["netmask"] = s.netmask;
    j["wildcard"] = s.wildcard;
    j["prefix_length"] = s.prefix.length;
    j["broadcast"] = s.broadcast ? nlohmann::json(*s.broadcast) : nlohmann::json(nullptr);
    j["first_host"] = s.first_host;
    j["last_host"] = s.last_host;
    if (auto n = s.prefix.host_count_u64())
        j["hosts"] = *n;
    else
        j["hosts"] = s.hosts;
}

std::optional<mac_address> mac_address::parse(std::string_view text) noexcept {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    mac_address m;
    if (text.size() == 17) {  // aa:bb:cc:dd:ee:ff or aa-bb-...
        const char sep = text[2];
        if (sep != ':' && sep != '-') return std::nullopt;
        for (std::size_t i = 0; i < 6; ++i) {
            const int hi = hex(text[i * 3]);
            const int lo = hex(text[i * 3 + 1]);
            if (hi < 0 || lo < 0) return std::nullopt;
            if (i < 5 && text[i * 3 + 2] != sep) return std::nullopt;
            m.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
        }
        return m;
    }
    if (text.size() == 14) {  // aabb.ccdd.eeff (Cisco)
        if (text[4] != '.' || text[9] != '.') return std::nullopt;
        std::size_t k = 0;
        for (std::size_t i = 0; i < text.size(); i += 2) {
            if (text[i] == '.') ++i;
            const int hi = hex(text[i]);
            const int lo = hex(text[i + 1]);
            if (hi < 0 || lo < 0 || k >= 6) return std::nullopt;
            m.bytes[k++] = static_cast<std::uint8_t>(hi * 16 + lo);
        }
        if (k != 6) return std::nullopt;
        return m;
    }
    return std::nullopt;
}

std::string mac_address::to_string() const {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2], bytes[3],
                       bytes[4], bytes[5]);
}

bool mac_address::is_broadcast() const noexcept {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0xff; });
}

void to_json(nlohmann::json& j, const mac_address& m) {
    j = m.to_string();
}

}  // namespace nettool
