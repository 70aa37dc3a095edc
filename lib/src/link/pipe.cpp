// The engine of one direction of the emulated link: a netem-like packet scheduler in user space.
// See README.md in this folder for the model; in short, per packet:
//
//   offer(): size check -> loss (Bernoulli or Gilbert-Elliott) -> duplicate -> per copy:
//            admission to the bottleneck queue (droptail / CoDel hard limit) -> a pool slot ->
//            corruption -> the bottleneck queue (or straight on when there is no rate/trace)
//   serve(): the head of the queue is taken by the link (CoDel decides here, RFC 8289's
//            dequeue) when the link is free, and leaves the queue when its transmission ends
//            (rate: bytes*8/rate after it started; trace: at the delivery opportunity that
//            carries its last byte, one 1500-byte IP packet per opportunity, as mahimahi's LinkQueue)
//   release: reorder (due at once, the immediate line) or the delay line (due at
//            leave + delay + jitter, never before the previous one: no reordering by jitter)
//   pop():   the earliest due of the two lines' heads.
//
// Time is the caller's: nothing here reads a clock. Events are processed in time order whenever
// offer() or pop() is called (serve() runs every event up to `now` first), so the result does not
// depend on how often the caller polls.
#include <nettool/link/impairment.hpp>

#include <nettool/core/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>

namespace nettool::link {
namespace {

using ns_t = std::int64_t;  // nanoseconds on the steady clock's epoch
constexpr ns_t ns_min = std::numeric_limits<ns_t>::min();
constexpr ns_t ns_per_ms = 1'000'000;
// mahimahi's PACKET_SIZE is 1504 because its TUN devices prepend a 4-byte packet information
// header; nettool's use IFF_NO_PI, so the same opportunity carries one 1500-byte IP packet.
constexpr std::int64_t trace_opportunity_bytes = 1500;
constexpr std::uint32_t no_slot = std::numeric_limits<std::uint32_t>::max();

ns_t to_ns(std::chrono::steady_clock::time_point t) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::chrono::steady_clock::time_point from_ns(ns_t ns) noexcept {
    return std::chrono::steady_clock::time_point{
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::nanoseconds{ns})};
}

/// xoshiro256** (Blackman and Vigna), its state filled by splitmix64 from the seed as its
/// authors recommend. Written here rather than std::mt19937_64 + <random> distributions because
/// the standard distributions are implementation-defined: the same seed must give the same run on
/// every standard library.
class rng {
public:
    explicit rng(std::uint64_t seed) noexcept {
        for (auto& word : s_) word = splitmix64(seed);
    }
    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    /// Uniform in [0, 1), 53 bits.
    double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    /// True with probability p (p >= 1: always, p <= 0: never).
    bool chance(double p) noexcept { return uniform() < p; }
    /// Uniform in [0, n), n > 0 (modulo bias below n / 2^64).
    std::uint64_t below(std::uint64_t n) noexcept { return next() % n; }
    /// Standard normal, Box-Muller (one of the pair).
    double normal() noexcept {
        const double u1 = 1.0 - uniform();  // (0, 1]
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }
    /// Pareto with shape 3 (the distribution of iproute2's pareto table: x = u^(-1/3), mean 1.5,
    /// variance 3/4), shifted to mean 0 and scaled to sigma 1. iproute2 scales by 4/3, which gives
    /// sigma 1.155; here sigma is exactly 1, so `jitter` is the sigma for every distribution.
    double pareto() noexcept {
        const double u = 1.0 - uniform();  // (0, 1]
        return (std::pow(u, -1.0 / 3.0) - 1.5) * (2.0 / std::numbers::sqrt3);
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix64(std::uint64_t& x) noexcept {
        std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint64_t s_[4]{};
};

/// A FIFO of slot indices with a fixed capacity (the pool's size, so it never fills).
class ring {
public:
    explicit ring(std::size_t capacity) : buf_(capacity) {}
    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    std::uint32_t front() const noexcept { return buf_[head_]; }
    void push(std::uint32_t v) noexcept {
        std::size_t tail = head_ + size_;
        if (tail >= buf_.size()) tail -= buf_.size();
        buf_[tail] = v;
        ++size_;
    }
    std::uint32_t pop() noexcept {
        const std::uint32_t v = buf_[head_];
        if (++head_ == buf_.size()) head_ = 0;
        --size_;
        return v;
    }

private:
    std::vector<std::uint32_t> buf_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

[[noreturn]] void bad_config(std::string sentence) {
    throw nettool::error(errc::bad_argument, std::move(sentence));
}

void check_probability(double p, std::string_view name) {
    if (!(p >= 0.0 && p <= 1.0))
        bad_config(fmt::format("link pipe: {} is {}: give a fraction from 0 to 1", name, p));
}

void check_config(const direction_config& c, std::size_t slot_size, std::size_t slots) {
    if (slot_size == 0) bad_config("link pipe: the slot size is 0: give at least 1 byte");
    if (slots == 0 || slots >= no_slot)
        bad_config(fmt::format("link pipe: {} slots: give 1 to {}", slots, no_slot - 1));
    if (slot_size > std::numeric_limits<std::uint32_t>::max() / 8)
        bad_config(fmt::format("link pipe: slot size {} is too large", slot_size));
    if (c.delay.count() < 0 || c.jitter.count() < 0) bad_config("link pipe: a negative delay or jitter");
    check_probability(c.loss, "loss");
    check_probability(c.reorder, "reorder");
    check_probability(c.duplicate, "duplicate");
    check_probability(c.corrupt, "corrupt");
    if (c.burst_loss) {
        check_probability(c.burst_loss->p, "gemodel p");
        check_probability(c.burst_loss->r, "gemodel r");
        check_probability(c.burst_loss->loss_in_bad, "gemodel 1-h");
        check_probability(c.burst_loss->loss_in_good, "gemodel 1-k");
    }
    if (c.rate_bps != 0 && !c.trace_ms.empty())
        bad_config("link pipe: both a rate and a trace: give one of them");
    if (!c.trace_ms.empty()) {
        if (!std::is_sorted(c.trace_ms.begin(), c.trace_ms.end()))
            bad_config("link pipe: the trace's timestamps decrease");
        if (c.trace_ms.back() == 0) bad_config("link pipe: the trace's last timestamp (its period) is 0");
    }
    if (c.queue.codel_target.count() <= 0 || c.queue.codel_interval.count() <= 0)
        bad_config("link pipe: CoDel's target and interval must be positive");
}

}  // namespace

struct pipe::impl {
    struct slot_meta {
        std::uint32_t length = 0;
        ns_t enqueued = 0;  // arrival at the bottleneck queue
        ns_t due = 0;       // when it may leave the pipe
    };

    /// Where the trace stands: the next delivery opportunity is trace_ms[index] ms after base.
    struct trace_cursor {
        std::size_t index = 0;
        ns_t base = 0;
    };

    impl(const direction_config& c, std::uint64_t seed, std::size_t slot_size_, std::size_t slots_)
        : config(c),
          slot_size(slot_size_),
          slots(slots_),
          storage(slot_size_ * slots_),
          meta(slots_),
          queue(slots_),
          delay_line(slots_),
          immediate(slots_),
          random(seed),
          bottleneck(c.rate_bps != 0 || !c.trace_ms.empty()),
          use_trace(!c.trace_ms.empty()),
          max_packets(c.queue.max_packets == 0 && c.queue.max_bytes == 0 ? slots_ : c.queue.max_packets),
          period(use_trace ? static_cast<ns_t>(c.trace_ms.back()) * ns_per_ms : 0) {
        free_list.reserve(slots);
        for (std::size_t i = slots; i-- > 0;) free_list.push_back(static_cast<std::uint32_t>(i));
    }

    direction_config config;
    std::size_t slot_size;
    std::size_t slots;
    std::vector<std::byte> storage;
    std::vector<slot_meta> meta;
    std::vector<std::uint32_t> free_list;  // a stack of free slots
    ring queue;                            // the bottleneck queue; its head may be in transmission
    ring delay_line;                       // due times non-decreasing
    ring immediate;                        // reordered packets, due when they left the queue
    rng random;
    direction_stats stats;
    std::uint32_t pending_free = no_slot;  // the slot the last pop() returned
    ns_t last_now = ns_min;

    const bool bottleneck;
    const bool use_trace;
    const std::uint64_t max_packets;  // 0: no packet limit
    std::uint64_t queue_bytes = 0;

    // The link serving the queue's head.
    bool in_service = false;
    ns_t busy_until = 0;               // when the head's transmission ends (in_service)
    ns_t link_free_at = ns_min;        // when the last transmission ended
    std::uint64_t rate_remainder = 0;  // sub-nanosecond carry of the serialization times, in 1/rate ns

    // The trace (mahimahi): opportunities of 1500 bytes, repeating with period = last timestamp.
    const ns_t period;
    bool trace_started = false;  // the trace's time 0 is the first offer()
    trace_cursor trace;
    std::int64_t budget_left = 0;  // bytes left in the opportunity that ended the last transmission

    // Gilbert-Elliott state.
    bool ge_bad = false;

    // CoDel (RFC 8289's variables).
    bool dropping = false;
    bool first_above_set = false;
    ns_t first_above_time = 0;
    ns_t drop_next = 0;
    std::uint32_t count = 0;
    std::uint32_t lastcount = 0;
    std::uint64_t maxpacket = 0;

    ns_t last_departure = ns_min;  // the delay line's last due time

    std::byte* data(std::uint32_t slot) noexcept { return storage.data() + std::size_t{slot} * slot_size; }
    void free_slot(std::uint32_t slot) noexcept { free_list.push_back(slot); }

    ns_t clamp(std::chrono::steady_clock::time_point now) noexcept {
        last_now = std::max(last_now, to_ns(now));
        return last_now;
    }

    void free_pending() noexcept {
        if (pending_free != no_slot) {
            free_slot(pending_free);
            pending_free = no_slot;
        }
    }

    // ---- randomness ----

    /// netem's loss_gilbert_elliot(): the state moves first, the loss is drawn with the
    /// probability of the state the packet found (so the mean loss is
    /// p/(p+r)*(1-h) + r/(p+r)*(1-k)).
    bool burst_lost() noexcept {
        const auto& g = *config.burst_loss;
        if (!ge_bad) {
            if (random.chance(g.p)) ge_bad = true;
            return random.chance(g.loss_in_good);
        }
        if (random.chance(g.r)) ge_bad = false;
        return random.chance(g.loss_in_bad);
    }

    ns_t jitter_sample() noexcept {
        const auto j = static_cast<double>(config.jitter.count());
        if (j == 0.0) return 0;
        double x = 0;
        switch (config.distribution) {
            case jitter_distribution::uniform: x = 2.0 * random.uniform() - 1.0; break;
            case jitter_distribution::normal: x = random.normal(); break;
            case jitter_distribution::pareto: x = random.pareto(); break;
        }
        return std::llround(x * j);
    }

    // ---- offer ----

    void admit(std::span<const std::byte> packet, ns_t now) noexcept {
        const auto len = static_cast<std::uint32_t>(packet.size());
        if (bottleneck && ((max_packets != 0 && queue.size() >= max_packets) ||
                           (config.queue.max_bytes != 0 && queue_bytes + len > config.queue.max_bytes))) {
            ++stats.dropped_queue_full;
            return;
        }
        if (free_list.empty()) {
            ++stats.dropped_no_buffer;
            return;
        }
        const std::uint32_t slot = free_list.back();
        free_list.pop_back();
        if (len != 0) std::memcpy(data(slot), packet.data(), len);
        meta[slot] = {.length = len, .enqueued = now, .due = now};
        if (config.corrupt > 0.0 && random.chance(config.corrupt) && len != 0) {
            const std::uint64_t bit = random.below(std::uint64_t{len} * 8);
            data(slot)[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
            ++stats.corrupted;
        }
        if (bottleneck) {
            queue.push(slot);
            queue_bytes += len;
            maxpacket = std::max<std::uint64_t>(maxpacket, len);
        } else {
            stats.queue_delay.record(std::uint64_t{0});
            release(slot, now);
        }
    }

    /// The packet leaves the bottleneck at `t`: reordered (due at once) or into the delay line.
    void release(std::uint32_t slot, ns_t t) noexcept {
        if (config.reorder > 0.0 && random.chance(config.reorder)) {
            ++stats.reordered;
            meta[slot].due = t;
            immediate.push(slot);
            return;
        }
        ns_t due = t + config.delay.count() + jitter_sample();
        due = std::max({due, t, last_departure});
        last_departure = due;
        meta[slot].due = due;
        delay_line.push(slot);
    }

    // ---- the bottleneck ----

    ns_t opportunity(const trace_cursor& c) const noexcept {
        return c.base + static_cast<ns_t>(config.trace_ms[c.index]) * ns_per_ms;
    }
    void consume(trace_cursor& c) const noexcept {
        if (++c.index == config.trace_ms.size()) {
            c.index = 0;
            c.base += period;
        }
    }

    /// Burns every delivery opportunity at or before `now` (the queue is empty: they go unused).
    void burn_until(ns_t now) noexcept {
        if (!trace_started || opportunity(trace) > now) return;
        ns_t rel = now - trace.base;
        if (rel >= period) {
            const ns_t k = rel / period;
            trace.base += k * period;
            trace.index = 0;
            rel -= k * period;
        }
        const auto rel_ms = static_cast<std::uint64_t>(rel / ns_per_ms);
        const auto& s = config.trace_ms;
        const auto it =
            std::upper_bound(s.begin() + static_cast<std::ptrdiff_t>(trace.index), s.end(), rel_ms);
        trace.index = static_cast<std::size_t>(it - s.begin());
        if (trace.index == s.size()) {
            trace.index = 0;
            trace.base += period;
        }
    }

    /// When a packet of `len` bytes is carried by the trace, starting with `budget` bytes left in
    /// the opportunity at `leftover_time` (budget 0: from the next opportunity on). Advances the
    /// cursor and the budget past the opportunities it uses.
    ns_t trace_walk(trace_cursor& c, std::int64_t& budget, ns_t leftover_time,
                    std::uint32_t len) const noexcept {
        std::int64_t need = len;
        ns_t t = leftover_time;
        if (budget <= 0) {
            t = opportunity(c);
            consume(c);
            budget = trace_opportunity_bytes;
        }
        while (need > budget) {
            need -= budget;
            t = opportunity(c);
            consume(c);
            budget = trace_opportunity_bytes;
        }
        budget -= need;
        return t;
    }

    ns_t serialization(std::uint32_t len) noexcept {
        const std::uint64_t num = std::uint64_t{len} * 8 * 1'000'000'000ULL + rate_remainder;
        rate_remainder = num % config.rate_bps;
        return static_cast<ns_t>(num / config.rate_bps);
    }

    void drop_head_codel() noexcept {
        const std::uint32_t slot = queue.pop();
        queue_bytes -= meta[slot].length;
        ++stats.dropped_codel;
        free_slot(slot);
    }

    /// RFC 8289's dodequeue() over the queue's head, which stays in the queue: ok_to_drop.
    bool codel_ok_to_drop(ns_t now) noexcept {
        if (queue.empty()) {
            first_above_set = false;
            return false;
        }
        const auto& head = meta[queue.front()];
        const ns_t sojourn = now - head.enqueued;
        if (sojourn < config.queue.codel_target.count() || queue_bytes - head.length <= maxpacket) {
            first_above_set = false;
        } else if (!first_above_set) {
            first_above_set = true;
            first_above_time = now + config.queue.codel_interval.count();
        } else if (now >= first_above_time) {
            return true;
        }
        return false;
    }

    ns_t control_law(ns_t t) const noexcept {
        return t + std::llround(static_cast<double>(config.queue.codel_interval.count()) /
                                std::sqrt(static_cast<double>(count)));
    }

    /// The link takes the queue's head at `now`: CoDel may drop heads first (RFC 8289's
    /// dequeue()). True when a head is left to transmit.
    bool take_head(ns_t now) noexcept {
        if (config.queue.discipline != queue_discipline::codel) return !queue.empty();
        bool ok_to_drop = codel_ok_to_drop(now);
        if (dropping) {
            if (!ok_to_drop) dropping = false;
            while (dropping && now >= drop_next) {
                drop_head_codel();
                ++count;
                ok_to_drop = codel_ok_to_drop(now);
                if (!ok_to_drop) {
                    dropping = false;
                } else {
                    drop_next = control_law(drop_next);
                }
            }
        } else if (ok_to_drop) {
            drop_head_codel();
            (void)codel_ok_to_drop(now);
            dropping = true;
            const std::uint32_t delta = count - lastcount;
            count = 1;
            if (delta > 1 && now - drop_next < 16 * config.queue.codel_interval.count()) count = delta;
            drop_next = control_law(now);
            lastcount = count;
        }
        return !queue.empty();
    }

    void finish_head() noexcept {
        const std::uint32_t slot = queue.pop();
        queue_bytes -= meta[slot].length;
        stats.queue_delay.record(std::chrono::nanoseconds{busy_until - meta[slot].enqueued});
        in_service = false;
        link_free_at = busy_until;
        release(slot, busy_until);
    }

    /// Runs the bottleneck's events up to `now`, in time order.
    void serve(ns_t now) noexcept {
        if (!bottleneck) return;
        for (;;) {
            if (in_service) {
                if (busy_until > now) return;
                finish_head();
                continue;
            }
            if (queue.empty()) {
                if (use_trace) {
                    budget_left = 0;
                    burn_until(now);
                }
                return;
            }
            ns_t start = 0;
            if (!use_trace) {
                const ns_t arrived = meta[queue.front()].enqueued;
                if (link_free_at < arrived) rate_remainder = 0;  // the link was idle
                start = std::max(link_free_at, arrived);
            } else {
                start = budget_left > 0 ? link_free_at : opportunity(trace);
            }
            if (start > now) return;
            if (!take_head(start)) continue;
            const std::uint32_t len = meta[queue.front()].length;
            busy_until =
                use_trace ? trace_walk(trace, budget_left, link_free_at, len) : start + serialization(len);
            in_service = true;
        }
    }

    std::optional<ns_t> next_queue_event() const noexcept {
        if (in_service) return busy_until;
        if (queue.empty()) return std::nullopt;
        const auto& head = meta[queue.front()];
        if (!use_trace) return std::max(link_free_at, head.enqueued);
        trace_cursor c = trace;
        std::int64_t budget = budget_left;
        return trace_walk(c, budget, link_free_at, head.length);
    }
};

pipe::pipe(const direction_config& config, std::uint64_t seed, std::size_t slot_size, std::size_t slots) {
    check_config(config, slot_size, slots);
    impl_ = std::make_unique<impl>(config, seed, slot_size, slots);
}

pipe::~pipe() = default;
pipe::pipe(pipe&&) noexcept = default;
pipe& pipe::operator=(pipe&&) noexcept = default;

void pipe::offer(std::span<const std::byte> packet, std::chrono::steady_clock::time_point now) noexcept {
    auto& s = *impl_;
    s.free_pending();
    const ns_t t = s.clamp(now);
    ++s.stats.in;
    s.stats.bytes_in += packet.size();
    if (s.use_trace && !s.trace_started) {
        s.trace_started = true;
        s.trace = {.index = 0, .base = t};
    }
    s.serve(t);
    if (packet.size() > s.slot_size) {
        ++s.stats.dropped_too_big;
        return;
    }
    if (s.config.burst_loss) {
        if (s.burst_lost()) {
            ++s.stats.dropped_burst;
            return;
        }
    } else if (s.config.loss > 0.0 && s.random.chance(s.config.loss)) {
        ++s.stats.dropped_random;
        return;
    }
    const bool twice = s.config.duplicate > 0.0 && s.random.chance(s.config.duplicate);
    s.admit(packet, t);
    if (twice) {
        ++s.stats.duplicated;
        s.admit(packet, t);
    }
    s.serve(t);
}

std::optional<std::span<const std::byte>> pipe::pop(std::chrono::steady_clock::time_point now) noexcept {
    auto& s = *impl_;
    s.free_pending();
    const ns_t t = s.clamp(now);
    s.serve(t);
    const bool delayed_due = !s.delay_line.empty() && s.meta[s.delay_line.front()].due <= t;
    const bool immediate_due = !s.immediate.empty() && s.meta[s.immediate.front()].due <= t;
    if (!delayed_due && !immediate_due) return std::nullopt;
    const bool take_immediate = immediate_due && (!delayed_due || s.meta[s.immediate.front()].due <=
                                                                      s.meta[s.delay_line.front()].due);
    const std::uint32_t slot = take_immediate ? s.immediate.pop() : s.delay_line.pop();
    const auto len = s.meta[slot].length;
    ++s.stats.out;
    s.stats.bytes_out += len;
    s.pending_free = slot;
    return std::span<const std::byte>{s.data(slot), len};
}

std::optional<std::chrono::steady_clock::time_point> pipe::next_due() const noexcept {
    const auto& s = *impl_;
    std::optional<ns_t> best = s.next_queue_event();
    auto consider = [&](ns_t t) { best = best ? std::min(*best, t) : t; };
    if (!s.delay_line.empty()) consider(s.meta[s.delay_line.front()].due);
    if (!s.immediate.empty()) consider(s.meta[s.immediate.front()].due);
    if (!best) return std::nullopt;
    return from_ns(*best);
}

const direction_stats& pipe::stats() const noexcept {
    return impl_->stats;
}

std::size_t pipe::held() const noexcept {
    return impl_->queue.size() + impl_->delay_line.size() + impl_->immediate.size();
}

}  // namespace nettool::link
