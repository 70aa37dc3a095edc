// libFuzzer: what nettool reads on an iperf3 control connection: a state byte, the codes after
// SERVER_ERROR, and a length-prefixed JSON message (the server's results), framed with the cap,
// then parsed, type-checked and range-checked. The seeds are real messages from captures of
// iperf3 3.12 on loopback, each framed as on the wire.
#include <nettool/core/error.hpp>
#include <nettool/iperf3/control.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto bytes = std::as_bytes(std::span(data, size));
    using namespace nettool::iperf3;
    if (!bytes.empty()) {
        const auto s = parse_state(std::to_integer<std::uint8_t>(bytes[0]));
        if (s) (void)state_name(static_cast<std::int8_t>(*s));
        if (const auto e = parse_server_error(bytes.subspan(1))) (void)describe_iperf_error(e->iperf_error);
    }
    const auto f = parse_frame(bytes);
    if (f.status == frame_status::ok) {
        if (f.json.size() > max_message || f.consumed != f.json.size() + 4) __builtin_trap();
        try {
            const auto r = parse_results(f.json);
            if (r.streams.size() > 256) __builtin_trap();
            (void)results_json(r);  // what was accepted can be written back
        } catch (const nettool::error&) {
        }
    }
    return 0;
}
