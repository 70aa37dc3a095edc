#pragma once
// The one bounds-checked reader every parser of outside bytes goes through.
//
// A cursor walks a std::span<const std::byte>. Every read checks the remaining length first; a
// read past the end returns 0 (or an empty span), does not move, and latches ok() to false, so
// a parser can read a whole header and test ok() once (tcpdump's GET_ macros, made sticky).
// Multi-byte reads are big-endian (network order) unless the name ends in _le (little-endian)
// or _host (this machine's byte order, as in netlink messages from the kernel).

#include <nettool/core/export.hpp>
#include <cstddef>
#include <bit>
#include <cstdint>
#include <span>

NETTOOL_API_BEGIN
namespace nettool {

class cursor {
public:
    constexpr cursor() noexcept = default;
    constexpr explicit cursor(std::span<const std::byte> data) noexcept : data_(data) {}

    /// False once any read or skip ran past the end.
    constexpr bool ok() const noexcept { return ok_; }
    constexpr std::size_t offset() const noexcept { return pos_; }
    constexpr std::size_t size() const noexcept { return data_.size(); }
    constexpr std::size_t remaining() const noexcept { return data_.size() - pos_; }
    constexpr bool has(std::size_t n) const noexcept { return n <= remaining(); }
    constexpr bool empty() const noexcept { return remaining() == 0; }

    constexpr std::uint8_t u8() noexcept {
        if (!need(1)) return 0;
        return byte_at(pos_++);
    }
    constexpr std::uint16_t u16() noexcept {
        if (!need(2)) return 0;
        auto v = static_cast<std::uint16_t>((byte_at(pos_) << 8) | byte_at(pos_ + 1));
        pos_ += 2;
        return v;
    }
    constexpr std::uint32_t u24() noexcept {
        if (!need(3)) return 0;
        auto v = (std::uint32_t{byte_at(pos_)} << 16) | (std::uint32_t{byte_at(pos_ + 1)} << 8) |
                 std::uint32_t{byte_at(pos_ + 2)};
        pos_ += 3;
        return v;
    }
    constexpr std::uint32_t u32() noexcept {
        if (!need(4)) return 0;
        auto v = (std::uint32_t{byte_at(pos_)} << 24) | (std::uint32_t{byte_at(pos_ + 1)} << 16) |
                 (std::uint32_t{byte_at(pos_ + 2)} << 8) | std::uint32_t{byte_at(pos_ + 3)};
        pos_ += 4;
        return v;
    }
    constexpr std::uint64_t u64() noexcept {
        if (!need(8)) return 0;
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | byte_at(pos_ + i);
        pos_ += 8;
        return v;
    }
    constexpr std::uint16_t u16_le() noexcept {
        if (!need(2)) return 0;
        auto v = static_cast<std::uint16_t>(byte_at(pos_) | (byte_at(pos_ + 1) << 8));
        pos_ += 2;
        return v;
    }
    constexpr std::uint32_t u32_le() noexcept {
        if (!need(4)) return 0;
        auto v = std::uint32_t{byte_at(pos_)} | (std::uint32_t{byte_at(pos_ + 1)} << 8) |
                 (std::uint32_t{byte_at(pos_ + 2)} << 16) | (std::uint32_t{byte_at(pos_ + 3)} << 24);
        pos_ += 4;
        return v;
    }

    constexpr std::uint16_t u16_host() noexcept {
        return std::endian::native == std::endian::little ? u16_le() : u16();
    }
    constexpr std::uint32_t u32_host() noexcept {
        return std::endian::native == std::endian::little ? u32_le() : u32();
    }

    /// Advances n bytes; false (and not ok) when fewer remain.
    constexpr bool skip(std::size_t n) noexcept {
        if (!need(n)) return false;
        pos_ += n;
        return true;
    }
    /// The next n bytes as a sub-span, advancing; empty (and not ok) when fewer remain.
    constexpr std::span<const std::byte> take(std::size_t n) noexcept {
        if (!need(n)) return {};
        auto s = data_.subspan(pos_, n);
        pos_ += n;
        return s;
    }
    /// Moves to an absolute offset inside the data (DNS compression pointers).
    constexpr bool seek(std::size_t off) noexcept {
        if (off > data_.size()) {
            ok_ = false;
            return false;
        }
        pos_ = off;
        return true;
    }
    /// Everything not yet read; does not advance.
    constexpr std::span<const std::byte> rest() const noexcept { return data_.subspan(pos_); }
    constexpr std::span<const std::byte> data() const noexcept { return data_; }

    // Checked random access for views whose accessors decode on each read: out-of-range reads
    // return 0 (a view only calls these on offsets its parse() already proved present).
    static constexpr std::uint8_t u8_at(std::span<const std::byte> d, std::size_t off) noexcept {
        cursor c{d};
        c.seek(off);
        return c.u8();
    }
    static constexpr std::uint16_t u16_at(std::span<const std::byte> d, std::size_t off) noexcept {
        cursor c{d};
        c.seek(off);
        return c.u16();
    }
    static constexpr std::uint32_t u32_at(std::span<const std::byte> d, std::size_t off) noexcept {
        cursor c{d};
        c.seek(off);
        return c.u32();
    }
    /// Sub-span [off, off+n) or empty when it does not fit.
    static constexpr std::span<const std::byte> slice(std::span<const std::byte> d, std::size_t off,
                                                      std::size_t n) noexcept {
        if (off > d.size() || n > d.size() - off) return {};
        return d.subspan(off, n);
    }

private:
    constexpr bool need(std::size_t n) noexcept {
        if (n > remaining()) {
            ok_ = false;
            return false;
        }
        return true;
    }
    constexpr std::uint8_t byte_at(std::size_t i) const noexcept {
        return std::to_integer<std::uint8_t>(data_[i]);
    }

    std::span<const std::byte> data_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

/// The writing counterpart for encoders: big-endian integers into a caller's buffer; ok() is
/// false once something did not fit (nothing is written past the end).
class byte_writer {
public:
    constexpr explicit byte_writer(std::span<std::byte> out) noexcept : out_(out) {}
    constexpr std::size_t size() const noexcept { return pos_; }
    constexpr bool ok() const noexcept { return !overflow_; }
    constexpr void u8(std::uint8_t v) noexcept { put(v, 1); }
    constexpr void u16(std::uint16_t v) noexcept { put(v, 2); }
    constexpr void u32(std::uint32_t v) noexcept { put(v, 4); }
    constexpr void u64(std::uint64_t v) noexcept { put(v, 8); }

private:
    constexpr void put(std::uint64_t v, std::size_t n) noexcept {
        if (overflow_ || out_.size() - pos_ < n) {
            overflow_ = true;
            return;
        }
        for (std::size_t i = 0; i < n; ++i) out_[pos_ + i] = static_cast<std::byte>(v >> (8 * (n - 1 - i)));
        pos_ += n;
    }
    std::span<std::byte> out_;
    std::size_t pos_ = 0;
    bool overflow_ = false;
};

}  // namespace nettool
NETTOOL_API_END
