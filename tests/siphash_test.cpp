#include "core/siphash.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>

namespace {

using nettool::detail::siphash24;
using nettool::detail::siphash_key;

// The paper's key (00 01 ... 0f) and messages 00 01 ... (n-1).
siphash_key paper_key() {
    std::array<std::byte, 16> k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::byte>(i);
    return siphash_key::from_bytes(k);
}

std::array<std::byte, 64> counting_bytes() {
    std::array<std::byte, 64> m{};
    for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<std::byte>(i);
    return m;
}

// Appendix A of the SipHash paper: key 00..0f, the 15-byte message 00..0e.
TEST(SipHash, PaperAppendixVector) {
    const auto m = counting_bytes();
    EXPECT_EQ(siphash24(paper_key(), std::span{m}.first(15)), 0xa129ca6149be45e5ULL);
}

// The reference implementation's vectors.h (vectors_sip64) for lengths 0, 1 and 8: the empty
// message, a partial last word alone, and one whole word followed by the length word.
TEST(SipHash, ReferenceVectors) {
    const auto m = counting_bytes();
    const auto k = paper_key();
    EXPECT_EQ(siphash24(k, std::span{m}.first(0)), 0x726fdb47dd0e0e31ULL);
    EXPECT_EQ(siphash24(k, std::span{m}.first(1)), 0x74f839c593dc67fdULL);
    EXPECT_EQ(siphash24(k, std::span{m}.first(8)), 0x93f5f5799a932462ULL);
}

TEST(SipHash, DependsOnTheKey) {
    const auto m = counting_bytes();
    auto other = paper_key();
    other.k1 ^= 1;
    EXPECT_NE(siphash24(paper_key(), std::span{m}.first(24)), siphash24(other, std::span{m}.first(24)));
}

}  // namespace
