#pragma once
// A TUN device (layer 3, no packet information header) opened in the calling thread's network
// namespace. Non-persistent: the kernel removes the device when the descriptor closes.
//
// Every read and write carries a virtio_net_hdr (IFF_VNET_HDR, vnet_header_size bytes) before
// the IP packet. Written with zeros it means "an ordinary packet with its checksums done"; it
// lets one read or write carry a GSO super-packet (a TCP or UDP segment train up to 64 KB) once
// enable_offloads() has been called on the reading side.

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>

namespace nettool::detail {

struct tun_device {
    int fd = -1;  ///< O_NONBLOCK, O_CLOEXEC
    std::string name;
    int ifindex = 0;
};

/// struct virtio_net_hdr of <linux/virtio_net.h> (a C header that does not compile as C++: its
/// control structures have a member named `class`), in the host's byte order, as a TUN device
/// uses it unless told otherwise (TUNSETVNETLE/BE).
struct vnet_header {
    std::uint8_t flags = 0;     ///< VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum is left to the receiver
    std::uint8_t gso_type = 0;  ///< vnet_gso_*
    std::uint16_t hdr_len = 0;
    std::uint16_t gso_size = 0;  ///< payload bytes per segment
    std::uint16_t csum_start = 0;
    std::uint16_t csum_offset = 0;
};
inline constexpr std::uint8_t vnet_gso_none = 0, vnet_gso_tcpv4 = 1, vnet_gso_udp = 3, vnet_gso_tcpv6 = 4,
                              vnet_gso_udp_l4 = 5, vnet_gso_ecn = 0x80;

/// The bytes before each packet read from or written to a tun_device.
inline constexpr std::size_t vnet_header_size = sizeof(vnet_header);
static_assert(vnet_header_size == 10);

/// The device's transmit queue (packets the stack has sent that the reader has not read yet),
/// twice Ethernet's default: it absorbs a sender's burst (a TSO train, a sendmmsg batch) while
/// the forwarding loop is busy writing the previous one.
inline constexpr int tun_queue_length = 2000;

/// Creates a TUN device named after pattern ("ntlink%d": the kernel picks the number), with
/// IFF_VNET_HDR and a transmit queue of tun_queue_length packets.
tun_device open_tun(const char* pattern, std::error_code& ec) noexcept;

/// TUNSETOFFLOAD: the kernel may hand this device's reader packets with a partial checksum and
/// TCP (TSO) and UDP (USO, Linux 6.2 and later) super-packets, one read for up to 64 KB of
/// segments, described in the virtio_net_hdr. Without USO in the kernel, TCP alone. Returns
/// whether the kernel took USO (then it also takes UDP GSO super-packets written to a device).
bool enable_offloads(int fd, std::error_code& ec) noexcept;

}  // namespace nettool::detail
