// Histogram hot paths. Target (issue 2): record >= 100 M values/s on one core.
#include <nettool/core/histogram.hpp>

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

namespace {

std::vector<std::uint64_t> rtt_like_values(std::size_t n) {
    std::mt19937_64 rng(42);
    std::lognormal_distribution<double> d(10.8, 0.8);  // ~50 us median, like loopback RTTs
    std::vector<std::uint64_t> v(n);
    for (auto& x : v) x = static_cast<std::uint64_t>(d(rng));
    return v;
}

void BM_HistogramRecord(benchmark::State& state) {
    const auto values = rtt_like_values(1 << 16);
    nettool::histogram h;
    std::size_t i = 0;
    for (auto _ : state) {
        h.record(values[i]);
        i = (i + 1) & (values.size() - 1);
    }
    benchmark::DoNotOptimize(h.count());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord);

void BM_HistogramPercentile(benchmark::State& state) {
    const auto values = rtt_like_values(1 << 16);
    nettool::histogram h;
    for (auto v : values) h.record(v);
    for (auto _ : state) benchmark::DoNotOptimize(h.percentile(99.9));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramPercentile);

void BM_HistogramMerge(benchmark::State& state) {
    const auto values = rtt_like_values(1 << 16);
    nettool::histogram a, b;
    for (auto v : values) b.record(v);
    for (auto _ : state) {
        a.merge(b);
        benchmark::DoNotOptimize(a.count());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramMerge);

}  // namespace

BENCHMARK_MAIN();
