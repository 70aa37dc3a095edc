#pragma once
// Private: SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012), a
// keyed MAC for short inputs. The responder binds its UDP cookies to the client's address with
// it and keys its per-source table with it (so nobody can pick addresses that collide).

#include <nettool/core/export.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

// Exported for tests only (see nettool/core/export.hpp); not public API.
NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

/// A 128-bit SipHash key: k0 is the key's first 8 bytes read little-endian, k1 the next 8.
struct siphash_key {
    std::uint64_t k0 = 0;
    std::uint64_t k1 = 0;
    /// The key from its 16 bytes, as the paper writes it (00 01 02 ... 0f).
    static siphash_key from_bytes(std::span<const std::byte, 16> bytes) noexcept;
};

/// SipHash-2-4 of data under key: the 64-bit tag (the paper's output, read little-endian).
std::uint64_t siphash24(const siphash_key& key, std::span<const std::byte> data) noexcept;

}  // namespace nettool::detail
NETTOOL_TESTING_API_END
