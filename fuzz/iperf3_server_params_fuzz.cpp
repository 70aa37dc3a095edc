// libFuzzer: what nettool's iperf3 server reads at PARAM_EXCHANGE: a length-prefixed JSON message
// framed with the 8 KiB cap, then parsed, every field it uses typed and range-checked
// (lib/src/iperf3/server_params.hpp). The seeds are parameters iperf3 3.12 sent, framed as on the
// wire.
#include "iperf3/server_params.hpp"

#include <nettool/iperf3/server.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto bytes = std::as_bytes(std::span(data, size));
    using caps = nettool::iperf3_server_caps;
    nettool::detail::iperf3_params_error err;
    const auto p = nettool::detail::parse_iperf3_params_message(bytes, err);
    if (err.iperf_error == 0) {
        // What was accepted is inside every limit.
        if (p.parallel < 1 || p.parallel > caps::max_parallel) __builtin_trap();
        if (p.len == 0 || p.len > (p.udp ? caps::max_udp_len : caps::max_tcp_len)) __builtin_trap();
        if (p.time_s + p.omit_s > caps::max_duration.count()) __builtin_trap();
        if (p.congestion.size() > 15) __builtin_trap();
    } else if (err.why.empty()) {
        __builtin_trap();  // every refusal says why
    }
    (void)nettool::detail::parse_iperf3_params(bytes, err);  // the JSON alone, unframed
    return 0;
}
