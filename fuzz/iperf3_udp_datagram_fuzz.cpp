// libFuzzer: what nettool reads on an iperf3 UDP data port -- a connect message or reply, and the
// header at the front of a data datagram with 32- and 64-bit counters. What parses must write
// back to the same bytes.
#include <nettool/iperf3/udp_datagram.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto bytes = std::as_bytes(std::span(data, size));
    using namespace nettool::iperf3;
    (void)parse_connect_message(bytes);
    (void)parse_connect_reply(bytes);
    for (const bool wide : {false, true}) {
        const auto h = parse_udp_header(bytes, wide);
        if (!h) continue;
        if (size < udp_header_size(wide) || h->usec >= 1'000'000) __builtin_trap();
        std::array<std::byte, udp_header_size_64> out{};
        const auto n = write_udp_header(out, *h, wide);
        if (n != udp_header_size(wide) || std::memcmp(out.data(), data, n) != 0) __builtin_trap();
    }
    return 0;
}
