#pragma once
// The one bounds-checked cursor the netclass/broadcast code reads outside bytes with (netlink
// replies from the kernel, received Ethernet frames and datagrams). Every read checks the
// remaining length first; a short input sets `truncated` and yields zeros, never a read past
// the end. No pointer arithmetic on the data outside this class.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace nettool::detail {

class bounded_reader {
public:
    explicit bounded_reader(std::span<const std::byte> data) noexcept : data_(data) {}

    std::size_t remaining() const noexcept { return data_.size() - pos_; }
    std::size_t position() const noexcept { return pos_; }
    bool truncated() const noexcept { return truncated_; }
    bool empty() const noexcept { return remaining() == 0; }

    /// True when n more bytes are available; otherwise marks the reader truncated.
    bool need(std::size_t n) noexcept {
        if (truncated_ || n > remaining()) {
            truncated_ = true;
            return false;
        }
        return true;
    }

    std::uint8_t u8() noexcept {
        if (!need(1)) return 0;
        return std::to_integer<std::uint8_t>(data_[pos_++]);
    }
    /// Big-endian (network order) reads.
    std::uint16_t be16() noexcept {
        if (!need(2)) return 0;
        const auto v = static_cast<std::uint16_t>((byte_at(0) << 8) | byte_at(1));
        pos_ += 2;
        return v;
    }
    std::uint32_t be32() noexcept {
        if (!need(4)) return 0;
        const std::uint32_t v = (std::uint32_t{byte_at(0)} << 24) | (std::uint32_t{byte_at(1)} << 16) |
                                (std::uint32_t{byte_at(2)} << 8) | std::uint32_t{byte_at(3)};
        pos_ += 4;
        return v;
    }
    /// Host-order reads (netlink headers are in the host's byte order).
    std::uint16_t host16() noexcept {
        std::uint16_t v = 0;
        copy_out(&v, sizeof v);
        return v;
    }
    std::uint32_t host32() noexcept {
        std::uint32_t v = 0;
        copy_out(&v, sizeof v);
        return v;
    }
    /// n bytes as a sub-span (empty and truncated when short).
    std::span<const std::byte> bytes(std::size_t n) noexcept {
        if (!need(n)) return {};
        auto s = data_.subspan(pos_, n);
        pos_ += n;
        return s;
    }
    /// Skips n bytes; skipping past the end clamps and marks truncated.
    void skip(std::size_t n) noexcept {
        if (!need(n)) {
            pos_ = data_.size();
            return;
        }
        pos_ += n;
    }
    /// The rest of the input, consuming it.
    std::span<const std::byte> rest() noexcept {
        auto s = data_.subspan(pos_);
        pos_ = data_.size();
        return s;
    }

private:
    unsigned byte_at(std::size_t i) const noexcept { return std::to_integer<unsigned>(data_[pos_ + i]); }
    void copy_out(void* dst, std::size_t n) noexcept {
        if (!need(n)) return;
        std::memcpy(dst, data_.data() + pos_, n);
        pos_ += n;
    }

    std::span<const std::byte> data_;
    std::size_t pos_ = 0;
    bool truncated_ = false;
};

}  // namespace nettool::detail
