// libFuzzer: what a trace reads from the wire. The first byte picks the reader: the quoted probe
// of an ICMP error or an echo reply (UDP payload, ICMP echo, TCP header, against a fixed token),
// an IPv4 packet from a raw socket, or a TCP answer to a SYN probe.
#include "trace/probe_tag.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto bytes = std::as_bytes(std::span(data + 1, size - 1));
    using namespace nettool::detail;
    switch (data[0] % 5) {
    case 0: (void)parse_probe_quote(bytes, quote_kind::udp_payload, 0x01020304); break;
    case 1: (void)parse_probe_quote(bytes, quote_kind::icmp_echo, 0x01020304); break;
    case 2: (void)parse_probe_quote(bytes, quote_kind::tcp_header, 0x01020304); break;
    case 3: {
        const auto inner = ipv4_payload(bytes);
        tcp_answer a;
        (void)parse_tcp_answer(inner, a);
        (void)parse_probe_quote(inner, quote_kind::icmp_echo, 0x01020304);
        break;
    }
    default: {
        tcp_answer a;
        (void)parse_tcp_answer(bytes, a);
    }
    }
    return 0;
}
