#include "core/siphash.hpp"

#include <bit>

namespace nettool::detail {

namespace {

std::uint64_t load_le64(const std::byte* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
    return v;
}

struct sip_state {
    std::uint64_t v0, v1, v2, v3;
    void round() noexcept {
        v0 += v1;
        v1 = std::rotl(v1, 13);
        v1 ^= v0;
        v0 = std::rotl(v0, 32);
        v2 += v3;
        v3 = std::rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = std::rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = std::rotl(v1, 17);
        v1 ^= v2;
        v2 = std::rotl(v2, 32);
    }
    void compress(std::uint64_t m) noexcept {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

}  // namespace

siphash_key siphash_key::from_bytes(std::span<const std::byte, 16> bytes) noexcept {
    return {load_le64(bytes.data()), load_le64(bytes.data() + 8)};
}

std::uint64_t siphash24(const siphash_key& key, std::span<const std::byte> data) noexcept {
    sip_state s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL, key.k0 ^ 0x6c7967656e657261ULL,
                key.k1 ^ 0x7465646279746573ULL};
    const std::size_t whole = data.size() / 8 * 8;
    for (std::size_t i = 0; i < whole; i += 8) s.compress(load_le64(data.data() + i));
    // The last word: the remaining bytes, little-endian, with the length's low byte on top.
    std::uint64_t last = static_cast<std::uint64_t>(data.size() & 0xff) << 56;
    for (std::size_t i = whole; i < data.size(); ++i)
        last |= std::to_integer<std::uint64_t>(data[i]) << (8 * (i - whole));
    s.compress(last);
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace nettool::detail
