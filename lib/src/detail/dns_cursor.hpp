#pragma once
// The one bounds-checked cursor for the few bytes nettool's DNS code reads itself: the TCP
// two-byte length prefix and the fixed 12-byte header (ID, flags, counts) that is peeked before a
// message is handed to ldns. A read past the end fails cleanly (returns nullopt and latches
// ok() == false); it never touches memory outside the span.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace nettool::detail {

class dns_cursor {
public:
    explicit dns_cursor(std::span<const std::byte> data) noexcept : data_(data) {}

    std::optional<std::uint8_t> u8() noexcept {
        if (!ok_ || data_.size() - pos_ < 1) return fail();
        return static_cast<std::uint8_t>(data_[pos_++]);
    }
    std::optional<std::uint16_t> u16() noexcept {
        if (!ok_ || data_.size() - pos_ < 2) return fail();
        const auto hi = static_cast<std::uint16_t>(data_[pos_]);
        const auto lo = static_cast<std::uint16_t>(data_[pos_ + 1]);
        pos_ += 2;
        return static_cast<std::uint16_t>((hi << 8) | lo);
    }
    /// The next n bytes as a sub-span, or nullopt when fewer remain.
    std::optional<std::span<const std::byte>> bytes(std::size_t n) noexcept {
        if (!ok_ || data_.size() - pos_ < n) {
            ok_ = false;
            return std::nullopt;
        }
        auto s = data_.subspan(pos_, n);
        pos_ += n;
        return s;
    }
    std::size_t remaining() const noexcept { return data_.size() - pos_; }
    std::size_t position() const noexcept { return pos_; }
    bool ok() const noexcept { return ok_; }

private:
    std::nullopt_t fail() noexcept {
        ok_ = false;
        return std::nullopt;
    }
    std::span<const std::byte> data_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

/// The fixed DNS header, read through the cursor (RFC 1035 4.1.1).
struct dns_header_peek {
    std::uint16_t id = 0;
    std::uint16_t flags = 0;
    std::uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;

    bool qr() const noexcept { return (flags & 0x8000u) != 0; }
    bool tc() const noexcept { return (flags & 0x0200u) != 0; }
    unsigned rcode() const noexcept { return flags & 0x000fu; }

    static std::optional<dns_header_peek> parse(std::span<const std::byte> msg) noexcept {
        dns_cursor c{msg};
        dns_header_peek h;
        auto id = c.u16();
        auto fl = c.u16();
        auto qd = c.u16();
        auto an = c.u16();
        auto ns = c.u16();
        auto ar = c.u16();
        if (!c.ok()) return std::nullopt;
        h.id = *id;
        h.flags = *fl;
        h.qdcount = *qd;
        h.ancount = *an;
        h.nscount = *ns;
        h.arcount = *ar;
        return h;
    }
};
static_assert(sizeof(std::uint16_t) * 6 == 12, "DNS header is 12 bytes");

}  // namespace nettool::detail
