#include <nettool/net/prefix_table.hpp>

#include <algorithm>
#include <cstdint>
#include <new>
#include <utility>

#include <sys/mman.h>

namespace nettool {

const std::uint32_t ipv4_prefix_table::empty_slot_ = 0;

ipv4_prefix_table::~ipv4_prefix_table() {
    release();
}

ipv4_prefix_table::ipv4_prefix_table(ipv4_prefix_table&& o) noexcept
    : pending_(std::move(o.pending_)),
      tbl24_(std::exchange(o.tbl24_, &empty_slot_)),
      mapping_(std::exchange(o.mapping_, nullptr)),
      mapping_bytes_(std::exchange(o.mapping_bytes_, 0)),
      tbl8_(std::move(o.tbl8_)),
      built_count_(std::exchange(o.built_count_, 0)),
      index_mask_(std::exchange(o.index_mask_, 0)) {}

ipv4_prefix_table& ipv4_prefix_table::operator=(ipv4_prefix_table&& o) noexcept {
    if (this != &o) {
        release();
        pending_ = std::move(o.pending_);
        tbl8_ = std::move(o.tbl8_);
        built_count_ = std::exchange(o.built_count_, 0);
        index_mask_ = std::exchange(o.index_mask_, 0);
        tbl24_ = std::exchange(o.tbl24_, &empty_slot_);
        mapping_ = std::exchange(o.mapping_, nullptr);
        mapping_bytes_ = std::exchange(o.mapping_bytes_, 0);
    }
    return *this;
}

void ipv4_prefix_table::release() noexcept {
    if (mapping_ != nullptr) ::munmap(mapping_, mapping_bytes_);
    mapping_ = nullptr;
    mapping_bytes_ = 0;
    tbl24_ = &empty_slot_;
    index_mask_ = 0;
}

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
    release();
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

    // Map 2 MiB more than needed so the table can start on a huge-page boundary.
    release();
    constexpr std::size_t huge = std::size_t{2} << 20;
    const std::size_t bytes = tbl24_entries * sizeof(std::uint32_t);
    void* m = ::mmap(nullptr, bytes + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    mapping_ = m;
    mapping_bytes_ = bytes + huge;
    const auto start = reinterpret_cast<std::uintptr_t>(m);
    const auto aligned = (start + huge - 1) & ~(std::uintptr_t{huge} - 1);
    auto* table = reinterpret_cast<std::uint32_t*>(aligned);
    ::madvise(table, bytes, MADV_HUGEPAGE);  // advisory; fine if refused
    std::fill_n(table, tbl24_entries, 0U);   // anonymous memory is zero; this faults it in now
    tbl8_.clear();
    for (const auto& p : pending_) {
        const std::uint32_t entry = p.value + 1;
        if (p.length <= 24) {
            const std::size_t first = p.network >> 8;
            const std::size_t count = std::size_t{1} << (24 - p.length);
            std::fill_n(table + first, count, entry);
            continue;
        }
        std::uint32_t& slot = table[p.network >> 8];
        if ((slot & extended_bit) == 0) {
            const auto group = static_cast<std::uint32_t>(tbl8_.size() / 256);
            tbl8_.resize(tbl8_.size() + 256, slot);
            slot = extended_bit | group;
        }
        const std::size_t base = (std::size_t{slot & ~extended_bit} << 8) | (p.network & 0xFFU);
        const std::size_t count = std::size_t{1} << (32 - p.length);
        std::fill_n(tbl8_.begin() + static_cast<std::ptrdiff_t>(base), count, entry);
    }
    tbl24_ = table;
    index_mask_ = 0xFFFFFFU;
}

}  // namespace nettool
