#pragma once
// Longest-prefix match for IPv4 at memory speed: a DIR-24-8 table (Gupta, Lin, McKeown 1998).
// The first 24 bits of an address index a 2^24-entry table; entries for prefixes longer than /24
// point to a 256-entry second-level group. A lookup is one load, two for addresses under a
// prefix longer than /24. Memory: 64 MiB for the first level plus 1 KiB per /24 that holds a
// longer prefix. Build is offline (insert all, then build()); lookups are lock-free reads.

#include <nettool/core/export.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

class ipv4_prefix_table {
public:
    ipv4_prefix_table() noexcept = default;
    ~ipv4_prefix_table();
    ipv4_prefix_table(ipv4_prefix_table&& o) noexcept;
    ipv4_prefix_table& operator=(ipv4_prefix_table&& o) noexcept;
    ipv4_prefix_table(const ipv4_prefix_table&) = delete;
    ipv4_prefix_table& operator=(const ipv4_prefix_table&) = delete;

    /// What lookup returns when no prefix covers the address.
    static constexpr std::uint32_t no_match = 0xFFFFFFFFU;
    /// Largest storable value (values are 31 bits).
    static constexpr std::uint32_t max_value = 0x7FFFFFFEU;

    /// Adds network/length -> value (host-order network; host bits are ignored). A later insert
    /// of the same prefix replaces the earlier one. Returns false when length > 32 or value >
    /// max_value. Takes effect at the next build().
    bool insert(std::uint32_t network, int length, std::uint32_t value);
    /// Builds the lookup tables from everything inserted so far.
    void build();
    /// Forgets all prefixes and frees the tables.
    void clear() noexcept;

    /// The value of the longest prefix covering addr (host order), or no_match.
    std::uint32_t lookup(std::uint32_t addr) const noexcept {
        std::uint32_t e = tbl24_[(addr >> 8) & index_mask_];  // mask is 0 before build()
        if ((e & extended_bit) != 0) e = tbl8_[((e & ~extended_bit) << 8) | (addr & 0xFFU)];
        return e - 1;  // 0 (empty) wraps to no_match
    }

    /// Looks up addrs[i] into out[i] for i < min(sizes), prefetching first-level entries a few
    /// addresses ahead so that many cache misses are in flight at once (bulk classification).
    void lookup_batch(std::span<const std::uint32_t> addrs, std::span<std::uint32_t> out) const noexcept {
        constexpr std::size_t ahead = 16;
        const std::size_t n = std::min(addrs.size(), out.size());
        for (std::size_t i = 0; i < n; ++i) {
            if (i + ahead < n) __builtin_prefetch(&tbl24_[(addrs[i + ahead] >> 8) & index_mask_]);
            out[i] = lookup(addrs[i]);
        }
    }

    /// Prefixes inserted (after deduplication at build()).
    std::size_t size() const noexcept { return built_count_; }
    /// Second-level 256-entry groups in use.
    std::size_t group_count() const noexcept { return tbl8_.size() / 256; }
    std::size_t memory_bytes() const noexcept {
        return (built() ? tbl24_entries : 0) * sizeof(std::uint32_t) + tbl8_.size() * sizeof(std::uint32_t);
    }
    bool built() const noexcept { return index_mask_ != 0; }

private:
    static constexpr std::uint32_t extended_bit = 0x80000000U;
    static constexpr std::size_t tbl24_entries = std::size_t{1} << 24;
    static const std::uint32_t empty_slot_;
    void release() noexcept;
    struct pending {
        std::uint32_t network;
        std::uint32_t value;
        std::uint8_t length;
        std::uint32_t order;
    };
    std::vector<pending> pending_;
    // 2^24 entries in their own mapping, backed by transparent huge pages where the kernel allows
    // (a random lookup then costs a cache miss, not also a TLB miss). Points at one empty slot
    // until build().
    const std::uint32_t* tbl24_ = &empty_slot_;
    void* mapping_ = nullptr;
    std::size_t mapping_bytes_ = 0;
    std::vector<std::uint32_t> tbl8_;
    std::size_t built_count_ = 0;
    std::uint32_t index_mask_ = 0;
};

}  // namespace nettool
NETTOOL_API_END
