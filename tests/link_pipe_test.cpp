#include <nettool/link/impairment.hpp>

#include <nettool/core/error.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

// Counts heap allocations while armed, to prove offer() and pop() allocate nothing. Replacing the
// global operator new is program-wide: it only counts, and only on the thread that armed it.
namespace {
thread_local bool g_count_allocations = false;
thread_local std::size_t g_allocations = 0;
}  // namespace

// GCC inlines these into callers and then sees free() on memory from operator new: the pair is
// a matched replacement, so its -Wmismatched-new-delete does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
// Every non-aligned form is replaced, so that whatever is allocated by one of them is freed by
// one of them (under ASan a partial set mixes its allocator with malloc: alloc-dealloc-mismatch).
namespace {
void* counted_malloc(std::size_t size) noexcept {
    if (g_count_allocations) ++g_allocations;
    return std::malloc(size == 0 ? 1 : size);
}
}  // namespace
void* operator new(std::size_t size) {
    if (void* p = counted_malloc(size)) return p;
    throw std::bad_alloc{};
}
void* operator new[](std::size_t size) {
    if (void* p = counted_malloc(size)) return p;
    throw std::bad_alloc{};
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    return counted_malloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    return counted_malloc(size);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

using namespace std::chrono_literals;
using nettool::link::direction_config;
using nettool::link::jitter_distribution;
using nettool::link::pipe;
using nettool::link::queue_discipline;
using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;

// Virtual time: the pipe never reads a clock, so every test runs on this epoch.
const time_point t0{std::chrono::seconds{1000}};

struct arrival {
    time_point at;
    std::size_t size = 1500;
};

struct departure {
    time_point at;      // when it was due (the driver pops exactly at next_due())
    std::uint32_t seq;  // the arrival's index, from the payload
    std::size_t size;
    bool corrupted_seq;  // the sequence number itself was hit by corruption
};

/// A packet of `size` bytes carrying seq in its first four bytes and a fixed pattern after.
void fill_packet(std::vector<std::byte>& buf, std::uint32_t seq, std::size_t size) {
    buf.resize(size);
    for (std::size_t i = 0; i < size; ++i) buf[i] = static_cast<std::byte>(0xA5 ^ (i & 0xff));
    for (std::size_t i = 0; i < 4 && i < size; ++i) buf[i] = static_cast<std::byte>(seq >> (8 * (3 - i)));
}

std::uint32_t seq_of(std::span<const std::byte> p) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4 && i < p.size(); ++i) v = (v << 8) | std::to_integer<std::uint32_t>(p[i]);
    return v;
}

/// The event loop of a forwarder in virtual time: offers each arrival at its time, and in between
/// sleeps until next_due() and pops everything due. `check` runs after every call.
template <typename Check>
std::vector<departure> drive(pipe& p, const std::vector<arrival>& arrivals, Check&& check) {
    std::vector<departure> out;
    out.reserve(arrivals.size() * 2 + 16);
    std::vector<std::byte> buf;
    buf.reserve(4096);
    std::size_t i = 0;
    for (std::size_t guard = 0; guard < 50'000'000; ++guard) {
        const auto due = p.next_due();
        const bool have_arrival = i < arrivals.size();
        if (!have_arrival && !due) return out;
        if (have_arrival && (!due || arrivals[i].at <= *due)) {
            fill_packet(buf, static_cast<std::uint32_t>(i), arrivals[i].size);
            p.offer(buf, arrivals[i].at);
            ++i;
            check(p);
            continue;
        }
        while (auto pkt = p.pop(*due)) {
            out.push_back({*due, seq_of(*pkt), pkt->size(), false});
            check(p);
        }
        check(p);
    }
    ADD_FAILURE() << "the driver did not finish";
    return out;
}

std::vector<departure> drive(pipe& p, const std::vector<arrival>& arrivals) {
    return drive(p, arrivals, [](const pipe&) {});
}

std::vector<arrival> periodic(std::size_t n, std::chrono::nanoseconds gap, std::size_t size = 1500,
                              time_point start = t0) {
    std::vector<arrival> a(n);
    for (std::size_t i = 0; i < n; ++i) a[i] = {start + gap * static_cast<std::int64_t>(i), size};
    return a;
}

/// The 99% binomial interval around p for n trials.
void expect_rate_within_99(std::uint64_t hits, std::uint64_t n, double p, const char* what) {
    const double half = 2.576 * std::sqrt(p * (1 - p) / static_cast<double>(n));
    const double got = static_cast<double>(hits) / static_cast<double>(n);
    EXPECT_GE(got, p - half) << what << ": " << hits << " of " << n;
    EXPECT_LE(got, p + half) << what << ": " << hits << " of " << n;
}

void expect_conserved(const pipe& p) {
    const auto& s = p.stats();
    // Every offered packet, and every extra copy made by duplication, is out, dropped or held.
    ASSERT_EQ(s.in + s.duplicated, s.out + s.dropped() + p.held())
        << "in " << s.in << " dup " << s.duplicated << " out " << s.out << " dropped " << s.dropped()
        << " held " << p.held();
}

/// A direction_config with the fields `set` assigns (designated initialisers would leave the
/// others to -Wmissing-field-initializers).
template <typename Set>
direction_config make(Set&& set) {
    direction_config c;
    set(c);
    return c;
}

double ms(std::chrono::nanoseconds d) {
    return static_cast<double>(d.count()) / 1e6;
}

struct moments {
    double mean = 0;
    double sigma = 0;
    double min = 0;
    double max = 0;
};

moments moments_of(const std::vector<double>& v) {
    moments m{.mean = 0, .sigma = 0, .min = v.front(), .max = v.front()};
    for (double x : v) {
        m.mean += x;
        m.min = std::min(m.min, x);
        m.max = std::max(m.max, x);
    }
    m.mean /= static_cast<double>(v.size());
    for (double x : v) m.sigma += (x - m.mean) * (x - m.mean);
    m.sigma = std::sqrt(m.sigma / static_cast<double>(v.size()));
    return m;
}

TEST(LinkPipe, DelayIsExactAndOrderKept) {
    pipe p(make([&](direction_config& x) { x.delay = 20ms; }), 1);
    const auto arrivals = periodic(1000, 1ms);
    const auto out = drive(p, arrivals);
    ASSERT_EQ(out.size(), arrivals.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        ASSERT_EQ(out[i].seq, i);
        ASSERT_EQ(out[i].at, arrivals[i].at + 20ms) << i;
    }
    EXPECT_EQ(p.stats().out, 1000u);
    EXPECT_EQ(p.stats().bytes_out, 1000u * 1500);
    EXPECT_EQ(p.stats().queue_delay.count(), 1000u);
    EXPECT_EQ(p.stats().queue_delay.max(), 0u);  // no bottleneck: no time in a queue
    EXPECT_EQ(p.held(), 0u);
    EXPECT_FALSE(p.next_due());
}

TEST(LinkPipe, ZeroConfigPassesAtOnce) {
    pipe p(direction_config{}, 1);
    std::array<std::byte, 64> pkt{};
    p.offer(pkt, t0);
    EXPECT_EQ(p.next_due(), t0);
    auto got = p.pop(t0);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->size(), 64u);
    EXPECT_FALSE(p.pop(t0));
}

TEST(LinkPipe, NothingComesOutEarly) {
    pipe p(make([&](direction_config& x) { x.delay = 10ms; }), 1);
    std::array<std::byte, 100> pkt{};
    p.offer(pkt, t0);
    EXPECT_FALSE(p.pop(t0 + 10ms - 1ns));
    EXPECT_EQ(p.next_due(), t0 + 10ms);
    EXPECT_TRUE(p.pop(t0 + 10ms));
}

/// Delay samples of packets one second apart (so the no-reordering rule never binds).
std::vector<double> jitter_samples_ms(jitter_distribution d, std::chrono::nanoseconds delay,
                                      std::chrono::nanoseconds jitter, std::size_t n) {
    pipe p(make([&](direction_config& x) {
               x.delay = delay;
               x.jitter = jitter;
               x.distribution = d;
           }),
           42);
    const auto arrivals = periodic(n, 1s, 100);
    const auto out = drive(p, arrivals);
    EXPECT_EQ(out.size(), n);
    std::vector<double> v;
    v.reserve(out.size());
    for (const auto& dep : out) v.push_back(ms(dep.at - arrivals[dep.seq].at - delay));
    return v;
}

TEST(LinkPipe, UniformJitterSpansPlusMinusJitter) {
    const auto v = jitter_samples_ms(jitter_distribution::uniform, 50ms, 10ms, 20000);
    const auto m = moments_of(v);
    EXPECT_NEAR(m.mean, 0.0, 0.2);
    EXPECT_NEAR(m.sigma, 10.0 / std::sqrt(3.0), 0.15);  // uniform on [-j, j]
    EXPECT_GE(m.min, -10.0);
    EXPECT_LE(m.max, 10.0);
    EXPECT_LT(m.min, -9.9);
    EXPECT_GT(m.max, 9.9);
}

TEST(LinkPipe, NormalJitterHasSigmaJitter) {
    const auto v = jitter_samples_ms(jitter_distribution::normal, 100ms, 10ms, 20000);
    const auto m = moments_of(v);
    EXPECT_NEAR(m.mean, 0.0, 0.3);
    EXPECT_NEAR(m.sigma, 10.0, 0.3);
    const auto within_one = std::count_if(v.begin(), v.end(), [](double x) { return std::fabs(x) <= 10.0; });
    EXPECT_NEAR(static_cast<double>(within_one) / static_cast<double>(v.size()), 0.6827, 0.015);
}

TEST(LinkPipe, ParetoJitterIsSkewedWithSigmaJitter) {
    const auto v = jitter_samples_ms(jitter_distribution::pareto, 100ms, 10ms, 50000);
    const auto m = moments_of(v);
    EXPECT_NEAR(m.mean, 0.0, 0.5);
    EXPECT_GT(m.sigma, 8.5);
    EXPECT_LT(m.sigma, 11.5);
    // Pareto (shape 3) shifted to mean 0: bounded below at -0.577 sigma, a long tail above.
    EXPECT_GE(m.min, -10.0 * 0.5 * 2.0 / std::sqrt(3.0) - 0.001);
    EXPECT_GT(m.max, 40.0);
}

TEST(LinkPipe, JitterNeverReorders) {
    pipe p(make([&](direction_config& x) {
               x.delay = 20ms;
               x.jitter = 10ms;
               x.distribution = jitter_distribution::normal;
           }),
           7);
    const auto arrivals = periodic(20000, 100us, 200);
    const auto out = drive(p, arrivals);
    ASSERT_EQ(out.size(), arrivals.size());
    std::chrono::nanoseconds min_delay = 1h;
    std::chrono::nanoseconds max_delay = 0ns;
    for (std::size_t i = 0; i < out.size(); ++i) {
        ASSERT_EQ(out[i].seq, i) << "reordered at " << i;
        if (i > 0) {
            ASSERT_GE(out[i].at, out[i - 1].at);
        }
        const auto d = out[i].at - arrivals[i].at;
        ASSERT_GE(d, 0ns);  // delay + jitter is clamped at 0
        min_delay = std::min(min_delay, std::chrono::nanoseconds{d});
        max_delay = std::max(max_delay, std::chrono::nanoseconds{d});
    }
    EXPECT_GT(max_delay - min_delay, 10ms);  // the jitter did act
}

TEST(LinkPipe, RandomLossRate) {
    constexpr double p_loss = 0.05;
    pipe p(make([&](direction_config& x) { x.loss = p_loss; }), 3);
    const auto arrivals = periodic(20000, 1ms, 100);
    const auto out = drive(p, arrivals, expect_conserved);
    expect_rate_within_99(p.stats().dropped_random, arrivals.size(), p_loss, "loss");
    EXPECT_EQ(out.size() + p.stats().dropped_random, arrivals.size());
}

TEST(LinkPipe, DuplicateRate) {
    constexpr double p_dup = 0.03;
    pipe p(make([&](direction_config& x) { x.duplicate = p_dup; }), 4);
    const auto arrivals = periodic(20000, 1ms, 100);
    const auto out = drive(p, arrivals, expect_conserved);
    expect_rate_within_99(p.stats().duplicated, arrivals.size(), p_dup, "duplicate");
    EXPECT_EQ(out.size(), arrivals.size() + p.stats().duplicated);
    std::size_t twice = 0;
    for (std::size_t i = 1; i < out.size(); ++i) twice += out[i].seq == out[i - 1].seq;
    EXPECT_EQ(twice, p.stats().duplicated);  // the copy follows its original
}

TEST(LinkPipe, ReorderSendsAtOnce) {
    constexpr double p_reorder = 0.10;
    pipe p(make([&](direction_config& x) {
               x.delay = 10ms;
               x.reorder = p_reorder;
           }),
           5);
    const auto arrivals = periodic(20000, 1ms, 100);
    const auto out = drive(p, arrivals, expect_conserved);
    ASSERT_EQ(out.size(), arrivals.size());
    expect_rate_within_99(p.stats().reordered, arrivals.size(), p_reorder, "reorder");
    std::size_t at_once = 0;
    std::size_t delayed = 0;
    std::size_t overtakes = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const auto d = out[i].at - arrivals[out[i].seq].at;
        if (d == 0ns) ++at_once;
        if (d == 10ms) ++delayed;
        if (i > 0 && out[i].seq < out[i - 1].seq) ++overtakes;
    }
    EXPECT_EQ(at_once, p.stats().reordered);
    EXPECT_EQ(at_once + delayed, out.size());
    EXPECT_GT(overtakes, 0u);
}

TEST(LinkPipe, CorruptFlipsExactlyOneBit) {
    constexpr double p_corrupt = 0.02;
    pipe p(make([&](direction_config& x) { x.corrupt = p_corrupt; }), 6);
    constexpr std::size_t n = 20000;
    constexpr std::size_t size = 64;
    std::vector<std::byte> buf;
    std::vector<std::byte> clean;
    std::size_t damaged = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
        fill_packet(buf, i, size);
        clean = buf;
        const auto now = t0 + std::chrono::milliseconds{i};
        p.offer(buf, now);
        auto got = p.pop(now);
        ASSERT_TRUE(got);
        ASSERT_EQ(got->size(), size);
        int bits = 0;
        for (std::size_t b = 0; b < size; ++b)
            bits += std::popcount(std::to_integer<unsigned>((*got)[b] ^ clean[b]));
        ASSERT_LE(bits, 1);
        damaged += bits;
        ASSERT_EQ(buf, clean) << "the caller's buffer is never touched";
    }
    EXPECT_EQ(damaged, p.stats().corrupted);
    expect_rate_within_99(p.stats().corrupted, n, p_corrupt, "corrupt");
}

/// The loss sequence (true: lost) of n packets through a pipe with config c.
std::vector<bool> loss_sequence(const direction_config& c, std::uint64_t seed, std::size_t n) {
    pipe p(c, seed);
    std::vector<bool> lost(n);
    std::array<std::byte, 100> pkt{};
    for (std::size_t i = 0; i < n; ++i) {
        const auto now = t0 + std::chrono::microseconds{i};
        const auto before = p.stats().dropped();
        p.offer(pkt, now);
        lost[i] = p.stats().dropped() != before;
        while (p.pop(now)) {
        }
    }
    return lost;
}

double mean_burst(const std::vector<bool>& lost) {
    std::size_t bursts = 0;
    std::size_t losses = 0;
    for (std::size_t i = 0; i < lost.size(); ++i) {
        if (!lost[i]) continue;
        ++losses;
        if (i == 0 || !lost[i - 1]) ++bursts;
    }
    return bursts ? static_cast<double>(losses) / static_cast<double>(bursts) : 0.0;
}

TEST(LinkPipe, GilbertElliottMeanLossAndBursts) {
    const nettool::link::gilbert_elliott ge{.p = 0.01, .r = 0.10, .loss_in_bad = 0.8, .loss_in_good = 0.01};
    const double expected = ge.p / (ge.p + ge.r) * ge.loss_in_bad + ge.r / (ge.p + ge.r) * ge.loss_in_good;
    constexpr std::size_t n = 400000;
    direction_config c;
    c.burst_loss = ge;
    const auto lost = loss_sequence(c, 11, n);
    const auto losses = static_cast<double>(std::count(lost.begin(), lost.end(), true));
    EXPECT_NEAR(losses / n, expected, expected * 0.08);

    const auto bernoulli = loss_sequence(make([&](direction_config& x) { x.loss = expected; }), 11, n);
    const double ge_burst = mean_burst(lost);
    const double plain_burst = mean_burst(bernoulli);
    EXPECT_NEAR(plain_burst, 1.0 / (1.0 - expected), 0.05);
    EXPECT_GT(ge_burst, 2.0 * plain_burst) << "GE " << ge_burst << " Bernoulli " << plain_burst;

    pipe counted(c, 11);
    std::array<std::byte, 10> pkt{};
    for (std::size_t i = 0; i < 1000; ++i) counted.offer(pkt, t0);
    EXPECT_GT(counted.stats().dropped_burst, 0u);
    EXPECT_EQ(counted.stats().dropped_random, 0u);
}

TEST(LinkPipe, SameSeedSameDropsOtherSeedOthers) {
    const direction_config c = make([&](direction_config& x) { x.loss = 0.1; });
    const auto a = loss_sequence(c, 1234, 5000);
    const auto b = loss_sequence(c, 1234, 5000);
    const auto other = loss_sequence(c, 1235, 5000);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, other);
    direction_config ge;
    ge.burst_loss =
        nettool::link::gilbert_elliott{.p = 0.05, .r = 0.3, .loss_in_bad = 1.0, .loss_in_good = 0.0};
    EXPECT_EQ(loss_sequence(ge, 9, 5000), loss_sequence(ge, 9, 5000));
    EXPECT_NE(loss_sequence(ge, 9, 5000), loss_sequence(ge, 10, 5000));
}

TEST(LinkPipe, RateSpacesDeparturesBySerializationTime) {
    constexpr std::uint64_t rate = 10'000'000;
    pipe p(make([&](direction_config& x) { x.rate_bps = rate; }), 1);
    const auto arrivals = periodic(3000, 600us, 1500);  // twice the rate
    const auto out = drive(p, arrivals, expect_conserved);
    ASSERT_EQ(out.size(), arrivals.size());
    const auto serialization = std::chrono::nanoseconds{1500 * 8 * 1'000'000'000LL / rate};
    ASSERT_EQ(serialization, 1200us);
    EXPECT_EQ(out[0].at, arrivals[0].at + serialization);
    for (std::size_t i = 1; i < out.size(); ++i) ASSERT_EQ(out[i].at - out[i - 1].at, serialization) << i;
    // Bytes out by any departure never exceed what the rate allows since the first arrival.
    std::uint64_t bytes = 0;
    for (const auto& d : out) {
        bytes += d.size;
        const auto elapsed = std::chrono::nanoseconds{d.at - arrivals[0].at}.count();
        ASSERT_LE(bytes * 8 * 1'000'000'000ULL, rate * static_cast<std::uint64_t>(elapsed));
    }
    // Time in the queue grows by 600 us per packet under this load.
    EXPECT_EQ(p.stats().queue_delay.min(), 1200000u);
    EXPECT_GT(p.stats().queue_delay.max(), 1000000000u);
}

TEST(LinkPipe, RateCarriesFractionsOfNanoseconds) {
    constexpr std::uint64_t rate = 3'000'000;  // 1000 bytes: 2.666... ms
    pipe p(make([&](direction_config& x) { x.rate_bps = rate; }), 1);
    const auto arrivals = periodic(3001, 1ms, 1000);
    const auto out = drive(p, arrivals);
    ASSERT_EQ(out.size(), arrivals.size());
    // 3000 packets after the first take exactly 3000 * 8000 / 3e6 s = 8 s: no drift from rounding.
    EXPECT_EQ(out.back().at - out.front().at, 8s);
    for (std::size_t i = 1; i < out.size(); ++i) {
        const auto gap = out[i].at - out[i - 1].at;
        ASSERT_TRUE(gap == 2666666ns || gap == 2666667ns) << gap.count();
    }
}

TEST(LinkPipe, IdleLinkSendsAtArrivalPlusSerialization) {
    pipe p(make([&](direction_config& x) {
               x.delay = 5ms;
               x.rate_bps = 1'000'000;
           }),
           1);
    const auto arrivals = periodic(10, 100ms, 125);  // 1 ms each, far apart
    const auto out = drive(p, arrivals);
    ASSERT_EQ(out.size(), 10u);
    for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].at, arrivals[i].at + 1ms + 5ms);
    EXPECT_EQ(p.stats().queue_delay.max(), 1000000u);
}

TEST(LinkPipe, DroptailHoldsAStandingQueueOfNPackets) {
    constexpr std::uint64_t rate = 10'000'000;
    constexpr std::uint64_t n = 50;
    direction_config c = make([&](direction_config& x) { x.rate_bps = rate; });
    c.queue.discipline = queue_discipline::droptail;
    c.queue.max_packets = n;
    pipe p(c, 1);
    const auto arrivals = periodic(5000, 800us, 1500);  // 1.5 x the rate, 4 s
    const auto out = drive(p, arrivals, [&](const pipe& q) {
        expect_conserved(q);
        ASSERT_LE(q.held(), n + 1);  // the queue, and the packet it just released (no delay)
    });
    const double standing_ms = n * 1500 * 8 * 1e3 / rate;  // 60 ms
    const double p50_ms = static_cast<double>(p.stats().queue_delay.percentile(50)) / 1e6;
    EXPECT_NEAR(p50_ms, standing_ms, standing_ms * 0.10);
    // A third of the offered load does not fit.
    EXPECT_NEAR(static_cast<double>(p.stats().dropped_queue_full) / static_cast<double>(arrivals.size()),
                1.0 / 3.0, 0.02);
    EXPECT_EQ(out.size() + p.stats().dropped_queue_full, arrivals.size());
}

TEST(LinkPipe, DroptailByBytes) {
    direction_config c = make([&](direction_config& x) { x.rate_bps = 1'000'000; });
    c.queue.discipline = queue_discipline::droptail;
    c.queue.max_packets = 0;
    c.queue.max_bytes = 3000;
    pipe p(c, 1);
    std::array<std::byte, 1000> pkt{};
    for (int i = 0; i < 5; ++i) p.offer(pkt, t0);
    EXPECT_EQ(p.held(), 3u);
    EXPECT_EQ(p.stats().dropped_queue_full, 2u);
}

/// Queue-delay p50 in ms of a link under a constant (unresponsive) load of `load` x its rate.
double constant_load_p50_ms(const direction_config& c, double load, std::chrono::seconds duration) {
    pipe p(c, 1);
    const auto serialization = 1500 * 8 * 1'000'000'000.0 / static_cast<double>(c.rate_bps);
    const auto gap = std::chrono::nanoseconds{std::llround(serialization / load)};
    const auto arrivals = periodic(static_cast<std::size_t>(duration / gap), gap);
    drive(p, arrivals, expect_conserved);
    return static_cast<double>(p.stats().queue_delay.percentile(50)) / 1e6;
}

/// A responsive sender in virtual time, the load CoDel is made for: a window of 1500-byte packets
/// (Reno's additive increase, halved at most once per round trip when a packet of the window is
/// dropped, as if the loss were signalled at once), acknowledgements back `ack_delay` after a
/// packet leaves the pipe. Returns the queue-delay p50 of the whole run and the goodput after a
/// 10 s warm-up.
struct reno_result {
    double p50_ms = 0;
    double goodput_bps = 0;
    std::uint64_t drops = 0;
};

reno_result reno_through(const direction_config& c, std::chrono::seconds duration) {
    constexpr auto ack_delay = 20ms;
    pipe p(c, 1);
    std::array<std::byte, 1500> pkt{};
    std::vector<time_point> acks;  // FIFO: the pipe releases in order and the ack path is constant
    acks.reserve(1 << 20);
    std::size_t ack_head = 0;
    double cwnd = 2;
    std::uint64_t in_flight = 0;
    std::uint64_t seen_drops = 0;
    time_point last_cut = t0 - 1h;
    time_point now = t0;
    const time_point warm = t0 + 10s;
    std::uint64_t delivered_after_warmup = 0;
    auto react_to_drops = [&] {
        const auto drops = p.stats().dropped();
        if (drops == seen_drops) return;
        in_flight -= drops - seen_drops;
        seen_drops = drops;
        if (now - last_cut >= ack_delay + 5ms) {
            cwnd = std::max(2.0, cwnd / 2);
            last_cut = now;
        }
    };
    while (now < t0 + duration) {
        while (static_cast<double>(in_flight) < cwnd) {
            p.offer(pkt, now);
            ++in_flight;
            react_to_drops();
        }
        auto next = p.next_due();
        if (ack_head < acks.size() && (!next || acks[ack_head] < *next)) next = acks[ack_head];
        if (!next) break;
        now = *next;
        while (auto out = p.pop(now)) {
            acks.push_back(now + ack_delay);
            if (now >= warm) ++delivered_after_warmup;
        }
        react_to_drops();
        while (ack_head < acks.size() && acks[ack_head] <= now) {
            ++ack_head;
            --in_flight;
            cwnd += 1.0 / cwnd;
        }
    }
    const double seconds_after = std::chrono::duration<double>(duration - 10s).count();
    return {.p50_ms = static_cast<double>(p.stats().queue_delay.percentile(50)) / 1e6,
            .goodput_bps = static_cast<double>(delivered_after_warmup) * 1500 * 8 / seconds_after,
            .drops = p.stats().dropped()};
}

TEST(LinkPipe, CodelKeepsTheQueueShortWhereDroptailDoesNot) {
    direction_config codel = make([&](direction_config& x) { x.rate_bps = 10'000'000; });
    codel.queue.discipline = queue_discipline::codel;
    direction_config droptail = make([&](direction_config& x) { x.rate_bps = 10'000'000; });
    droptail.queue.discipline = queue_discipline::droptail;
    droptail.queue.max_packets = 1000;

    const auto with_codel = reno_through(codel, 60s);
    const auto with_droptail = reno_through(droptail, 60s);
    EXPECT_GE(with_codel.p50_ms, 2.5);
    EXPECT_LE(with_codel.p50_ms, 15.0);
    EXPECT_GT(with_codel.drops, 0u);
    EXPECT_GT(with_droptail.p50_ms, 10 * with_codel.p50_ms)
        << "codel " << with_codel.p50_ms << " ms, droptail " << with_droptail.p50_ms << " ms";
    // Both keep the link busy.
    EXPECT_GT(with_codel.goodput_bps, 0.9e7);
    EXPECT_GT(with_droptail.goodput_bps, 0.9e7);

    // An unresponsive 1.2 x load: CoDel (RFC 8289) cannot hold its target against a sender
    // that ignores drops, but it still holds the delay near one INTERVAL, where droptail fills.
    const double codel_constant = constant_load_p50_ms(codel, 1.2, 60s);
    const double droptail_constant = constant_load_p50_ms(droptail, 1.2, 60s);
    EXPECT_LT(codel_constant, 200.0);
    EXPECT_GT(droptail_constant, 1000.0);  // 1000 packets of 1.2 ms
}

TEST(LinkPipe, CodelHardLimit) {
    direction_config c = make([&](direction_config& x) { x.rate_bps = 1'000'000; });
    c.queue.discipline = queue_discipline::codel;
    c.queue.max_packets = 4;
    pipe p(c, 1);
    std::array<std::byte, 1000> pkt{};
    for (int i = 0; i < 10; ++i) p.offer(pkt, t0);
    EXPECT_EQ(p.held(), 4u);
    EXPECT_EQ(p.stats().dropped_queue_full, 6u);
}

TEST(LinkPipe, TraceReleasesAtOpportunitiesAndRepeats) {
    direction_config c;
    c.trace_ms = {5, 10, 10, 20};  // four opportunities per 20 ms
    pipe p(c, 1);
    const auto arrivals = periodic(12, 0ns, 1500);  // all at t0, the trace's time 0
    const auto out = drive(p, arrivals);
    ASSERT_EQ(out.size(), 12u);
    const std::array<int, 12> expected_ms{5, 10, 10, 20, 25, 30, 30, 40, 45, 50, 50, 60};
    for (std::size_t i = 0; i < out.size(); ++i) {
        EXPECT_EQ(out[i].at, t0 + std::chrono::milliseconds{expected_ms[i]}) << i;
        EXPECT_EQ(out[i].seq, i);
    }
    // An idle link burns its opportunities: a packet at 100.5 ms waits for the one at 105 ms.
    std::array<std::byte, 1500> pkt{};
    p.offer(pkt, t0 + 100ms + 500us);
    EXPECT_EQ(p.next_due(), t0 + 105ms);
    EXPECT_FALSE(p.pop(t0 + 105ms - 1ns));
    EXPECT_TRUE(p.pop(t0 + 105ms));
    // As in mahimahi, a packet arriving at an opportunity's instant cannot use it.
    p.offer(pkt, t0 + 110ms);
    EXPECT_EQ(p.next_due(), t0 + 120ms);
    // Far later, the trace is still running with its period.
    p.pop(t0 + 120ms);
    p.offer(pkt, t0 + 10s + 11ms);
    EXPECT_EQ(p.next_due(), t0 + 10s + 20ms);
}

TEST(LinkPipe, TraceCarriesBytesAcrossOpportunities) {
    direction_config c;
    c.trace_ms = {1};  // one 1500-byte opportunity per ms: 12 Mbit/s
    pipe p(c, 1);
    const auto arrivals = periodic(2000, 0ns, 1000);
    const auto out = drive(p, arrivals);
    ASSERT_EQ(out.size(), 2000u);
    // 2,000,000 bytes take ceil(2e6 / 1500) opportunities.
    EXPECT_EQ(out.back().at, t0 + std::chrono::milliseconds{(2'000'000 + 1499) / 1500});
    for (const auto& d : out) ASSERT_EQ((d.at - t0) % 1ms, 0ns);  // only at opportunities
}

TEST(LinkPipe, PoolExhaustionIsCounted) {
    pipe p(make([&](direction_config& x) { x.delay = 1s; }), 1, 2048, 8);
    std::array<std::byte, 100> pkt{};
    for (int i = 0; i < 20; ++i) p.offer(pkt, t0);
    EXPECT_EQ(p.stats().dropped_no_buffer, 12u);
    EXPECT_EQ(p.held(), 8u);
    expect_conserved(p);
    int popped = 0;
    while (p.pop(t0 + 1s)) ++popped;
    EXPECT_EQ(popped, 8);
    p.offer(pkt, t0 + 1s);
    EXPECT_EQ(p.stats().dropped_no_buffer, 12u);
}

TEST(LinkPipe, PoppedSlotIsReusedAfterTheNextCall) {
    pipe p(direction_config{}, 1, 256, 1);
    std::vector<std::byte> a(10, std::byte{1});
    std::vector<std::byte> b(20, std::byte{2});
    p.offer(a, t0);
    auto first = p.pop(t0);
    ASSERT_TRUE(first);
    EXPECT_EQ((*first)[0], std::byte{1});
    p.offer(b, t0);  // the pool's one slot came back when offer() was called
    EXPECT_EQ(p.stats().dropped_no_buffer, 0u);
    auto second = p.pop(t0);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->size(), 20u);
    EXPECT_EQ((*second)[0], std::byte{2});
}

TEST(LinkPipe, TooBigIsCounted) {
    pipe p(direction_config{}, 1, 256, 16);
    std::vector<std::byte> big(257);
    std::vector<std::byte> fits(256);
    p.offer(big, t0);
    p.offer(fits, t0);
    EXPECT_EQ(p.stats().dropped_too_big, 1u);
    EXPECT_EQ(p.stats().in, 2u);
    EXPECT_EQ(p.stats().bytes_in, 513u);
    EXPECT_TRUE(p.pop(t0));
    EXPECT_FALSE(p.pop(t0));
    expect_conserved(p);
}

TEST(LinkPipe, StatsAreConservedUnderEverything) {
    for (const auto discipline : {queue_discipline::droptail, queue_discipline::codel}) {
        direction_config c = make([&](direction_config& x) {
            x.delay = 15ms;
            x.jitter = 5ms;
            x.distribution = jitter_distribution::pareto;
            x.loss = 0.02;
            x.reorder = 0.05;
            x.duplicate = 0.05;
            x.corrupt = 0.05;
            x.rate_bps = 5'000'000;
        });
        c.queue.discipline = discipline;
        c.queue.max_packets = 40;
        pipe p(c, 77, 1600, 64);
        std::vector<arrival> arrivals;
        for (std::size_t i = 0; i < 20000; ++i)
            arrivals.push_back({t0 + std::chrono::microseconds{i * 1700 / 2}, 100 + (i * 37) % 1600});
        const auto out = drive(p, arrivals, expect_conserved);
        const auto& s = p.stats();
        EXPECT_EQ(p.held(), 0u);
        EXPECT_EQ(s.out, out.size());
        EXPECT_GT(s.dropped_random, 0u);
        EXPECT_GT(s.dropped_too_big, 0u);
        EXPECT_GT(s.dropped_queue_full + s.dropped_codel + s.dropped_no_buffer, 0u);
        std::uint64_t bytes = 0;
        for (const auto& d : out) bytes += d.size;
        EXPECT_EQ(bytes, s.bytes_out);
        EXPECT_EQ(s.queue_delay.count(), s.out);  // every packet out crossed the queue
    }
}

TEST(LinkPipe, OfferAndPopDoNotAllocate) {
    direction_config c = make([&](direction_config& x) {
        x.delay = 10ms;
        x.jitter = 2ms;
        x.loss = 0.01;
        x.reorder = 0.01;
        x.duplicate = 0.01;
        x.corrupt = 0.01;
        x.rate_bps = 20'000'000;
    });
    c.queue.discipline = queue_discipline::codel;
    pipe p(c, 1);
    std::array<std::byte, 1500> pkt{};
    g_allocations = 0;
    g_count_allocations = true;
    std::size_t popped = 0;
    for (int i = 0; i < 20000; ++i) {
        const auto now = t0 + std::chrono::microseconds{i * 300};
        p.offer(pkt, now);
        while (p.pop(now)) ++popped;
        (void)p.next_due();
    }
    g_count_allocations = false;
    EXPECT_EQ(g_allocations, 0u);
    EXPECT_GT(popped, 5000u);
}

TEST(LinkPipe, TimeGoingBackwardIsClamped) {
    pipe p(make([&](direction_config& x) { x.delay = 10ms; }), 1);
    std::array<std::byte, 10> pkt{};
    p.offer(pkt, t0 + 5ms);
    p.offer(pkt, t0);  // treated as t0 + 5 ms
    EXPECT_FALSE(p.pop(t0 + 14ms));
    EXPECT_TRUE(p.pop(t0 + 15ms));
    EXPECT_TRUE(p.pop(t0 + 15ms));
}

TEST(LinkPipe, BadConfigThrows) {
    EXPECT_THROW(pipe(make([&](direction_config& x) { x.loss = 1.5; }), 1), nettool::error);
    EXPECT_THROW(pipe(make([&](direction_config& x) { x.loss = std::nan(""); }), 1), nettool::error);
    direction_config both = make([&](direction_config& x) { x.rate_bps = 1000; });
    both.trace_ms = {1};
    EXPECT_THROW(pipe(both, 1), nettool::error);
    direction_config zero_period;
    zero_period.trace_ms = {0, 0};
    EXPECT_THROW(pipe(zero_period, 1), nettool::error);
    EXPECT_THROW(pipe(direction_config{}, 1, 2048, 0), nettool::error);
}

TEST(LinkPipe, MovedPipeKeepsItsState) {
    pipe a(make([&](direction_config& x) { x.delay = 1ms; }), 1);
    std::array<std::byte, 10> pkt{};
    a.offer(pkt, t0);
    pipe b = std::move(a);
    EXPECT_EQ(b.held(), 1u);
    EXPECT_TRUE(b.pop(t0 + 1ms));
}

}  // namespace
