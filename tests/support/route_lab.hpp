#pragma once
// The routing lab that `nettool trace` is tested on: six network namespaces (two hosts, four routers)
// with IPv4 and IPv6 on every link, equal-cost multipath in the middle and one narrow link.
//
//                               .6 R2a .17
//   A .1 ---- .2 R1 .5 --------/          \-------- .18 R3 .25 ---- .26 B
//                   .9 --------\          /-------- .22           MTU 1400
//                               .10 R2b .21
//
//   link       IPv4 (198.51.100.x)   IPv6                     near A    far from A   MTU
//   A-R1       .0/30                 2001:db8:7274:a1::/64    A  .1 ::1  R1  .2 ::2    1500
//   R1-R2a     .4/30                 2001:db8:7274:a2::/64    R1 .5 ::1  R2a .6 ::2    1500
//   R1-R2b     .8/30                 2001:db8:7274:a3::/64    R1 .9 ::1  R2b .10 ::2   1500
//   R2a-R3     .16/30                2001:db8:7274:b1::/64    R2a .17 ::1 R3 .18 ::2   1500
//   R2b-R3     .20/30                2001:db8:7274:b2::/64    R2b .21 ::1 R3 .22 ::2   1500
//   R3-B       .24/30                2001:db8:7274:b3::/64    R3 .25 ::1  B  .26 ::2   1400
//
// A's side is 198.51.100.0/28 and 2001:db8:7274:a0::/60, B's side 198.51.100.16/28 and
// 2001:db8:7274:b0::/60 (documentation ranges only). On every link the end nearer A has .x+1 and ::1,
// the far end .x+2 and ::2. A's default route is R1, B's is R3. Each interface is named after its peer
// ("to_r2a" in R1 and R3, "to_r1" in A, R2a and R2b, ...).
//
// Seen from A the hops are R1 (.2), R2a (.6) or R2b (.10), R3 (.18) and B (.26); in IPv6 the ::2 of
// a1, a2 or a3, b1, b3. Each router answers from its address on the link towards A. R3 has two such
// links, so its routes back to A carry "src" = its R2a-side address (.18, b1::2): without it, R3's
// ICMP errors take the source of whichever interface the multipath hash picks for the way back,
// and R3 would show as .18 or .22 whatever branch the probe came in on (seen on 6.18). Likewise
// R1's routes towards B carry src .5 / a2::1 (R1 as seen from B).
//
// Equal-cost multipath: R1 reaches B's side via R2a and R2b, R3 reaches A's side via R2a and R2b.
// The routers hash the 5-tuple (fib_multipath_hash_policy=3 with fib_multipath_hash_fields=0x37:
// source and destination address, protocol, source and destination port), not policy 1: policy 1
// takes the skb's L4 hash when it already has one, and a veth pair carries the sending socket's
// random sk_txhash across namespaces, so with policy 1 a flow's branch depends on A's socket, not on
// its ports (the same 5-tuple from two sockets took both branches). A fixed
// net.ipv4.fib_multipath_hash_seed (6.11 on; it serves IPv6 too) makes the split repeatable across
// boots and machines; unset (0), the kernel uses a random seed per boot, same in every namespace.
// ICMP has no ports: ICMP echo (mtr, traceroute -I) of one host pair always takes one branch.
//
// ICMP rate limits: the routers and B start with icmp_ratelimit 0 (net.ipv4 and net.ipv6), so
// every probe is answered; rate_limit_icmp() puts a limit back. See route_lab_test.cpp for what the
// kernel's per-destination token bucket really does. The global net.ipv4.icmp_msgs_per_sec (1000)
// and icmp_msgs_burst (50), which also bound ICMPv6, are left at their defaults.
//
// IPv6 DAD is off (accept_dad=0 and nodad), so addresses work at once; rp_filter is off.
// Everything lives in the namespaces and goes with them in the destructor, also when a test fails.
// Needs root, ip, sysctl and nft.

#include "support/netns_lab.hpp"
#include "support/process.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace nettool::test {

enum class route_node : std::size_t { a, r1, r2a, r2b, r3, b };
enum class ip_family { v4, v6 };

class route_lab {
public:
    /// The fixed multipath hash seed every router gets (when the kernel has the sysctl).
    static constexpr std::uint32_t hash_seed_value = 0x6e74726c;  // "ntrl"
    static constexpr int narrow_mtu = 1400;

    route_lab() : lab_("rl" + std::to_string(next_id())) {}

    /// Builds the whole lab; false (see errors()) when any step failed. Call once.
    bool build() {
        static constexpr std::array<const char*, 6> short_names{"a", "r1", "r2a", "r2b", "r3", "b"};
        for (std::size_t i = 0; i < names_.size(); ++i) {
            names_[i] = lab_.add_namespace(short_names[i]);
            if (names_[i].empty()) return fail("ip netns add " + std::string(short_names[i]));
        }
        const bool have_seed = ::access("/proc/sys/net/ipv4/fib_multipath_hash_seed", F_OK) == 0;
        if (have_seed) seed_ = hash_seed_value;
        for (auto n : {route_node::a, route_node::r1, route_node::r2a, route_node::r2b, route_node::r3,
                       route_node::b}) {
            // Before any interface exists, so that the "default" values reach every one of them.
            std::vector<std::string> s{"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                                       "net.ipv4.conf.all.rp_filter=0",  "net.ipv4.conf.default.rp_filter=0",
                                       "net.ipv4.icmp_ratelimit=0",      "net.ipv6.icmp.ratelimit=0"};
            if (n != route_node::a && n != route_node::b) {
                s.insert(s.end(),
                         {"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                          "net.ipv4.fib_multipath_hash_policy=3", "net.ipv4.fib_multipath_hash_fields=0x37",
                          "net.ipv6.fib_multipath_hash_policy=3", "net.ipv6.fib_multipath_hash_fields=0x37"});
                if (have_seed)
                    s.push_back("net.ipv4.fib_multipath_hash_seed=" + std::to_string(hash_seed_value));
            }
            if (!lab_.sysctl(ns(n), s)) return false;
        }
        for (const auto& l : links) {
            const auto near_ns = ns(l.near), far_ns = ns(l.far);
            if (!lab_.veth(near_ns, l.near_if, far_ns, l.far_if)) return false;
            const std::string v4 = "198.51.100.", v6 = std::string("2001:db8:7274:") + l.v6_net + "::";
            const auto mtu = std::to_string(l.mtu);
            if (!lab_.ip(near_ns, {"link", "set", l.near_if, "mtu", mtu}) ||
                !lab_.ip(far_ns, {"link", "set", l.far_if, "mtu", mtu}) ||
                !lab_.ip(near_ns,
                         {"addr", "add", v4 + std::to_string(l.v4_base + 1) + "/30", "dev", l.near_if}) ||
                !lab_.ip(far_ns,
                         {"addr", "add", v4 + std::to_string(l.v4_base + 2) + "/30", "dev", l.far_if}) ||
                !lab_.ip(near_ns, {"-6", "addr", "add", v6 + "1/64", "dev", l.near_if, "nodad"}) ||
                !lab_.ip(far_ns, {"-6", "addr", "add", v6 + "2/64", "dev", l.far_if, "nodad"}))
                return false;
        }
        const auto A = ns(route_node::a), R1 = ns(route_node::r1), R2a = ns(route_node::r2a),
                   R2b = ns(route_node::r2b), R3 = ns(route_node::r3), B = ns(route_node::b);
        const std::string p4 = "198.51.100.", p6 = "2001:db8:7274:";
        const std::string a_side4 = p4 + "0/28", b_side4 = p4 + "16/28", a_side6 = p6 + "a0::/60",
                          b_side6 = p6 + "b0::/60";
        const bool ok = lab_.ip(A, {"route", "add", "default", "via", p4 + "2"}) &&
                        lab_.ip(A, {"-6", "route", "add", "default", "via", p6 + "a1::2"}) &&
                        lab_.ip(B, {"route", "add", "default", "via", p4 + "25"}) &&
                        lab_.ip(B, {"-6", "route", "add", "default", "via", p6 + "b3::1"}) &&
                        lab_.ip(R1, {"route", "add", b_side4, "src", p4 + "5", "nexthop", "via", p4 + "6",
                                     "nexthop", "via", p4 + "10"}) &&
                        lab_.ip(R1, {"-6", "route", "add", b_side6, "src", p6 + "a2::1", "nexthop", "via",
                                     p6 + "a2::2", "nexthop", "via", p6 + "a3::2"}) &&
                        lab_.ip(R3, {"route", "add", a_side4, "src", p4 + "18", "nexthop", "via", p4 + "17",
                                     "nexthop", "via", p4 + "21"}) &&
                        lab_.ip(R3, {"-6", "route", "add", a_side6, "src", p6 + "b1::2", "nexthop", "via",
                                     p6 + "b1::1", "nexthop", "via", p6 + "b2::1"}) &&
                        lab_.ip(R2a, {"route", "add", a_side4, "via", p4 + "5"}) &&
                        lab_.ip(R2a, {"route", "add", b_side4, "via", p4 + "18"}) &&
                        lab_.ip(R2a, {"-6", "route", "add", a_side6, "via", p6 + "a2::1"}) &&
                        lab_.ip(R2a, {"-6", "route", "add", b_side6, "via", p6 + "b1::2"}) &&
                        lab_.ip(R2b, {"route", "add", a_side4, "via", p4 + "9"}) &&
                        lab_.ip(R2b, {"route", "add", b_side4, "via", p4 + "22"}) &&
                        lab_.ip(R2b, {"-6", "route", "add", a_side6, "via", p6 + "a3::1"}) &&
                        lab_.ip(R2b, {"-6", "route", "add", b_side6, "via", p6 + "b2::2"});
        built_ = ok;
        return ok;
    }

    bool built() const noexcept { return built_; }
    std::string errors() const { return lab_.errors() + failures_; }
    /// What every namespace name of this lab starts with.
    const std::string& prefix() const noexcept { return lab_.prefix(); }

    /// The namespace of a node, for "ip netns exec NAME ...".
    const std::string& ns(route_node n) const { return names_[static_cast<std::size_t>(n)]; }

    /// The node's address as A's probes see it: a router's address on its link towards A (R3: the
    /// R2a side, whichever branch the probe took), B's and A's own address.
    static std::string address(route_node n, ip_family f) {
        static constexpr std::array<const char*, 6> v4{"198.51.100.1",  "198.51.100.2",  "198.51.100.6",
                                                       "198.51.100.10", "198.51.100.18", "198.51.100.26"};
        static constexpr std::array<const char*, 6> v6{"2001:db8:7274:a1::1", "2001:db8:7274:a1::2",
                                                       "2001:db8:7274:a2::2", "2001:db8:7274:a3::2",
                                                       "2001:db8:7274:b1::2", "2001:db8:7274:b3::2"};
        const auto i = static_cast<std::size_t>(n);
        return f == ip_family::v4 ? v4[i] : v6[i];
    }
    /// The node's address as B's probes see it (the link towards B; R1: the R2a side).
    static std::string address_from_b(route_node n, ip_family f) {
        static constexpr std::array<const char*, 6> v4{"198.51.100.1",  "198.51.100.5",  "198.51.100.17",
                                                       "198.51.100.21", "198.51.100.25", "198.51.100.26"};
        static constexpr std::array<const char*, 6> v6{"2001:db8:7274:a1::1", "2001:db8:7274:a2::1",
                                                       "2001:db8:7274:b1::1", "2001:db8:7274:b2::1",
                                                       "2001:db8:7274:b3::1", "2001:db8:7274:b3::2"};
        const auto i = static_cast<std::size_t>(n);
        return f == ip_family::v4 ? v4[i] : v6[i];
    }
    /// B's address: the target of the traces from A.
    static std::string target(ip_family f) { return address(route_node::b, f); }

    /// The hops from A to B in order, each with the addresses that may answer for it:
    /// {R1}, {R2a, R2b}, {R3}, {B}.
    static std::vector<std::vector<std::string>> hops(ip_family f) {
        return {{address(route_node::r1, f)},
                {address(route_node::r2a, f), address(route_node::r2b, f)},
                {address(route_node::r3, f)},
                {address(route_node::b, f)}};
    }
    /// The hops from B to A: {R3}, {R2a, R2b}, {R1}, {A}.
    static std::vector<std::vector<std::string>> hops_from_b(ip_family f) {
        return {{address_from_b(route_node::r3, f)},
                {address_from_b(route_node::r2a, f), address_from_b(route_node::r2b, f)},
                {address_from_b(route_node::r1, f)},
                {address_from_b(route_node::a, f)}};
    }

    /// The fixed multipath hash seed, or nothing when this kernel has no fib_multipath_hash_seed (< 6.11).
    std::optional<std::uint32_t> hash_seed() const noexcept { return seed_; }

    /// Runs argv inside a node's namespace.
    process_result exec(route_node n, std::vector<std::string> argv,
                        std::chrono::seconds timeout = std::chrono::seconds{20}) {
        return lab_.exec(ns(n), std::move(argv), timeout);
    }

    /// The router drops the ICMP time-exceeded it sends (v4 type 11, ICMPv6 type 3), as a router
    /// that does not answer traceroute: an nftables output rule in its namespace (table inet
    /// nettool_route_lab, chain out), counted.
    bool drop_time_exceeded(route_node router) {
        const auto& n = ns(router);
        return nft(n, {"add", "table", "inet", "nettool_route_lab"}) &&
               nft(n, {"add", "chain", "inet", "nettool_route_lab", "out",
                       "{ type filter hook output priority 0; policy accept; }"}) &&
               nft(n, {"add", "rule", "inet", "nettool_route_lab", "out", "icmp", "type", "time-exceeded",
                       "counter", "drop"}) &&
               nft(n, {"add", "rule", "inet", "nettool_route_lab", "out", "icmpv6", "type", "time-exceeded",
                       "counter", "drop"});
    }
    /// How many time-exceeded messages drop_time_exceeded's rules dropped in that router (v4 + v6).
    std::uint64_t time_exceeded_dropped(route_node router) {
        auto r = exec(router, {"nft", "list", "chain", "inet", "nettool_route_lab", "out"},
                      std::chrono::seconds{10});
        std::uint64_t total = 0;
        std::istringstream in(r.out);
        for (std::string word; in >> word;)
            if (word == "packets") {
                std::uint64_t n = 0;
                if (in >> n) total += n;
            }
        return total;
    }

    /// Sets the router's per-destination ICMP rate limit (net.ipv4.icmp_ratelimit and
    /// net.ipv6.icmp.ratelimit, in ms) and makes sure time exceeded is among the rate-limited types
    /// (bit 11 of net.ipv4.icmp_ratemask, type 3 in net.ipv6.icmp.ratemask; both are there by default).
    bool rate_limit_icmp(route_node router, std::chrono::milliseconds interval) {
        const auto& n = ns(router);
        auto mask = lab_.exec(n, {"sysctl", "-n", "net.ipv4.icmp_ratemask"}, std::chrono::seconds{10});
        auto mask6 = lab_.exec(n, {"sysctl", "-n", "net.ipv6.icmp.ratemask"}, std::chrono::seconds{10});
        if (mask.exit_code != 0 || mask6.exit_code != 0)
            return fail("cannot read the icmp ratemasks in " + n);
        unsigned long bits = 0;
        try {
            bits = std::stoul(mask.out);
        } catch (const std::exception&) {
            return fail("icmp_ratemask in " + n + ": " + mask.out);
        }
        std::string list6 = mask6.out.substr(0, mask6.out.find('\n'));
        const auto ms = std::to_string(interval.count());
        return lab_.sysctl(n, {"net.ipv4.icmp_ratemask=" + std::to_string(bits | (1UL << 11)),
                               "net.ipv6.icmp.ratemask=" + list6 + ",3", "net.ipv4.icmp_ratelimit=" + ms,
                               "net.ipv6.icmp.ratelimit=" + ms});
    }
    /// The router's count of ICMP messages held back by the per-destination limit
    /// (IcmpOutRateLimitHost or Icmp6OutRateLimitHost), or -1 if it cannot be read.
    long long icmp_rate_limited(route_node router, ip_family f) {
        const std::string counter = f == ip_family::v4 ? "IcmpOutRateLimitHost" : "Icmp6OutRateLimitHost";
        // -a absolute values, -s leave nstat's history file alone, -z print zeros too.
        auto r = exec(router, {"nstat", "-asz", counter}, std::chrono::seconds{10});
        std::istringstream in(r.out);
        for (std::string line; std::getline(in, line);) {
            std::istringstream words(line);
            std::string name;
            long long value = -1;
            if (words >> name >> value && name == counter) return value;
        }
        return -1;
    }

private:
    struct link_plan {
        route_node near, far;
        const char* near_if;
        const char* far_if;
        int v4_base;         // the /30 starts at 198.51.100.<v4_base>
        const char* v6_net;  // 2001:db8:7274:<v6_net>::/64
        int mtu;
    };
    static constexpr std::array<link_plan, 6> links{{
        {route_node::a, route_node::r1, "to_r1", "to_a", 0, "a1", 1500},
        {route_node::r1, route_node::r2a, "to_r2a", "to_r1", 4, "a2", 1500},
        {route_node::r1, route_node::r2b, "to_r2b", "to_r1", 8, "a3", 1500},
        {route_node::r2a, route_node::r3, "to_r3", "to_r2a", 16, "b1", 1500},
        {route_node::r2b, route_node::r3, "to_r3", "to_r2b", 20, "b2", 1500},
        {route_node::r3, route_node::b, "to_b", "to_r3", 24, "b3", narrow_mtu},
    }};

    static int next_id() {
        static std::atomic<int> id{0};
        return id++;
    }
    bool fail(const std::string& what) {
        failures_ += what + "\n";
        return false;
    }
    bool nft(const std::string& n, std::vector<std::string> args) {
        args.insert(args.begin(), "nft");
        auto r = lab_.exec(n, std::move(args), std::chrono::seconds{10});
        if (r.exit_code != 0) fail("nft in " + n + ": " + r.err);
        return r.exit_code == 0;
    }

    netns_lab lab_;
    std::array<std::string, 6> names_{};
    std::optional<std::uint32_t> seed_;
    std::string failures_;
    bool built_ = false;
};

}  // namespace nettool::test
