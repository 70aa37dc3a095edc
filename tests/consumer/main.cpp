// Links libnettool through find_package and uses its public API.
#include <nettool/core/histogram.hpp>
#include <nettool/core/report.hpp>
#include <nettool/core/version.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>

int main() {
    nettool::histogram h;
    for (int i = 1; i <= 100; ++i) h.record(static_cast<std::uint64_t>(i) * 1000);
    nettool::report r{"consumer"};
    r.data()["latency"] = nettool::latency_summary::from(h);
    const auto j = r.to_json();
    if (j.at("latency").at("count") != 100) return 1;
    std::printf("consumer linked nettool %s: p50 %.1f us\n", nettool::version_string,
                j.at("latency").at("p50_us").get<double>());
    return 0;
}
