#include <nettool/prefix_table.hpp>

#include <algorithm>

namespace nettool {

bool ipv4_prefix_table::insert(std::uint32_t network, int length, std::uint32_t value) {
    if (length < 0 || length > 32 || value > max_value) return false;
    const std::uint32_t mask = length == 0 ? 0 : ~std::uint32_t{0} << (32 - length);
    pending_.push_back({network & mask, value, static_cast<std::uint8_t>(length),
                        static_cast<std::uint32_t>(pending_.size())});
    return true;
}

void ipv4_prefix_table::clear() noexcept {
    pending_.clear();
    pending_.shrink_to_fit();
    tbl24_.assign(1, 0);
    tbl24_.shrink_to_fit();
    tbl8_.clear();
    tbl8_.shrink_to_fit();
    built_count_ = 0;
    index_mask_ = 0;
}

void ipv4_prefix_table::build() {
    // Shorter prefixes first so longer ones overwrite them; for equal prefixes the later insert
    // comes last and wins.
    std::sort(pending_.begin(), pending_.end(), [](const pending& a, const pending& b) {
        if (a.length != b.length) return a.length < b.length;
        if (a.network != b.network) return a.network < b.network;
        return a.order < b.order;
    });
    std::size_t distinct = 0;
    for (std::size_t i = 0; i < pending_.size(); ++i) {
        if (i + 1 < pending_.size() && pending_[i + 1].length == pending_[i].length &&
            pending_[i + 1].network == pending_[i].network)
            continue;
        pending_[distinct++] = pending_[i];
    }
    pending_.resize(distinct);
    built_count_ = distinct;

    tbl24_.assign(std::size_t{1} << 24, 0);
    tbl8_.clear();
    for (const auto& p : pending_) {
        const std::uint32_t entry = p.value + 1;
        if (p.length <= 24) {
            const std::size_t first = p.network >> 8;
            const std::size_t count = std::size_t{1} << (24 - p.length);
            std::fill_n(tbl24_.begin() + static_cast<std::ptrdiff_t>(first), count, entry);
            continue;
        }
        std::uint32_t& slot = tbl24_[p.network >> 8];
        if ((slot & extended_bit) == 0) {
            const auto group = static_cast<std::uint32_t>(tbl8_.size() / 256);
            tbl8_.resize(tbl8_.size() + 256, slot);
            slot = extended_bit | group;
        }
        const std::size_t base = (std::size_t{slot & ~extended_bit} << 8) | (p.network & 0xFFU);
        const std::size_t count = std::size_t{1} << (32 - p.length);
        std::fill_n(tbl8_.begin() + static_cast<std::ptrdiff_t>(base), count, entry);
    }
    index_mask_ = 0xFFFFFFU;
}

}  // namespace nettool
