#pragma once
// The few bytes nettool's DNS code reads itself, through nettool::cursor: the fixed 12-byte
// header (ID, flags, counts) peeked before a message is handed to ldns. Everything else in a
// DNS message is parsed by ldns.

#include <nettool/core/export.hpp>
#include <nettool/core/cursor.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

// Exported for tests and benchmarks only (see nettool/core/export.hpp); not public API.
NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

/// The fixed DNS header, read through the cursor (RFC 1035 4.1.1).
struct dns_header_peek {
    std::uint16_t id = 0;
    std::uint16_t flags = 0;
    std::uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;

    bool qr() const noexcept { return (flags & 0x8000u) != 0; }
    bool tc() const noexcept { return (flags & 0x0200u) != 0; }
    unsigned rcode() const noexcept { return flags & 0x000fu; }

    static std::optional<dns_header_peek> parse(std::span<const std::byte> msg) noexcept {
        cursor c{msg};
        dns_header_peek h;
        h.id = c.u16();
        h.flags = c.u16();
        h.qdcount = c.u16();
        h.ancount = c.u16();
        h.nscount = c.u16();
        h.arcount = c.u16();
        if (!c.ok()) return std::nullopt;
        return h;
    }
};
static_assert(sizeof(std::uint16_t) * 6 == 12, "DNS header is 12 bytes");

}  // namespace nettool::detail
NETTOOL_TESTING_API_END
