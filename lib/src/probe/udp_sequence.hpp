#pragma once
// Private: the receiving side's count of one UDP stream's sequence numbers -- duplicates,
// reordering and RFC 3550 interarrival jitter -- shared by the responder's stream sessions and
// the iperf3 receivers (nettool's iperf3 client with -R, nettool serve --iperf3). Per datagram it
// costs a few arithmetic operations and one bit in a window; nothing allocates after construction.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace nettool::detail {

class udp_sequence_counter {
public:
    /// Sequence numbers remembered for telling a duplicate from a late datagram.
    static constexpr std::uint64_t window = 1u << 16;

    udp_sequence_counter() : seen_(window / 64, 0) {}

    /// What a datagram was: new and the newest yet, new but older than the newest (out of
    /// order), or a sequence number seen before.
    enum class arrival { in_order, out_of_order, duplicate };

    /// One datagram with sequence number `seq`, `transit_ns` = arrival minus send time (on
    /// whatever clocks; only differences between datagrams matter for jitter).
    arrival on_datagram(std::uint64_t seq, std::int64_t transit_ns) noexcept {
        ++received_;
        // RFC 3550 section 6.4.1: J += (|D| - J) / 16 over consecutive arrivals.
        if (have_transit_) {
            const auto d = transit_ns - last_transit_ns_;
            jitter_ns_ += (static_cast<double>(d < 0 ? -d : d) - jitter_ns_) / 16.0;
        }
        last_transit_ns_ = transit_ns;
        have_transit_ = true;

        if (seq >= next_) {
            // Slots for sequence numbers skipped over are free again.
            if (seq - next_ >= window) {
                std::fill(seen_.begin(), seen_.end(), 0);
            } else {
                for (std::uint64_t s = next_; s < seq; ++s) clear(s);
                clear(seq);
            }
            test_and_set(seq);
            next_ = seq + 1;
            return arrival::in_order;
        }
        const std::uint64_t displacement = next_ - 1 - seq;
        if (displacement < window && test_and_set(seq)) {
            ++duplicates_;
            return arrival::duplicate;
        }
        ++out_of_order_;
        max_displacement_ = std::max(max_displacement_, displacement);
        return arrival::out_of_order;
    }

    std::uint64_t received() const noexcept { return received_; }  ///< duplicates included
    std::uint64_t duplicates() const noexcept { return duplicates_; }
    std::uint64_t out_of_order() const noexcept { return out_of_order_; }
    std::uint64_t max_displacement() const noexcept { return max_displacement_; }
    /// The largest sequence number seen, plus one (0 before the first datagram).
    std::uint64_t next() const noexcept { return next_; }
    double jitter_ns() const noexcept { return jitter_ns_; }
    /// Sequence numbers from `first` up to the largest seen that never arrived: what was lost,
    /// as far as the receiver can tell (a loss after the last arrival is invisible to it).
    std::uint64_t missing(std::uint64_t first) const noexcept {
        const std::uint64_t unique = received_ - duplicates_;
        const std::uint64_t span = next_ > first ? next_ - first : 0;
        return span > unique ? span - unique : 0;
    }

private:
    bool test_and_set(std::uint64_t seq) noexcept {
        auto& word = seen_[(seq % window) / 64];
        const std::uint64_t bit = std::uint64_t{1} << (seq % 64);
        const bool was = (word & bit) != 0;
        word |= bit;
        return was;
    }
    void clear(std::uint64_t seq) noexcept { seen_[(seq % window) / 64] &= ~(std::uint64_t{1} << (seq % 64)); }

    std::vector<std::uint64_t> seen_;
    std::uint64_t received_ = 0;
    std::uint64_t duplicates_ = 0;
    std::uint64_t out_of_order_ = 0;
    std::uint64_t max_displacement_ = 0;
    std::uint64_t next_ = 0;
    std::int64_t last_transit_ns_ = 0;
    double jitter_ns_ = 0;
    bool have_transit_ = false;
};

}  // namespace nettool::detail
