#pragma once
// The parameters an iperf3 client sends at PARAM_EXCHANGE, as nettool's iperf3 server reads them:
// framed with the 8 KiB cap, parsed, every field it uses typed and range-checked, unknown fields
// ignored. Fuzzed by fuzz/iperf3_server_params_fuzz.cpp.

#include <nettool/core/export.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

struct iperf3_params {
    bool udp = false;               ///< "udp": true (else TCP)
    std::uint32_t time_s = 0;       ///< "time": seconds; 0 with "num" or "blockcount"
    std::uint32_t omit_s = 0;       ///< "omit"
    std::uint64_t num = 0;          ///< "num": bytes to send (-n)
    std::uint64_t blockcount = 0;   ///< "blockcount" (-k)
    unsigned parallel = 1;          ///< "parallel": streams per direction
    bool reverse = false;           ///< "reverse": the server sends
    bool bidir = false;             ///< "bidirectional": both send
    std::uint32_t len = 128 * 1024;  ///< "len": bytes per write (TCP) or datagram (UDP)
    std::uint64_t bandwidth = 0;    ///< "bandwidth": bits/s per stream; 0 unlimited
    bool udp_counters_64bit = false;  ///< "udp_counters_64bit"
    std::string congestion;         ///< "congestion" (-C), empty if none
    bool get_server_output = false;
    std::string client_version;     ///< "client_version" when sent
};

/// Why a parameters message was refused, and the i_errno iperf3 would send for it.
struct iperf3_params_error {
    std::int32_t iperf_error = 0;  ///< 0: accepted
    std::string why;
};

/// Parses the JSON of a parameters message (without its length). On refusal sets err and returns
/// a default iperf3_params. Never throws.
iperf3_params parse_iperf3_params(std::span<const std::byte> json, iperf3_params_error& err) noexcept;

/// Frames then parses: the 4-byte length and the JSON, as they arrive on the control
/// connection. A length over iperf3_server_caps::max_params, 0, or a short message is refused.
iperf3_params parse_iperf3_params_message(std::span<const std::byte> message, iperf3_params_error& err) noexcept;

}  // namespace nettool::detail
NETTOOL_TESTING_API_END
