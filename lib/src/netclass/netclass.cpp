#include <nettool/netclass/netclass.hpp>
#include <nettool/core/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>  // RT_TABLE_MAIN, RT_TABLE_LOCAL
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
    const auto addr = target.ip();
    if (!addr) return {};
    std::error_code ec;
    const auto view = host_view::load(ec);
    if (ec) return {};
    const auto c = classify(view, *addr);
    if (c.kind == destination_kind::self || c.kind == destination_kind::loopback) return "lo";
    return c.interface;
}

}  // namespace nettool
