#include <nettool/netclass/netclass.hpp>
#include <nettool/core/cursor.hpp>
#include <nettool/core/error.hpp>

#include "netclass/rtnetlink.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nettool {

// ---------------------------------------------------------------- interfaces

bool interface_info::is_up() const noexcept {
    return (flags & IFF_UP) != 0;
}
bool interface_info::is_loopback() const noexcept {
    return (flags & IFF_LOOPBACK) != 0;
}
bool interface_info::can_broadcast() const noexcept {
    return (flags & IFF_BROADCAST) != 0;
}

std::string interface_info::flag_names() const {
    static constexpr std::array<std::pair<unsigned, const char*>, 8> names{{{IFF_UP, "UP"},
                                                                            {IFF_BROADCAST, "BROADCAST"},
                                                                            {IFF_LOOPBACK, "LOOPBACK"},
                                                                            {IFF_POINTOPOINT, "POINTOPOINT"},
                                                                            {IFF_RUNNING, "RUNNING"},
                                                                            {IFF_NOARP, "NOARP"},
                                                                            {IFF_PROMISC, "PROMISC"},
                                                                            {IFF_MULTICAST, "MULTICAST"}}};
    std::string s;
    for (const auto& [bit, label] : names) {
        if ((flags & bit) == 0) continue;
        if (!s.empty()) s += ',';
        s += label;
    }
    return s;
}

void to_json(nlohmann::json& j, const interface_info& i) {
    j = nlohmann::json::object();
    j["name"] = i.name;
    j["index"] = i.index;
    j["flags"] = i.flag_names();
    j["mtu"] = i.mtu;
    j["mac"] = i.mac ? nlohmann::json(*i.mac) : nlohmann::json(nullptr);
    auto& addrs = j["addresses"] = nlohmann::json::array();
    for (const auto& a : i.addresses) {
        nlohmann::json e;
        e["address"] = a.prefix.address;
        e["prefix_length"] = a.prefix.length;
        e["netmask"] = a.prefix.netmask();
        e["broadcast"] = a.broadcast ? nlohmann::json(*a.broadcast) : nlohmann::json(nullptr);
        addrs.push_back(std::move(e));
    }
}

namespace {

std::optional<ip_address> from_sockaddr(const sockaddr* sa) noexcept {
    if (sa == nullptr) return std::nullopt;
    ip_address a;
    if (sa->sa_family == AF_INET) {
        sockaddr_in in{};
        std::memcpy(&in, sa, sizeof in);
        a.family = ip_family::v4;
        std::memcpy(a.bytes.data(), &in.sin_addr, 4);
        return a;
    }
    if (sa->sa_family == AF_INET6) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, sa, sizeof in6);
        a.family = ip_family::v6;
        std::memcpy(a.bytes.data(), &in6.sin6_addr, 16);
        return a;
    }
    return std::nullopt;
}

}  // namespace

std::vector<interface_info> list_interfaces(std::error_code& ec) noexcept {
    ec.clear();
    std::vector<interface_info> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        ec.assign(errno, std::system_category());
        return out;
    }
    try {
        auto find_or_add = [&](const char* name) -> interface_info& {
            for (auto& i : out)
                if (i.name == name) return i;
            interface_info i;
            i.name = name;
            i.index = ::if_nametoindex(name);
            out.push_back(std::move(i));
            return out.back();
        };
        for (const ifaddrs* p = list; p != nullptr; p = p->ifa_next) {
            if (p->ifa_name == nullptr) continue;
            auto& info = find_or_add(p->ifa_name);
            info.flags = p->ifa_flags;
            if (p->ifa_addr == nullptr) continue;
            if (p->ifa_addr->sa_family == AF_PACKET) {
                sockaddr_ll ll{};
                std::memcpy(&ll, p->ifa_addr, sizeof ll);
                if (ll.sll_halen == 6) {
                    mac_address m;
                    std::memcpy(m.bytes.data(), ll.sll_addr, 6);
                    info.mac = m;
                }
                continue;
            }
            auto addr = from_sockaddr(p->ifa_addr);
            if (!addr) continue;
            interface_address ia;
            ia.prefix.address = *addr;
            ia.prefix.length = addr->bit_width();
            if (auto mask = from_sockaddr(p->ifa_netmask); mask && mask->family == addr->family) {
                const int len = prefix_length_of_mask(*mask);
                if (len >= 0) ia.prefix.length = len;
            }
            if ((p->ifa_flags & IFF_BROADCAST) != 0 && addr->is_v4())
                ia.broadcast = from_sockaddr(p->ifa_broadaddr);
            info.addresses.push_back(ia);
        }
        ::freeifaddrs(list);
        list = nullptr;

        const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        for (auto& i : out) {
            if (fd < 0) break;
            ifreq req{};
            std::snprintf(req.ifr_name, sizeof req.ifr_name, "%s", i.name.c_str());
            if (::ioctl(fd, SIOCGIFMTU, &req) == 0) i.mtu = static_cast<unsigned>(req.ifr_mtu);
        }
        if (fd >= 0) ::close(fd);
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
    } catch (...) {
        if (list != nullptr) ::freeifaddrs(list);
        ec = std::make_error_code(std::errc::not_enough_memory);
        out.clear();
    }
    return out;
}

// ---------------------------------------------------------------- routes

const char* to_string(route_type t) noexcept {
    switch (t) {
        case route_type::unicast: return "unicast";
        case route_type::local: return "local";
        case route_type::broadcast: return "broadcast";
        case route_type::anycast: return "anycast";
        case route_type::multicast: return "multicast";
        case route_type::blackhole: return "blackhole";
        case route_type::unreachable: return "unreachable";
        case route_type::prohibit: return "prohibit";
        case route_type::throw_route: return "throw";
        case route_type::other: return "other";
    }
    return "other";
}

void to_json(nlohmann::json& j, const route_entry& r) {
    j = nlohmann::json::object();
    j["destination"] = fmt::format("{}/{}", r.destination.network().to_string(), r.destination.length);
    j["gateway"] = r.gateway ? nlohmann::json(*r.gateway) : nlohmann::json(nullptr);
    j["interface"] = r.interface.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.interface);
    j["metric"] = r.metric;
    j["table"] = r.table == RT_TABLE_MAIN    ? nlohmann::json("main")
                 : r.table == RT_TABLE_LOCAL ? nlohmann::json("local")
                                             : nlohmann::json(r.table);
    j["type"] = to_string(r.type);
    if (r.preferred_source) j["source"] = *r.preferred_source;
}

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
            return std::error_code(-code, std::system_category());
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

host_view host_view::load(std::error_code& ec) noexcept {
    host_view v;
    v.interfaces = list_interfaces(ec);
    if (ec) return v;
    v.routes = read_routes(ec);
    return v;
}

const interface_info* host_view::find_interface(unsigned index) const noexcept {
    for (const auto& i : interfaces)
        if (i.index == index) return &i;
    return nullptr;
}

const interface_info* host_view::find_interface(std::string_view name) const noexcept {
    for (const auto& i : interfaces)
        if (i.name == name) return &i;
    return nullptr;
}

// ---------------------------------------------------------------- classification

const char* to_string(destination_kind k) noexcept {
    switch (k) {
        case destination_kind::loopback: return "loopback";
        case destination_kind::self: return "self";
        case destination_kind::local: return "local";
        case destination_kind::remote: return "remote";
        case destination_kind::unreachable: return "unreachable";
    }
    return "unreachable";
}

void to_json(nlohmann::json& j, const classification& c) {
    j = nlohmann::json::object();
    j["address"] = c.address;
    j["kind"] = to_string(c.kind);
    j["interface"] = c.interface.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.interface);
    if (c.kind == destination_kind::remote)
        j["gateway"] = c.gateway ? nlohmann::json(*c.gateway) : nlohmann::json(nullptr);
    j["source"] = c.source ? nlohmann::json(*c.source) : nlohmann::json(nullptr);
    if (c.route) j["route"] = *c.route;
    if (c.compared_prefix) {
        j["compared_prefix"] =
            fmt::format("{}/{}", c.compared_prefix->network().to_string(), c.compared_prefix->length);
    }
}

namespace {

// Longest prefix in `table` containing dst; ties go to the lowest metric, then list order.
const route_entry* longest_match(const std::vector<route_entry>& routes, std::uint32_t table,
                                 const ip_address& dst) noexcept {
    const route_entry* best = nullptr;
    for (const auto& r : routes) {
        if (r.table != table || !r.destination.contains(dst)) continue;
        if (best == nullptr || r.destination.length > best->destination.length ||
            (r.destination.length == best->destination.length && r.metric < best->metric)) {
            best = &r;
        }
    }
    return best;
}

// The address this host would send from on `ifindex` toward `toward`.
std::optional<interface_address> pick_source(const host_view& v, unsigned ifindex, const ip_address& toward) {
    const auto* i = v.find_interface(ifindex);
    if (i == nullptr) return std::nullopt;
    std::optional<interface_address> first;
    for (const auto& a : i->addresses) {
        if (a.prefix.address.family != toward.family) continue;
        if (a.prefix.contains(toward)) return a;
        if (!first) first = a;
    }
    return first;
}

std::string name_of(const host_view& v, const route_entry& r) {
    if (!r.interface.empty()) return r.interface;
    if (const auto* i = v.find_interface(r.interface_index)) return i->name;
    return {};
}

}  // namespace

namespace {

// Everything after the lookups: local_hit is the longest local-table match, main_hit the main
// table's (either may be null).
classification classify_routed(const host_view& view, const ip_address& dst, const route_entry* local_hit,
                               const route_entry* main_hit) noexcept {
    classification c;
    c.address = dst;
    try {
        if (const auto* r = local_hit) {
            if (r->type == route_type::local) {
                c.kind = destination_kind::self;
                c.interface = name_of(view, *r);
                c.source = dst;
                c.route = *r;
                return c;
            }
            if (r->type == route_type::broadcast) {
                c.kind = destination_kind::local;
                c.interface = name_of(view, *r);
                c.route = *r;
                c.source = r->preferred_source;
                if (auto s = pick_source(view, r->interface_index, dst)) {
                    c.compared_prefix = s->prefix;
                    if (!c.source) c.source = s->prefix.address;
                }
                return c;
            }
        }
        const auto* r = main_hit;
        if (r == nullptr) {
            c.kind = destination_kind::unreachable;
            return c;
        }
        c.route = *r;
        switch (r->type) {
            case route_type::unicast:
            case route_type::multicast:
            case route_type::broadcast:
            case route_type::anycast: break;
            case route_type::local:
                c.kind = destination_kind::self;
                c.interface = name_of(view, *r);
                c.source = dst;
                return c;
            default: c.kind = destination_kind::unreachable; return c;
        }
        c.interface = name_of(view, *r);
        const bool v4_group = dst.is_v4() && ((dst.bytes[0] & 0xF0U) == 0xE0U || dst.to_v4() == 0xFFFFFFFFU);
        const bool v6_group = !dst.is_v4() && dst.bytes[0] == 0xFF;
        if (r->gateway && !v4_group && !v6_group) {
            c.kind = destination_kind::remote;
            c.gateway = r->gateway;
            auto s = pick_source(view, r->interface_index, *r->gateway);
            if (s) c.compared_prefix = s->prefix;
            c.source = r->preferred_source ? r->preferred_source
                                           : (s ? std::optional(s->prefix.address) : std::nullopt);
        } else {
            c.kind = destination_kind::local;
            auto s = pick_source(view, r->interface_index, dst);
            c.source = r->preferred_source ? r->preferred_source
                                           : (s ? std::optional(s->prefix.address) : std::nullopt);
            // Compare with the on-link route's prefix, against this host's address.
            ip_prefix cmp = r->destination;
            if (c.source) cmp.address = *c.source;
            c.compared_prefix = cmp;
        }
        return c;
    } catch (...) {
        c = classification{};
        c.address = dst;
        return c;
    }
}

// Loopback and this host's own addresses, decided before any route; true when c was filled.
bool classify_host_itself(const host_view& view, const ip_address& dst,
                          const std::vector<route_entry>& routes, classification& c) {
    c.address = dst;
    if (dst.is_loopback()) {
        c.kind = destination_kind::loopback;
        for (const auto& i : view.interfaces)
            if (i.is_loopback()) c.interface = i.name;
        if (c.interface.empty()) c.interface = "lo";
        c.source = dst.is_v4() ? ip_address::v4(0x7f000001) : dst;
        return true;
    }
    for (const auto& i : view.interfaces) {
        for (const auto& a : i.addresses) {
            if (a.prefix.address == dst) {
                c.kind = destination_kind::self;
                c.interface = i.name;
                c.source = dst;
                c.compared_prefix = a.prefix;
                if (const auto* r = longest_match(routes, RT_TABLE_LOCAL, dst)) c.route = *r;
                return true;
            }
        }
    }
    return false;
}

}  // namespace

classification classify(const host_view& view, const ip_address& dst) noexcept {
    try {
        classification c;
        if (classify_host_itself(view, dst, view.routes, c)) return c;
        return classify_routed(view, dst, longest_match(view.routes, RT_TABLE_LOCAL, dst),
                               longest_match(view.routes, RT_TABLE_MAIN, dst));
    } catch (...) {
        classification c;
        c.address = dst;
        return c;
    }
}

bulk_classifier::bulk_classifier(host_view view) : view_(std::move(view)) {
    // Equal prefixes: the lowest metric wins, then the earlier route (as longest_match does), so
    // insert the winners last.
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < view_.routes.size(); ++i) {
        const auto& r = view_.routes[i];
        if (!r.destination.address.is_v4()) continue;
        if (r.table == RT_TABLE_LOCAL)
            local_v4_.push_back(i);
        else if (r.table == RT_TABLE_MAIN)
            order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto ma = view_.routes[a].metric;
        const auto mb = view_.routes[b].metric;
        return ma != mb ? ma > mb : a > b;
    });
    for (const auto i : order) {
        const auto& r = view_.routes[i];
        main_v4_.insert(r.destination.address.to_v4(), r.destination.length, static_cast<std::uint32_t>(i));
    }
    main_v4_.build();
}

classification bulk_classifier::classify(const ip_address& dst) const noexcept {
    if (!dst.is_v4()) return nettool::classify(view_, dst);
    try {
        classification c;
        if (classify_host_itself(view_, dst, view_.routes, c)) return c;
        const route_entry* local_hit = nullptr;
        for (const auto i : local_v4_) {
            const auto& r = view_.routes[i];
            if (!r.destination.contains(dst)) continue;
            if (local_hit == nullptr || r.destination.length > local_hit->destination.length ||
                (r.destination.length == local_hit->destination.length && r.metric < local_hit->metric))
                local_hit = &r;
        }
        const std::uint32_t v = main_v4_.lookup(dst.to_v4());
        const route_entry* main_hit = v == ipv4_prefix_table::no_match ? nullptr : &view_.routes[v];
        return classify_routed(view_, dst, local_hit, main_hit);
    } catch (...) {
        classification c;
        c.address = dst;
        return c;
    }
}

namespace {

// Marks under a binary view: '^' compared and equal, '!' compared and different, ' ' not compared.
std::string marks(const ip_address& a, const ip_address& b, int length) {
    std::string s;
    const int w = a.bit_width();
    const int group = a.is_v4() ? 8 : 16;
    for (int i = 0; i < w; ++i) {
        if (i != 0 && i % group == 0) s.push_back(' ');
        if (i >= length)
            s.push_back(' ');
        else
            s.push_back(a.bit(i) == b.bit(i) ? '^' : '!');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

}  // namespace

std::vector<std::string> explain(const classification& c) {
    std::vector<std::string> out;
    const std::string dst = c.address.to_string();
    auto binary_block = [&](const ip_prefix& p, const char* host_label) {
        const auto mask = p.netmask();
        std::vector<std::array<std::string, 3>> rows{
            {"destination", dst, c.address.to_binary()},
            {host_label, p.address.to_string(), p.address.to_binary()},
            {fmt::format("mask /{}", p.length), mask.to_string(), mask.to_binary()},
            {"compared", "", marks(c.address, p.address, p.length)}};
        std::size_t w0 = 0, w1 = 0;
        for (const auto& r : rows) {
            w0 = std::max(w0, r[0].size());
            w1 = std::max(w1, r[1].size());
        }
        for (const auto& r : rows) out.push_back(fmt::format("{:<{}}  {:<{}}  {}", r[0], w0, r[1], w1, r[2]));
    };
    auto first_difference = [&](const ip_prefix& p) {
        for (int i = 0; i < p.length; ++i)
            if (c.address.bit(i) != p.address.bit(i)) return i;
        return -1;
    };
    switch (c.kind) {
        case destination_kind::loopback:
            out.push_back(fmt::format("{} is a loopback address: it never leaves this host (interface {}).",
                                      dst, c.interface));
            break;
        case destination_kind::self:
            out.push_back(
                fmt::format("{} is this host's own address (interface {}): delivered locally, nothing "
                            "goes on the wire.",
                            dst, c.interface));
            break;
        case destination_kind::local:
            if (c.compared_prefix) binary_block(*c.compared_prefix, "this host");
            if (c.route && c.route->type == route_type::broadcast) {
                out.push_back(fmt::format(
                    "{} is the broadcast address of {}: every host on {} receives it.", dst,
                    c.compared_prefix ? c.compared_prefix->to_string() : c.interface, c.interface));
            } else if (c.compared_prefix) {
                out.push_back(
                    fmt::format("The first {} bits are equal: {} is on-link on {} ({}/{}); it is delivered "
                                "directly (ARP/ND for its MAC), no router.",
                                c.compared_prefix->length, dst, c.interface,
                                c.compared_prefix->network().to_string(), c.compared_prefix->length));
            } else {
                out.push_back(fmt::format("{} is on-link on {}.", dst, c.interface));
            }
            break;
        case destination_kind::remote: {
            if (c.compared_prefix) {
                binary_block(*c.compared_prefix, "this host");
                const int d = first_difference(*c.compared_prefix);
                if (d >= 0)
                    out.push_back(
                        fmt::format("Bit {} differs within the first {}: {} is not on {}'s network {}/{}.",
                                    d + 1, c.compared_prefix->length, dst, c.interface,
                                    c.compared_prefix->network().to_string(), c.compared_prefix->length));
            }
            const std::string via = c.gateway ? c.gateway->to_string() : std::string("?");
            out.push_back(fmt::format("Route {} (metric {}) hands it to router {} on {}.",
                                      c.route
                                          ? fmt::format("{}/{}", c.route->destination.network().to_string(),
                                                        c.route->destination.length)
                                          : std::string("?"),
                                      c.route ? c.route->metric : 0, via, c.interface));
            break;
        }
        case destination_kind::unreachable:
            if (c.route)
                out.push_back(fmt::format("Route {}/{} is of type {}: the kernel refuses to send to {}.",
                                          c.route->destination.network().to_string(),
                                          c.route->destination.length, to_string(c.route->type), dst));
            else
                out.push_back(
                    fmt::format("No route in the main table matches {} and there is no default route.", dst));
            break;
    }
    return out;
}

std::string interface_for(const socket_address& target) {
    if (target.is_loopback()) return "lo";
    const auto addr = ip_address::parse(target.address_string());
    if (!addr) return {};
    std::error_code ec;
    const auto view = host_view::load(ec);
    if (ec) return {};
    const auto c = classify(view, *addr);
    if (c.kind == destination_kind::self || c.kind == destination_kind::loopback) return "lo";
    return c.interface;
}

}  // namespace nettool
