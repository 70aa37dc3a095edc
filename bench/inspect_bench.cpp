// Decoder and inspector hot paths. Issue 5 targets inspect throughput >= 10x tshark io,phs and
// >= 3x `tcpdump -nn -r`; these measure nettool's side (packets/s and bytes/s) so ratios can be
// taken against the tools in the same run. NETTOOL_BENCH_PCAP=FILE adds a whole-file run.
#include <nettool/packet/inspect.hpp>
#include <nettool/packet/packet.hpp>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::vector<std::byte> tcp_frame(std::uint16_t sport, std::uint32_t seq, std::size_t payload) {
    std::vector<std::uint8_t> f{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00};
    auto total = static_cast<std::uint16_t>(40 + payload);
    std::vector<std::uint8_t> hdr{0x45,
                                  0,
                                  static_cast<std::uint8_t>(total >> 8),
                                  static_cast<std::uint8_t>(total),
                                  0,
                                  1,
                                  0x40,
                                  0,
                                  64,
                                  6,
                                  0,
                                  0,
                                  192,
                                  0,
                                  2,
                                  1,
                                  192,
                                  0,
                                  2,
                                  2,
                                  static_cast<std::uint8_t>(sport >> 8),
                                  static_cast<std::uint8_t>(sport),
                                  0,
                                  80,
                                  static_cast<std::uint8_t>(seq >> 24),
                                  static_cast<std::uint8_t>(seq >> 16),
                                  static_cast<std::uint8_t>(seq >> 8),
                                  static_cast<std::uint8_t>(seq),
                                  0,
                                  0,
                                  0,
                                  1,
                                  0x50,
                                  0x18,
                                  0x10,
                                  0x00,
                                  0,
                                  0,
                                  0,
                                  0};
    f.insert(f.end(), hdr.begin(), hdr.end());
    f.insert(f.end(), payload, 0x61);
    std::vector<std::byte> out;
    for (auto b : f) out.push_back(static_cast<std::byte>(b));
    return out;
}

void BM_DecodeEthernetTcp(benchmark::State& state) {
    auto frame = tcp_frame(40000, 1, 100);
    for (auto _ : state) {
        auto p = nettool::decode(nettool::link_type::ethernet, frame);
        benchmark::DoNotOptimize(p.depth);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame.size()));
}
BENCHMARK(BM_DecodeEthernetTcp);

void BM_InspectorAdd(benchmark::State& state) {
    // 1000 connections, segments round-robin: flow lookup + TCP analysis per packet.
    std::vector<std::vector<std::byte>> frames;
    for (std::uint16_t c = 0; c < 1000; ++c)
        frames.push_back(tcp_frame(static_cast<std::uint16_t>(10000 + c), 1, 100));
    nettool::inspector insp{nettool::link_type::ethernet};
    std::size_t i = 0;
    std::int64_t t = 0;
    for (auto _ : state) {
        const auto& f = frames[i];
        insp.add(std::chrono::nanoseconds{t += 1000}, f, static_cast<std::uint32_t>(f.size()));
        if (++i == frames.size()) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frames[0].size()));
}
BENCHMARK(BM_InspectorAdd);

void BM_InspectFile(benchmark::State& state) {
    const char* path = std::getenv("NETTOOL_BENCH_PCAP");
    if (path == nullptr) {
        state.SkipWithError("set NETTOOL_BENCH_PCAP to a capture file");
        return;
    }
    std::uint64_t packets = 0, bytes = 0;
    for (auto _ : state) {
        nettool::inspect_result r;
        try {
            r = nettool::inspect_file(path);
        } catch (const nettool::error& e) {
            state.SkipWithError(e.what());
            return;
        }
        packets += r.packets;
        bytes += r.captured_bytes;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(packets));
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_InspectFile)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
