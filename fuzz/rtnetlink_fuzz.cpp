// libFuzzer: the rtnetlink route-dump parser (bytes the kernel sends to read_routes()).
#include "netclass/rtnetlink.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<nettool::route_entry> routes;
    bool done = false;
    (void)nettool::detail::parse_route_dump(std::as_bytes(std::span(data, size)), routes, &done);
    return 0;
}
