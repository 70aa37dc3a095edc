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
    (void)is_interval_request(in);
    static udp_interval_counts counts[max_report_intervals];
    const auto iv = decode_interval_report(in, counts);
    if (iv) {
        if (iv.value > max_report_intervals) __builtin_trap();
        for (std::size_t i = 0; i < iv.value; ++i)
            if (std::uint64_t{counts[i].duplicates} + counts[i].out_of_order > counts[i].received) __builtin_trap();
        static std::byte out[max_interval_report_size];
        const auto n = encode_interval_report({counts, iv.value}, out);
        if (n != interval_report_header_size + iv.value * interval_counts_size) __builtin_trap();
        static udp_interval_counts again[max_report_intervals];
        const auto back = decode_interval_report({out, n}, again);
        if (!back || back.value != iv.value) __builtin_trap();
        for (std::size_t i = 0; i < iv.value; ++i)
            if (!(again[i] == counts[i])) __builtin_trap();
    }
    if (u) {
        // The header's fields, interval included, survive a round trip.
        std::byte out[udp_header_size];
        if (encode(u.value, out) != udp_header_size || !(decode_udp_header(out).value == u.value)) __builtin_trap();
    }
    return 0;
}
