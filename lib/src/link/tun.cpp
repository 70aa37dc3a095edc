#include "tun.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

// Linux 6.2's UDP segmentation offload flags, absent from older userspace headers.
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

namespace nettool::detail {

tun_device open_tun(const char* pattern, std::error_code& ec) noexcept {
    tun_device t;
    const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        ec = {errno, std::system_category()};
        return t;
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
    std::strncpy(ifr.ifr_name, pattern, IFNAMSIZ - 1);
    const int header = static_cast<int>(vnet_header_size);
    if (::ioctl(fd, TUNSETIFF, &ifr) != 0 || ::ioctl(fd, TUNSETVNETHDRSZ, &header) != 0) {
        ec = {errno, std::system_category()};
        ::close(fd);
        return t;
    }
    ifr.ifr_name[IFNAMSIZ - 1] = '\0';
    t.fd = fd;
    t.name = ifr.ifr_name;
    t.ifindex = static_cast<int>(::if_nametoindex(ifr.ifr_name));
    if (t.ifindex == 0) {
        ec = {errno, std::system_category()};
        ::close(fd);
        return tun_device{};
    }
    // The queue length is set through any socket of this namespace.
    const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifr.ifr_qlen = tun_queue_length;
    if (sock < 0 || ::ioctl(sock, SIOCSIFTXQLEN, &ifr) != 0) {
        ec = {errno, std::system_category()};
        if (sock >= 0) ::close(sock);
        ::close(fd);
        return tun_device{};
    }
    ::close(sock);
    return t;
}

bool enable_offloads(int fd, std::error_code& ec) noexcept {
    const unsigned tcp = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    if (::ioctl(fd, TUNSETOFFLOAD, tcp | TUN_F_USO4 | TUN_F_USO6) == 0) return true;
    if (errno == EINVAL && ::ioctl(fd, TUNSETOFFLOAD, tcp) == 0) return false;  // before Linux 6.2: no USO
    ec = {errno, std::system_category()};
    return false;
}

}  // namespace nettool::detail
