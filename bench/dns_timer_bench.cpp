// Cost of the DNS message work around one timed query: building it with ldns, and checking a
// received answer (header read through packet's dns_view, full ldns parse, records printed).
#include "dns/dns_message.hpp"

#include <nettool/packet/packet.hpp>

#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace {

std::vector<std::byte> read_seed(const char* name) {
    const auto path =
        std::filesystem::path{__FILE__}.parent_path() / "../fuzz/corpus/dns_response_fuzz" / name;
    std::ifstream in{path, std::ios::binary};
    std::vector<char> bytes{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
    std::vector<std::byte> out(bytes.size());
    for (std::size_t i = 0; i < bytes.size(); ++i) out[i] = static_cast<std::byte>(bytes[i]);
    return out;
}

void BM_DnsBuildQuery(benchmark::State& state) {
    std::uint16_t id = 0;
    for (auto _ : state) {
        std::error_code ec;
        auto q = nettool::detail::build_dns_query("www.test.example", 1, ++id, true, true, 1232, ec);
        benchmark::DoNotOptimize(q);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DnsBuildQuery);

void BM_DnsCheckResponse(benchmark::State& state) {
    const auto msg = read_seed("dnsmasq-2-test.example-15.bin");
    const auto h = nettool::dns_view::parse(msg);
    if (!h) {
        state.SkipWithError("seed dnsmasq-2-test.example-15.bin missing");
        return;
    }
    const nettool::detail::dns_question q{h->id(), "test.example.", 15, 1};
    const bool records = state.range(0) != 0;
    for (auto _ : state) {
        auto r = nettool::detail::check_dns_response(msg, q, records);
        if (r.verdict != nettool::detail::response_verdict::accepted) {
            state.SkipWithError("seed not accepted");
            break;
        }
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(msg.size()));
}
BENCHMARK(BM_DnsCheckResponse)->Arg(0)->Arg(1)->ArgName("records");

void BM_DnsHeaderPeek(benchmark::State& state) {
    const auto msg = read_seed("dnsmasq-0-www.test.example-1.bin");
    for (auto _ : state) {
        auto h = nettool::dns_view::parse(msg);
        benchmark::DoNotOptimize(h);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DnsHeaderPeek);

}  // namespace
BENCHMARK_MAIN();
