// Routes from the kernel: an RTM_GETROUTE dump over a netlink socket (read_routes), and its
// parser (detail::parse_route_dump), every read through nettool::cursor.
#include "netclass/rtnetlink.hpp"

#include <nettool/core/cursor.hpp>
#include <nettool/core/error.hpp>
#include <nettool/netclass/netclass.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include <linux/netlink.h>
#include <net/if.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nettool {

namespace detail {

namespace {

constexpr std::size_t align4(std::size_t n) {
    return (n + 3U) & ~std::size_t{3};
}

std::optional<ip_address> address_from(std::span<const std::byte> payload, int family) noexcept {
    const std::size_t n = family == AF_INET ? 4 : 16;
    if (payload.size() != n) return std::nullopt;
    cursor r(payload);
    ip_address a;
    a.family = family == AF_INET ? ip_family::v4 : ip_family::v6;
    for (std::size_t i = 0; i < n; ++i) a.bytes[i] = r.u8();
    return a;
}

route_type type_from(unsigned t) noexcept {
    switch (t) {
        case RTN_UNICAST: return route_type::unicast;
        case RTN_LOCAL: return route_type::local;
        case RTN_BROADCAST: return route_type::broadcast;
        case RTN_ANYCAST: return route_type::anycast;
        case RTN_MULTICAST: return route_type::multicast;
        case RTN_BLACKHOLE: return route_type::blackhole;
        case RTN_UNREACHABLE: return route_type::unreachable;
        case RTN_PROHIBIT: return route_type::prohibit;
        case RTN_THROW: return route_type::throw_route;
        default: return route_type::other;
    }
}

// Walks rtattrs in `r`, calling f(type, payload). Returns truncated/malformed on bad lengths.
template <typename F>
std::error_code for_each_attr(cursor& r, F&& f) noexcept {
    while (r.ok() && !r.empty()) {
        const std::uint16_t len = r.u16_host();
        const std::uint16_t type = r.u16_host();
        if (!r.ok()) return make_error_code(errc::truncated);
        if (len < 4) return make_error_code(errc::malformed);
        auto payload = r.take(len - 4U);
        if (!r.ok()) return make_error_code(errc::truncated);
        r.skip(std::min(align4(len) - len, r.remaining()));
        f(type, payload);
    }
    return {};
}

std::error_code parse_route(std::span<const std::byte> body, std::vector<route_entry>& out) noexcept {
    cursor r(body);
    const unsigned family = r.u8();
    const unsigned dst_len = r.u8();
    r.skip(2);  // src_len, tos
    std::uint32_t table = r.u8();
    r.skip(2);  // protocol, scope
    const unsigned type = r.u8();
    r.skip(4);  // flags
    if (!r.ok()) return make_error_code(errc::truncated);
    if (family != AF_INET && family != AF_INET6) return {};
    const int fam = static_cast<int>(family);
    const unsigned width = family == AF_INET ? 32 : 128;
    if (dst_len > width) return make_error_code(errc::malformed);

    route_entry e;
    e.destination.address.family = family == AF_INET ? ip_family::v4 : ip_family::v6;
    e.destination.length = static_cast<int>(dst_len);
    e.type = type_from(type);
    auto read_u32 = [](std::span<const std::byte> p) -> std::optional<std::uint32_t> {
        if (p.size() != 4) return std::nullopt;
        cursor v(p);
        return v.u32_host();
    };
    std::error_code inner;
    auto ec = for_each_attr(r, [&](std::uint16_t t, std::span<const std::byte> p) {
        switch (t) {
            case RTA_DST:
                if (auto a = address_from(p, fam)) e.destination.address = *a;
                break;
            case RTA_GATEWAY: e.gateway = address_from(p, fam); break;
            case RTA_PREFSRC: e.preferred_source = address_from(p, fam); break;
            case RTA_OIF:
                if (auto v = read_u32(p)) e.interface_index = *v;
                break;
            case RTA_PRIORITY:
                if (auto v = read_u32(p)) e.metric = *v;
                break;
            case RTA_TABLE:
                if (auto v = read_u32(p)) table = *v;
                break;
            case RTA_VIA: {  // gateway of another family (IPv4 route via IPv6 next hop)
                cursor v(p);
                const std::uint16_t vfam = v.u16_host();
                auto rest = v.rest();
                if (!!v.ok() && (vfam == AF_INET || vfam == AF_INET6))
                    e.gateway = address_from(rest, vfam);
                break;
            }
            case RTA_MULTIPATH: {  // first next hop only: rtnexthop {len, flags, hops, ifindex} + attrs
                cursor m(p);
                const std::uint16_t nh_len = m.u16_host();
                m.skip(2);
                const std::uint32_t ifindex = m.u32_host();
                if (!m.ok()) {
                    inner = make_error_code(errc::truncated);
                    break;
                }
                if (nh_len < 8) {
                    inner = make_error_code(errc::malformed);
                    break;
                }
                auto attrs = m.take(nh_len - 8U);
                if (!m.ok()) {
                    inner = make_error_code(errc::truncated);
                    break;
                }
                e.interface_index = ifindex;
                cursor a(attrs);
                auto ec2 = for_each_attr(a, [&](std::uint16_t t2, std::span<const std::byte> p2) {
                    if (t2 == RTA_GATEWAY) e.gateway = address_from(p2, fam);
                });
                if (ec2) inner = ec2;
                break;
            }
            default: break;
        }
    });
    if (ec) return ec;
    if (inner) return inner;
    // Clear host bits so destination is the network.
    e.destination.address = e.destination.network();
    e.table = table;
    if (table != RT_TABLE_MAIN && table != RT_TABLE_LOCAL) return {};
    try {
        out.push_back(std::move(e));
    } catch (...) {
        return std::make_error_code(std::errc::not_enough_memory);
    }
    return {};
}

}  // namespace

std::error_code parse_route_dump(std::span<const std::byte> buffer, std::vector<route_entry>& out,
                                 bool* done) noexcept {
    cursor r(buffer);
    while (r.ok() && !r.empty()) {
        const std::uint32_t len = r.u32_host();
        const std::uint16_t type = r.u16_host();
        r.skip(2 + 4 + 4);  // flags, seq, pid
        if (!r.ok()) return make_error_code(errc::truncated);
        if (len < 16) return make_error_code(errc::malformed);
        auto body = r.take(len - 16U);
        if (!r.ok()) return make_error_code(errc::truncated);
        r.skip(std::min(align4(len) - len, r.remaining()));
        if (type == NLMSG_DONE) {
            if (done != nullptr) *done = true;
            return {};
        }
        if (type == NLMSG_ERROR) {
            cursor er(body);
            const auto code = static_cast<std::int32_t>(er.u32_host());
            if (!er.ok()) return make_error_code(errc::truncated);
            if (code == 0) continue;  // an ACK
            // The kernel sends -errno; anything else (positive, or INT32_MIN, which has no
            // negation) is not a real error number.
            if (code < 0 && code > -4096) return std::error_code(-code, std::system_category());
            return make_error_code(errc::malformed);
        }
        if (type != RTM_NEWROUTE) continue;
        if (auto ec = parse_route(body, out)) return ec;
    }
    return {};
}

}  // namespace detail

std::vector<route_entry> read_routes(std::error_code& ec) noexcept {
    ec.clear();
    std::vector<route_entry> out;
    const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        ec.assign(errno, std::system_category());
        return out;
    }
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct {
        nlmsghdr hdr;
        rtmsg msg;
    } req{};
    req.hdr.nlmsg_len = sizeof req;
    req.hdr.nlmsg_type = RTM_GETROUTE;
    req.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.hdr.nlmsg_seq = 1;
    req.msg.rtm_family = AF_UNSPEC;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd, &req, sizeof req, 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) < 0) {
        ec.assign(errno, std::system_category());
        ::close(fd);
        return out;
    }
    try {
        std::vector<std::byte> buf(1 << 16);
        bool done = false;
        for (int rounds = 0; !done && rounds < 100000; ++rounds) {
            const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                ec.assign(errno, std::system_category());
                break;
            }
            if (n == 0) break;
            if (auto e = detail::parse_route_dump(std::span(buf.data(), static_cast<std::size_t>(n)), out,
                                                  &done)) {
                ec = e;
                break;
            }
        }
        // Name the interfaces.
        for (auto& r : out) {
            char name[IF_NAMESIZE] = {};
            if (r.interface_index != 0 && ::if_indextoname(r.interface_index, name) != nullptr)
                r.interface = name;
        }
    } catch (...) {
        ec = std::make_error_code(std::errc::not_enough_memory);
    }
    ::close(fd);
    return out;
}

}  // namespace nettool
