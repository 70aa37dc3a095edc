#pragma once
// The one bounds-checked cursor every parser of outside bytes reads through.
//
// A cursor walks a span of bytes and decodes big-endian integers. A read past the end does not
// happen: it fails, leaves the cursor marked truncated, and every later read fails too, so a
// parser can read a whole header and check ok() once. Writing mirrors it for encoders.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace nettool {

class byte_cursor {
public:
    constexpr byte_cursor() noexcept = default;
    constexpr explicit byte_cursor(std::span<const std::byte> data) noexcept : data_(data) {}

    constexpr std::size_t position() const noexcept { return pos_; }
    constexpr std::size_t remaining() const noexcept { return truncated_ ? 0 : data_.size() - pos_; }
    /// False once any read ran past the end.
    constexpr bool ok() const noexcept { return !truncated_; }
    constexpr bool truncated() const noexcept { return truncated_; }
    /// The bytes not read yet.
    constexpr std::span<const std::byte> rest() const noexcept {
        return truncated_ ? std::span<const std::byte>{} : data_.subspan(pos_);
    }

    /// Reads n bytes as a sub-span (zero copy), or an empty span and truncated when short.
    constexpr std::span<const std::byte> bytes(std::size_t n) noexcept {
        if (!need(n)) return {};
        auto s = data_.subspan(pos_, n);
        pos_ += n;
        return s;
    }
    constexpr bool skip(std::size_t n) noexcept {
        if (!need(n)) return false;
        pos_ += n;
        return true;
    }
    constexpr std::uint8_t u8() noexcept { return static_cast<std::uint8_t>(be(1)); }
    constexpr std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(be(2)); }
    constexpr std::uint32_t u32() noexcept { return static_cast<std::uint32_t>(be(4)); }
    constexpr std::uint64_t u64() noexcept { return be(8); }
    /// Little-endian 32-bit read, for the few formats that use host order (DLT_NULL).
    constexpr std::uint32_t u32_le() noexcept {
        if (!need(4)) return 0;
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(data_[pos_ + i]) << (8 * i);
        pos_ += 4;
        return v;
    }
    /// Reads without moving; 0 and no truncation mark when short.
    constexpr std::optional<std::uint8_t> peek_u8(std::size_t offset = 0) const noexcept {
        if (truncated_ || data_.size() - pos_ <= offset) return std::nullopt;
        return static_cast<std::uint8_t>(data_[pos_ + offset]);
    }

private:
    constexpr bool need(std::size_t n) noexcept {
        if (truncated_ || data_.size() - pos_ < n) {
            truncated_ = true;
            return false;
        }
        return true;
    }
    constexpr std::uint64_t be(std::size_t n) noexcept {
        if (!need(n)) return 0;
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<std::uint64_t>(data_[pos_ + i]);
        pos_ += n;
        return v;
    }

    std::span<const std::byte> data_{};
    std::size_t pos_ = 0;
    bool truncated_ = false;
};

/// Writes big-endian integers into a caller's buffer; ok() is false if it did not fit.
class byte_writer {
public:
    constexpr explicit byte_writer(std::span<std::byte> out) noexcept : out_(out) {}
    constexpr std::size_t size() const noexcept { return pos_; }
    constexpr bool ok() const noexcept { return !overflow_; }
    constexpr void u8(std::uint8_t v) noexcept { put(v, 1); }
    constexpr void u16(std::uint16_t v) noexcept { put(v, 2); }
    constexpr void u32(std::uint32_t v) noexcept { put(v, 4); }
    constexpr void u64(std::uint64_t v) noexcept { put(v, 8); }
    constexpr void zeros(std::size_t n) noexcept {
        if (overflow_ || out_.size() - pos_ < n) {
            overflow_ = true;
            return;
        }
        for (std::size_t i = 0; i < n; ++i) out_[pos_ + i] = std::byte{0};
        pos_ += n;
    }

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
