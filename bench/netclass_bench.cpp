// Longest-prefix match throughput: DIR-24-8 (ipv4_prefix_table) with a 1 M-prefix table shaped
// like a BGP full table (mostly /24 and /16-/23, few shorter, ~1% longer than /24), against
// uniformly random addresses (worst case for caches) and addresses inside the table's prefixes.
// Target: >= 50 M lookups/s on one core. Also the linear scan a naive classifier does, for scale.
#include <nettool/net/prefix_table.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {

struct prefix {
    std::uint32_t network;
    int length;
};

int bgp_like_length(std::mt19937& rng) {
    const unsigned r = rng() % 1000;
    if (r < 2) return 8 + static_cast<int>(rng() % 8);     // 0.2%  /8../15
    if (r < 20) return 16;                                 // 1.8%  /16
    if (r < 400) return 17 + static_cast<int>(rng() % 7);  // 38%   /17../23
    if (r < 990) return 24;                                // 59%   /24
    return 25 + static_cast<int>(rng() % 8);               // 1%    /25../32
}

const std::vector<prefix>& table_prefixes() {
    static const std::vector<prefix> p = [] {
        std::mt19937 rng(42);
        std::vector<prefix> v;
        v.reserve(1 << 20);
        for (std::size_t i = 0; i < (std::size_t{1} << 20); ++i)
            v.push_back({static_cast<std::uint32_t>(rng()), bgp_like_length(rng)});
        return v;
    }();
    return p;
}

const nettool::ipv4_prefix_table& big_table() {
    static const nettool::ipv4_prefix_table t = [] {
        nettool::ipv4_prefix_table tab;
        std::uint32_t value = 0;
        for (const auto& p : table_prefixes()) tab.insert(p.network, p.length, value++);
        tab.build();
        return tab;
    }();
    return t;
}

std::vector<std::uint32_t> random_addresses(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::uint32_t> a(n);
    for (auto& x : a) x = static_cast<std::uint32_t>(rng());
    return a;
}

void BM_Dir248LookupRandom(benchmark::State& state) {
    const auto& t = big_table();
    const auto addrs = random_addresses(std::size_t{1} << 20, 7);
    std::uint64_t matched = 0;
    for (auto _ : state) {
        for (const auto a : addrs) matched += t.lookup(a) != nettool::ipv4_prefix_table::no_match;
        benchmark::DoNotOptimize(matched);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * addrs.size()));
    state.counters["prefixes"] = static_cast<double>(t.size());
    state.counters["groups"] = static_cast<double>(t.group_count());
    state.counters["MiB"] = static_cast<double>(t.memory_bytes()) / (1 << 20);
}
BENCHMARK(BM_Dir248LookupRandom)->Unit(benchmark::kMillisecond);

// The same random addresses through lookup_batch (software prefetch, 16 ahead).
void BM_Dir248LookupRandomBatch(benchmark::State& state) {
    const auto& t = big_table();
    const auto addrs = random_addresses(std::size_t{1} << 20, 7);
    std::vector<std::uint32_t> out(addrs.size());
    for (auto _ : state) {
        t.lookup_batch(addrs, out);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * addrs.size()));
}
BENCHMARK(BM_Dir248LookupRandomBatch)->Unit(benchmark::kMillisecond);

void BM_Dir248LookupInTable(benchmark::State& state) {
    const auto& t = big_table();
    const auto& ps = table_prefixes();
    std::mt19937 rng(9);
    std::vector<std::uint32_t> addrs(std::size_t{1} << 20);
    for (auto& a : addrs) {
        const auto& p = ps[rng() % ps.size()];
        const std::uint32_t host =
            p.length == 32 ? 0 : static_cast<std::uint32_t>(rng()) & (~std::uint32_t{0} >> p.length);
        a = (p.network & ~(~std::uint32_t{0} >> p.length)) | host;
    }
    std::uint64_t sum = 0;
    for (auto _ : state) {
        for (const auto a : addrs) sum += t.lookup(a);
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * addrs.size()));
}
BENCHMARK(BM_Dir248LookupInTable)->Unit(benchmark::kMillisecond);

void BM_Dir248Build(benchmark::State& state) {
    const auto& ps = table_prefixes();
    for (auto _ : state) {
        nettool::ipv4_prefix_table tab;
        std::uint32_t value = 0;
        for (const auto& p : ps) tab.insert(p.network, p.length, value++);
        tab.build();
        benchmark::DoNotOptimize(tab.lookup(0x08080808U));
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * ps.size()));
}
BENCHMARK(BM_Dir248Build)->Unit(benchmark::kMillisecond)->Iterations(2);

// For scale: what a linear longest-prefix scan costs with only 1000 prefixes.
void BM_LinearScan1k(benchmark::State& state) {
    std::mt19937 rng(3);
    std::vector<prefix> ps(1000);
    for (auto& p : ps) p = {static_cast<std::uint32_t>(rng()), bgp_like_length(rng)};
    const auto addrs = random_addresses(4096, 11);
    std::uint64_t sum = 0;
    for (auto _ : state) {
        for (const auto a : addrs) {
            int best = -1;
            std::uint32_t val = 0;
            for (std::uint32_t i = 0; i < ps.size(); ++i) {
                const std::uint32_t mask = ps[i].length == 0 ? 0 : ~std::uint32_t{0} << (32 - ps[i].length);
                if ((a & mask) == (ps[i].network & mask) && ps[i].length > best) {
                    best = ps[i].length;
                    val = i;
                }
            }
            sum += val;
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * addrs.size()));
}
BENCHMARK(BM_LinearScan1k);

}  // namespace

BENCHMARK_MAIN();
