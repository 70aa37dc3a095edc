// libFuzzer: the bytes of a TLS server's answer that nettool reads itself: whether they begin
// like a TLS record, the status line of the HTTP response after --http, and the quoting of both
// in messages. (OpenSSL parses the records and certificates.)
#include "tls/server_bytes.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto bytes = std::as_bytes(std::span(data, size));
    using namespace nettool::detail;
    (void)looks_like_tls_record(bytes);
    (void)parse_http_status(bytes);
    const auto quoted = quote_bytes(bytes, 40);
    if (quoted.size() > 40 * 4 + 3) __builtin_trap();  // every byte at most \xNN, then "..."
    return 0;
}
