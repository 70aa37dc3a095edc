#include "tun.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nettool::detail {

tun_device open_tun(const char* pattern, std::error_code& ec) noexcept {
    tun_device t;
    const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        ec = {errno, std::system_category()};
        return t;
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, pattern, IFNAMSIZ - 1);
    if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
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
    return t;
}

}  // namespace nettool::detail
