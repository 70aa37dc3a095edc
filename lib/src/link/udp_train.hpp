#pragma once
// User-space GRO for UDP, on the way into a TUN device: consecutive datagrams of one flow and
// one size, read one by one from the other device, leave as one UDP GSO super-packet (virtio's
// GSO_UDP_L4, Linux 6.2's USO), so one write() carries up to 64 of them. The kernel behind the
// device takes the train as it takes one from a virtio NIC: a socket with UDP_GRO reads it
// whole, any other gets it cut back into the original datagrams (udp_rcv_segment), with the
// same addresses, ports, payloads and sizes. Used only by a direction without impairment,
// where the link treats every packet alike anyway.
//
// A datagram can join when it is UDP over IPv4 without options and not a fragment, or over
// IPv6 without extension headers, carries a checksum (complete, or left partial to the device:
// a device with offloads receives a socket's datagrams so), and matches the train's first datagram
// in every header field but the IPv4 identification and checksums; its payload must be the
// first one's size, or smaller to end the train (as GSO's last segment). Fixed memory: one
// 64 KB buffer.

#include "tun.hpp"

#include <nettool/core/export.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

class udp_train {
public:
    static constexpr std::size_t max_segments = 64;

    /// Starts a train with ip (and the vnet_header it was read with) when it is a datagram that
    /// can lead one; false otherwise (the train is then empty).
    bool begin(const vnet_header& h, std::span<const std::byte> ip) noexcept;
    /// Adds ip to the train when it continues it; false when it does not (the train is unchanged).
    bool append(const vnet_header& h, std::span<const std::byte> ip) noexcept;
    bool empty() const noexcept { return count_ == 0; }
    std::size_t segments() const noexcept { return count_; }
    /// The train for a TUN write, vnet_header first: the datagram alone as it came, or a UDP GSO
    /// super-packet (lengths and IPv4 header checksum rewritten, the UDP checksum left to the
    /// receiver as a partial one over the pseudo-header). Empties the train; the span stays
    /// valid until the next begin().
    std::span<const std::byte> take() noexcept;

private:
    bool checksum_ok(const vnet_header& h) const noexcept;

    std::array<std::byte, vnet_header_size + 65535> buf_{};
    vnet_header first_{};        // the first datagram's, given back when it stays alone
    std::size_t length_ = 0;     // of the IP packet after the header room
    std::size_t ip_header_ = 0;  // 20 or 40
    std::size_t segment_ = 0;    // UDP payload per datagram
    std::size_t count_ = 0;
    bool closed_ = false;  // a shorter datagram ended it
};

}  // namespace nettool::detail
NETTOOL_TESTING_API_END
