// libFuzzer target for the capture file reader and the on-wire timeline readers: the input is a
// whole pcap/pcapng file (through a memfd, as libpcap reads files), read to its end for one TCP
// connection and one UDP flow.
#include <nettool/packet/flow_timeline.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const int fd = ::memfd_create("capture", MFD_CLOEXEC);
    if (fd < 0) return 0;
    if (::write(fd, data, size) != static_cast<ssize_t>(size)) {
        ::close(fd);
        return 0;
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    std::error_code ec;
    auto a = nettool::socket_address::from_numeric("127.0.0.1", 40000, ec);
    auto b = nettool::socket_address::from_numeric("127.0.0.1", 51423, ec);
    {
        auto f = nettool::capture_file::open(path, ec);
        if (!ec) (void)nettool::find_tcp_flow(f, {a, b, {16, 80, 1u << 20}, {16, 80}});
    }
    {
        auto f = nettool::capture_file::open(path, ec);
        if (!ec) (void)nettool::find_udp_flow(f, a, b, 4);
    }
    ::close(fd);
    return 0;
}
