// Fuzzes every decoder of the responder's wire protocol: bytes from the network, in any order.
#include <nettool/probe/protocol.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> in{reinterpret_cast<const std::byte*>(data), size};
    using namespace nettool::proto;
    const auto h = decode_hello(in);
    if (h) {
        std::byte out[hello_size];
        if (encode(h.value, out) != hello_size) __builtin_trap();
        if (!(decode_hello(out).value == h.value)) __builtin_trap();
    }
    (void)decode_hello_reply(in);
    const auto u = decode_udp_header(in);
    if (u && in.size() < udp_header_size) __builtin_trap();
    const auto r = decode_udp_report(in);
    if (r && r.value.duplicates > r.value.received) __builtin_trap();
    if (r) {
        std::byte out[udp_report_extended_size];
        if (!(decode_udp_report({out, encode(r.value, out)}).value == r.value)) __builtin_trap();
    }
    (void)decode_sink_report(in);
    (void)is_report_request(in);
    return 0;
}
