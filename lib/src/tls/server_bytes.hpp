#pragma once
// The few bytes of a TLS server's answer that nettool reads itself (OpenSSL reads the rest):
// whether the first bytes are a TLS record at all, and the status line of an HTTP response.
// Both read through nettool::cursor; fuzz/tls_server_bytes_fuzz.cpp drives them.

#include <nettool/core/export.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>

NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

/// True when data begins like a TLS record: a content type from 20 (change_cipher_spec) to 24
/// (heartbeat) and a version whose major byte is 3. Fewer than 3 bytes: false.
bool looks_like_tls_record(std::span<const std::byte> data) noexcept;

/// The status code of "HTTP/1.1 200 OK\r\n..." (HTTP/1.0, 1.1): three digits from 100 to 599
/// after the version and one space. nullopt when data does not begin with a whole status line's
/// version and code.
std::optional<int> parse_http_status(std::span<const std::byte> data) noexcept;

/// At most max_bytes of data for a message: printable ASCII as is, anything else as \xNN.
std::string quote_bytes(std::span<const std::byte> data, std::size_t max_bytes);

}  // namespace nettool::detail
NETTOOL_TESTING_API_END
