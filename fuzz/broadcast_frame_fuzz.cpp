// libFuzzer: received Ethernet frames as `nettool listen --ether` decodes them (Ethernet II with
// optional 802.1Q tag, Wake-on-LAN magic packet, printable text), and UDP payloads likewise.
#include <nettool/netclass/broadcast.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto bytes = std::as_bytes(std::span(data, size));
    std::error_code ec;
    const auto f = nettool::parse_ethernet_frame(bytes, ec);
    if (!ec) {
        std::error_code wec;
        (void)nettool::parse_wol_payload(f.payload, wec);
        (void)nettool::printable_text(f.payload);
    }
    std::error_code wec;
    (void)nettool::parse_wol_payload(bytes, wec);
    return 0;
}
