#pragma once
// A TUN device (layer 3, no packet information header) opened in the calling thread's network
// namespace. Non-persistent: the kernel removes the device when the descriptor closes.

#include <string>
#include <system_error>

namespace nettool::detail {

struct tun_device {
    int fd = -1;  ///< O_NONBLOCK, O_CLOEXEC
    std::string name;
    int ifindex = 0;
};

/// Creates a TUN device named after pattern ("ntlink%d": the kernel picks the number).
tun_device open_tun(const char* pattern, std::error_code& ec) noexcept;

}  // namespace nettool::detail
