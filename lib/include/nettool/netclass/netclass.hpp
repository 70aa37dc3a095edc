#pragma once
// Local or remote? This host's interfaces and routing table, and the classification of a
// destination the way the kernel decides it: the local table first (this host's own and
// broadcast addresses), then longest-prefix match on the main table, lowest metric first among
// equal prefixes. Nothing is sent on the network.
//
// Policy routing rules other than "local then main" are not consulted (see docs/netclass.md).

#include <nettool/core/export.hpp>
#include <nettool/core/report.hpp>
#include <nettool/net/address.hpp>
#include <nettool/net/endpoint.hpp>
#include <nettool/net/prefix_table.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

/// One address configured on an interface.
struct interface_address {
    ip_prefix prefix;                     ///< the address with its prefix length
    std::optional<ip_address> broadcast;  ///< IPv4 broadcast when the interface has one
    bool operator==(const interface_address&) const = default;
};

/// One network interface of this host.
struct interface_info {
    std::string name;
    unsigned index = 0;
    unsigned flags = 0;  ///< IFF_* bits
    unsigned mtu = 0;
    std::optional<mac_address> mac;
    std::vector<interface_address> addresses;

    bool is_up() const noexcept;
    bool is_loopback() const noexcept;
    bool can_broadcast() const noexcept;
    /// "UP,BROADCAST,RUNNING,MULTICAST" style.
    std::string flag_names() const;
    bool operator==(const interface_info&) const = default;
};
void to_json(nlohmann::json& j, const interface_info& i);

/// Lists this host's interfaces (getifaddrs, SIOCGIFMTU), ordered by index.
std::vector<interface_info> list_interfaces(std::error_code& ec) noexcept;

enum class route_type : std::uint8_t {
    unicast,
    local,
    broadcast,
    anycast,
    multicast,
    blackhole,
    unreachable,
    prohibit,
    throw_route,
    other
};
const char* to_string(route_type t) noexcept;

/// One kernel route (RTM_GETROUTE), from the main or the local table.
struct route_entry {
    ip_prefix destination;                       ///< network/len (host bits clear)
    std::optional<ip_address> gateway;           ///< next hop; none for on-link routes
    std::optional<ip_address> preferred_source;  ///< RTA_PREFSRC
    unsigned interface_index = 0;
    std::string interface;     ///< name of interface_index, when known
    std::uint32_t metric = 0;  ///< RTA_PRIORITY
    std::uint32_t table = 0;   ///< 254 main, 255 local
    route_type type = route_type::unicast;
    bool operator==(const route_entry&) const = default;
};
void to_json(nlohmann::json& j, const route_entry& r);

/// Reads the main (254) and local (255) routing tables of both families through rtnetlink.
std::vector<route_entry> read_routes(std::error_code& ec) noexcept;

/// This host's view: interfaces plus routes. classify() takes it so tests and callers can load
/// it once (or build one by hand).
struct host_view {
    std::vector<interface_info> interfaces;
    std::vector<route_entry> routes;

    static host_view load(std::error_code& ec) noexcept;
    const interface_info* find_interface(unsigned index) const noexcept;
    const interface_info* find_interface(std::string_view name) const noexcept;
};

enum class destination_kind : std::uint8_t {
    loopback,     ///< 127.0.0.0/8 or ::1: never leaves the host
    self,         ///< one of this host's own addresses (a `local` route)
    local,        ///< on-link: delivered directly on `interface` (also broadcast and multicast)
    remote,       ///< handed to `gateway` on `interface`
    unreachable,  ///< no route, or an unreachable/blackhole/prohibit route
};
const char* to_string(destination_kind k) noexcept;

/// The answer for one destination, and why.
struct classification {
    ip_address address;
    destination_kind kind = destination_kind::unreachable;
    std::string interface;              ///< outgoing (or owning) interface; empty when unreachable
    std::optional<ip_address> gateway;  ///< next hop for remote
    std::optional<ip_address> source;   ///< this host's address the kernel would use
    std::optional<route_entry> route;   ///< the route that decided
    /// The prefix the explanation compares with: the on-link route's prefix for local, the
    /// source address's own prefix for remote (showing why it is not on-link).
    std::optional<ip_prefix> compared_prefix;
    bool operator==(const classification&) const = default;
};
/// Keys: address, kind, interface (null when none), gateway (remote only), source, route.
void to_json(nlohmann::json& j, const classification& c);

/// Classifies one destination against a host view, as `ip route get` would. noexcept; allocates
/// only for the strings of the result.
classification classify(const host_view& view, const ip_address& destination) noexcept;

/// Classifies many destinations against one host view: IPv4 main-table lookups go through a
/// DIR-24-8 prefix table (ipv4_prefix_table), so the cost per address no longer grows with the
/// number of routes. Gives the same answer as classify() for every address.
class bulk_classifier {
public:
    explicit bulk_classifier(host_view view);
    classification classify(const ip_address& destination) const noexcept;
    const host_view& view() const noexcept { return view_; }

private:
    host_view view_;
    ipv4_prefix_table main_v4_;          // value: index into view_.routes
    std::vector<std::size_t> local_v4_;  // indexes of IPv4 local-table routes
};

/// Human explanation: lines with the destination, this host's address and the mask in binary,
/// and a marker line: '^' under compared bits that are equal, '!' under the first that differs.
std::vector<std::string> explain(const classification& c);

/// The interface packets to target leave on: "lo" for loopback and this host's own addresses,
/// else the routing table's answer; empty when unreachable.
std::string interface_for(const socket_address& target);

// ---------------------------------------------------------------- reports (docs/netclass.md)

/// How many destinations of each kind, and the sentence that reads them.
struct destination_counts {
    std::array<std::size_t, 5> by_kind{};  ///< indexed by destination_kind
    std::size_t total = 0;

    void add(destination_kind k) noexcept {
        ++by_kind[static_cast<std::size_t>(k)];
        ++total;
    }
    std::size_t operator[](destination_kind k) const noexcept { return by_kind[static_cast<std::size_t>(k)]; }
    /// "N address(es): A loopback, B self, C local, D remote, E unreachable."
    std::string sentence() const;
    bool operator==(const destination_counts&) const = default;
};

/// `nettool netmask`: what the prefix means (address, netmask, wildcard, network, broadcast in
/// dotted and binary form; host range and count) and how to read it. JSON body: to_json's keys.
report make_report(const prefix_summary& s);

/// `nettool classify` with no address: this host's interfaces and main routing table.
report make_report(const host_view& view);

/// `nettool classify ADDR...`: one summary row per destination and the counts by kind; with
/// explain, a "Why A is K:" table of bits per destination and each JSON result's "explanation".
/// JSON body: results (to_json of each), count.
report make_report(std::span<const classification> results, bool explain);

/// Bulk text, streamed by `nettool classify --file` one line per destination: the column heads,
/// then append_bulk_line for each (address, kind, interface, gateway, padded to columns).
std::string bulk_header_line();
void append_bulk_line(std::string& out, const classification& c);

}  // namespace nettool
NETTOOL_API_END
