#pragma once
// Configures interfaces of the calling thread's network namespace over rtnetlink: link up and
// MTU, addresses (IPv6 without duplicate address detection), default routes. What `ip link set`,
// `ip addr add ... nodad` and `ip route add default dev` do, without running ip(8).

#include <nettool/net/address.hpp>

#include <cstddef>
#include <span>
#include <system_error>

namespace nettool::detail {

class netlink_config {
public:
    /// Opens a NETLINK_ROUTE socket in the calling thread's network namespace.
    explicit netlink_config(std::error_code& ec) noexcept;
    ~netlink_config();
    netlink_config(const netlink_config&) = delete;
    netlink_config& operator=(const netlink_config&) = delete;

    std::error_code set_up(int ifindex, std::size_t mtu) noexcept;
    std::error_code add_address(int ifindex, const ip_address& a, int prefix_length) noexcept;
    std::error_code add_default_route(int ifindex, ip_family family) noexcept;

private:
    std::error_code request(std::span<const std::byte> message) noexcept;
    int fd_ = -1;
    unsigned seq_ = 0;
};

/// The error an rtnetlink acknowledgement carries: {} for success (error 0), the kernel's errno,
/// or errc::malformed / errc::truncated when the reply is not a well-formed NLMSG_ERROR for seq.
/// Every read goes through nettool::cursor.
std::error_code parse_netlink_ack(std::span<const std::byte> reply, unsigned seq) noexcept;

}  // namespace nettool::detail
