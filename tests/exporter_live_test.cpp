// The exporter against real parts: nettool responders as targets, curl as the client, promtool
// checking every exposition, and a real Prometheus scraping it and answering PromQL.
#include <nettool/exporter/exporter.hpp>

#include <nettool/probe/responder.hpp>
#include <nettool/probe/udp_probe.hpp>

#include "support/netns_lab.hpp"
#include "support/responder_fixture.hpp"
#include "support/process.hpp"
#include "support/prometheus_lab.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

namespace {

using namespace nettool;
using namespace nettool::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

class ExporterLive : public responder_fixture {
protected:
    void SetUp() override {
        responder_fixture::SetUp();
        if (HasFatalFailure()) return;
        target_text_ = target_.to_string();
        dir_ = fs::temp_directory_path() / ("nettool-exporter-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (svc_) svc_->stop();
        fs::remove_all(dir_);
    }
    void start(const std::string& config_yaml = {}) {
        exporter::exporter_options o;
        o.port = 0;
        if (!config_yaml.empty()) {
            o.config_path = (dir_ / "exporter.yml").string();
            std::ofstream(o.config_path) << config_yaml;
        }
        svc_ = exporter::start_exporter(o);
        base_ = "http://127.0.0.1:" + std::to_string(svc_->port());
    }
    std::string target_text_;  // the responder as the exporter's config and /probe spell it
    fs::path dir_;
    std::unique_ptr<exporter::exporter_service> svc_;
    std::string base_;
};

TEST_F(ExporterLive, ProbeAnswersAsBlackboxExporterDoes) {
    start();
    for (const char* module : {"tcp_connect", "tcp_rr", "udp_rr"}) {
        const auto a = http(base_ + "/probe?target=" + target_text_ + "&module=" + module);
        ASSERT_EQ(a.status, 200) << module << ": " << a.body;
        EXPECT_EQ(metric_sample(a.body, "probe_success"), 1) << module << ":\n" << a.body;
        EXPECT_GT(metric_sample(a.body, "probe_duration_seconds"), 0) << module;
        EXPECT_EQ(metric_sample(a.body, "probe_dns_lookup_time_seconds") >= 0, true) << module;
        EXPECT_EQ(metric_sample(a.body, "probe_nettool_sent"), std::string{module} == "tcp_connect" ? 1 : 10) << module;
        EXPECT_EQ(metric_sample(a.body, "probe_nettool_lost"), 0) << module;
        const double p50 = metric_sample(a.body, "probe_nettool_latency_p50_seconds");
        EXPECT_GT(p50, 0) << module;
        EXPECT_LT(p50, metric_sample(a.body, "probe_duration_seconds")) << module;
        const auto lint = promtool_check(a.body, dir_);
        EXPECT_EQ(lint.exit_code, 0) << module << ": " << lint.out << lint.err;
    }
    // tcp_rr also times its handshake.
    EXPECT_GT(metric_sample(http(base_ + "/probe?target=" + target_text_ + "&module=tcp_rr").body, "probe_tcp_connect_seconds"), 0);
}

TEST_F(ExporterLive, BadRequestsAreA400WithOneLine) {
    start();
    auto a = http(base_ + "/probe?module=udp_rr");
    EXPECT_EQ(a.status, 400);
    EXPECT_EQ(a.body, "target parameter is missing: /probe?target=HOST[:PORT]&module=NAME\n");
    a = http(base_ + "/probe?target=" + target_text_ + "&module=icmp");
    EXPECT_EQ(a.status, 400);
    EXPECT_EQ(a.body, "unknown module 'icmp'\n");
    a = http(base_ + "/probe?target=1.2.3.4:99999&module=udp_rr");
    EXPECT_EQ(a.status, 400);
    EXPECT_EQ(a.body, "target '1.2.3.4:99999' is not HOST[:PORT]\n");
    a = http(base_ + "/probe?target=" + target_text_ + "&module=udp_rr", {"X-Prometheus-Scrape-Timeout-Seconds: nan"});
    EXPECT_EQ(a.status, 400);
    a = http(base_ + "/nothing-here");
    EXPECT_EQ(a.status, 404);
    EXPECT_EQ(http(base_ + "/-/healthy").status, 200);
    // The server is still there after each.
    EXPECT_EQ(http(base_ + "/probe?target=" + target_text_ + "&module=udp_rr").status, 200);
}

// A target that accepts connections and never answers: the round ends inside the scrape's
// timeout (less blackbox's half-second margin), and says why.
TEST_F(ExporterLive, TheScrapeTimeoutBoundsTheRound) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd, 16), 0);  // the kernel completes handshakes; nobody reads
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    start();
    const auto silent = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = http(base_ + "/probe?target=" + silent + "&module=tcp_rr", {"X-Prometheus-Scrape-Timeout-Seconds: 1.5"});
    const auto took = std::chrono::steady_clock::now() - t0;
    ::close(fd);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(metric_sample(r.body, "probe_success"), 0) << r.body;
    EXPECT_LT(metric_sample(r.body, "probe_duration_seconds"), 1.5) << r.body;
    EXPECT_LT(took, 3s);
}

TEST_F(ExporterLive, MetricsOfEveryTargetPassPromtool) {
    start("targets:\n"
          "  - target: " + target_text_ + "\n    module: udp_rr\n    interval: 100ms\n"
          "  - target: " + target_text_ + "\n    module: tcp_rr\n    interval: 100ms\n"
          "  - target: " + target_text_ + "\n    module: tcp_connect\n    interval: 100ms\n"
          "  - target: 127.0.0.1:1\n    module: tcp_connect\n    interval: 100ms\n");  // refused
    std::string text;
    for (int i = 0; i < 50; ++i) {
        std::this_thread::sleep_for(100ms);
        text = http(base_ + "/metrics").body;
        if (metric_sample(text, "nettool_probe_rounds_total{target=\"" + target_text_ + "\",module=\"udp_rr\"}") >= 3 &&
            metric_sample(text, "nettool_probe_rounds_total{target=\"127.0.0.1:1\",module=\"tcp_connect\"}") >= 1)
            break;
    }
    const std::string udp = "{target=\"" + target_text_ + "\",module=\"udp_rr\"}";
    ASSERT_GE(metric_sample(text, "nettool_probe_rounds_total" + udp), 3) << text;
    EXPECT_EQ(metric_sample(text, "nettool_probes_sent_total" + udp), 10 * metric_sample(text, "nettool_probe_rounds_total" + udp));
    EXPECT_EQ(metric_sample(text, "nettool_probes_lost_total" + udp), 0);
    EXPECT_EQ(metric_sample(text, "nettool_probe_success" + udp), 1);
    EXPECT_EQ(metric_sample(text, "nettool_probe_latency_seconds_count" + udp), metric_sample(text, "nettool_probes_sent_total" + udp));
    const std::string refused = "{target=\"127.0.0.1:1\",module=\"tcp_connect\"}";
    EXPECT_EQ(metric_sample(text, "nettool_probe_success" + refused), 0);
    EXPECT_GE(metric_sample(text, "nettool_probe_rounds_failed_total" + refused), 1);
    EXPECT_NE(text.find("nettool_probe_last_error_info{target=\"127.0.0.1:1\",module=\"tcp_connect\",error=\"1 of 1 "
                        "connects failed (1 refused"),
              std::string::npos)
        << text;
    EXPECT_EQ(metric_sample(text, "nettool_exporter_targets"), 4);
    const auto lint = promtool_check(text, dir_);
    EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
}

TEST_F(ExporterLive, ReloadKeepsTheCountersOfUnchangedTargets) {
    const std::string one = "targets:\n  - target: " + target_text_ + "\n    module: udp_rr\n    interval: 100ms\n";
    start(one);
    const std::string series = "nettool_probe_rounds_total{target=\"" + target_text_ + "\",module=\"udp_rr\"}";
    double before = 0;
    for (int i = 0; i < 50 && before < 3; ++i) {
        std::this_thread::sleep_for(100ms);
        before = metric_sample(http(base_ + "/metrics").body, series);
    }
    ASSERT_GE(before, 3);
    // A broken file is refused with its line, and the old config keeps running.
    std::ofstream(dir_ / "exporter.yml") << one << "  - target: x\n    module: nope\n";
    const auto refused = http(base_ + "/-/reload", {}, {}, "POST");
    EXPECT_EQ(refused.status, 500);
    EXPECT_NE(refused.body.find("line 6: module 'nope' is not defined"), std::string::npos) << refused.body;
    // A good one with one more target: the first target's counter goes on from where it was.
    std::ofstream(dir_ / "exporter.yml") << one << "  - target: " << target_text_ << "\n    module: tcp_connect\n";
    EXPECT_EQ(svc_->reload(), "");
    const auto text = http(base_ + "/metrics").body;
    EXPECT_GE(metric_sample(text, series), before);
    EXPECT_EQ(metric_sample(text, "nettool_exporter_targets"), 2);
    EXPECT_EQ(metric_sample(text, "nettool_exporter_config_reloads_total{result=\"failure\"}"), 1);
    EXPECT_EQ(metric_sample(text, "nettool_exporter_config_reloads_total{result=\"success\"}"), 1);
}

TEST_F(ExporterLive, CheckConfigReadsTheFileAndStartsNothing) {
    const auto good = dir_ / "good.yml", bad = dir_ / "bad.yml";
    std::ofstream(good) << "targets:\n  - target: " << target_text_ << "\n    module: udp_rr\n";
    std::ofstream(bad) << "targets:\n  - target: " << target_text_ << "\n    module: nope\n";
    auto r = run_nettool({"exporter", "--config", good.string(), "--check-config"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, good.string() + ": ok: 1 targets, 6 modules\n");
    EXPECT_EQ(resp_->stats().sessions, 0u);  // nothing was probed
    r = run_nettool({"exporter", "--config", bad.string(), "--check-config"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("line 3: module 'nope' is not defined"), std::string::npos) << r.err;
}

// The whole chain in a namespace of its own: two `nettool serve`s, one behind an nftables rule
// that drops every 10th UDP datagram sent to it; `nettool exporter` probing both; a real
// Prometheus scraping /metrics and, relabelled as for blackbox_exporter, /probe. PromQL must show
// the lossy path and only it, the latency quantile must agree with a direct `nettool udp` run,
// and the exporter's loss count must agree with the drop counter of the rule.
TEST(ExporterPrometheus, PromQLSeesTheLossyPathAndTheLatencies) {
    if (!is_root()) GTEST_SKIP() << "needs root for a network namespace and nftables";
    if (!have_prometheus())
        GTEST_SKIP() << "prometheus is not installed (scripts/install-deps.sh --test installs it)";
    netns_lab lab("pm");
    const auto ns = lab.add_namespace("a");
    ASSERT_FALSE(ns.empty());
    const std::vector<std::string> in_ns{"ip", "netns", "exec", ns};
    const auto dir = fs::temp_directory_path() / ("nettool-prom-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    struct cleanup {
        fs::path d;
        ~cleanup() { fs::remove_all(d); }
    } rm{dir};
    const std::string clean = "127.0.0.1:51001", lossy = "127.0.0.1:51002";
    ASSERT_EQ(sh("ip netns exec " + ns +
                 " nft 'add table inet nt; add chain inet nt in { type filter hook input priority 0; }; "
                 "add rule inet nt in udp dport 51002 numgen inc mod 10 == 0 counter drop'"),
              0);
    auto with_ns = [&](std::vector<std::string> argv) {
        argv.insert(argv.begin(), in_ns.begin(), in_ns.end());
        return argv;
    };
    background_process serve1(with_ns({NETTOOL_BIN, "serve", "--bind", "127.0.0.1", "--port", "51001"}));
    background_process serve2(with_ns({NETTOOL_BIN, "serve", "--bind", "127.0.0.1", "--port", "51002"}));
    std::ofstream(dir / "exporter.yml") << "targets:\n"
                                           "  - target: " << clean << "\n    module: udp_rr\n    interval: 200ms\n"
                                           "  - target: " << lossy << "\n    module: udp_rr\n    interval: 200ms\n";
    background_process exporter(with_ns({NETTOOL_BIN, "exporter", "--listen", "127.0.0.1:9429", "--config",
                                         (dir / "exporter.yml").string()}));
    prometheus_server prom(
        dir, "prometheus",
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
        "scrape_configs:\n"
        "  - job_name: nettool\n    static_configs:\n      - targets: ['127.0.0.1:9429']\n"
        "  - job_name: blackbox\n    metrics_path: /probe\n    params:\n      module: [udp_rr]\n"
        "    static_configs:\n      - targets: ['" + clean + "']\n"
        "    relabel_configs:\n"
        "      - source_labels: [__address__]\n        target_label: __param_target\n"
        "      - source_labels: [__param_target]\n        target_label: instance\n"
        "      - target_label: __address__\n        replacement: 127.0.0.1:9429\n",
        "127.0.0.1:9090", in_ns);
    const auto query = [&](const std::string& promql) { return prom.query(promql); };
    // Wait for ten seconds of scrapes (about 50 rounds per target).
    ASSERT_TRUE(prom.wait_ready()) << "prometheus did not become ready";
    std::this_thread::sleep_for(10s);

    const auto ratio = [&](const std::string& target) {
        return query("sum(rate(nettool_probes_lost_total{target=\"" + target + "\"}[1m])) / "
                     "sum(rate(nettool_probes_sent_total{target=\"" + target + "\"}[1m]))");
    };
    EXPECT_EQ(ratio(clean), 0);
    const double lossy_ratio = ratio(lossy);
    EXPECT_GT(lossy_ratio, 0.07);
    EXPECT_LT(lossy_ratio, 0.13);
    EXPECT_EQ(query("probe_success{job=\"blackbox\"}"), 1);
    EXPECT_EQ(query("probe_nettool_lost{job=\"blackbox\"}"), 0);
    const double promql_p50 = query("histogram_quantile(0.5, sum by (le) (rate(nettool_probe_latency_seconds_bucket{"
                                    "target=\"" + clean + "\"}[1m])))");
    // The same path measured directly, now.
    const auto direct = run_process(with_ns({NETTOOL_BIN, "udp", clean, "--mode", "rr", "--count", "200", "--json"}));
    ASSERT_EQ(direct.exit_code, 0) << direct.err;
    const double direct_p50 =
        nlohmann::json::parse(direct.out)["result"]["rtt"]["p50_us"].get<double>() / 1e6;
    // The histogram's buckets are 2-2.5x apart and PromQL interpolates inside one (a factor of 3),
    // and the two figures come from different minutes: on a 2-vCPU machine a loopback round trip
    // is about 13 us when both ends share a CPU and 55 to 80 us when each wake-up crosses CPUs,
    // which the scheduler decides run by run (docs/performance.md; a clean-clone run saw 66 us
    // from PromQL against 12.7 us direct). Within a factor of 8 still catches a wrong unit or
    // bucket bound, which would be off by 1,000 or more.
    EXPECT_GT(promql_p50, direct_p50 / 8) << "PromQL " << promql_p50 << " s, direct " << direct_p50 << " s";
    EXPECT_LT(promql_p50, direct_p50 * 8) << "PromQL " << promql_p50 << " s, direct " << direct_p50 << " s";

    // The exporter's lost count against the rule's drop counter, read around it: a round in
    // flight may hold up to 10 drops the exporter has not folded in yet.
    const auto nft_drops = [&] {
        const auto r = run_process({"ip", "netns", "exec", ns, "nft", "-j", "list", "table", "inet", "nt"});
        const auto j = nlohmann::json::parse(r.out, nullptr, false);
        if (j.is_discarded()) return -1.0;
        for (const auto& o : j["nftables"])
            if (o.contains("rule"))
                for (const auto& e : o["rule"]["expr"])
                    if (e.contains("counter")) return e["counter"]["packets"].get<double>();
        return -1.0;
    };
    const double n1 = nft_drops();
    const double lost = metric_sample(http("http://127.0.0.1:9429/metrics", {}, in_ns).body,
                               "nettool_probes_lost_total{target=\"" + lossy + "\",module=\"udp_rr\"}");
    const double n2 = nft_drops();
    EXPECT_GT(n1, 10);
    EXPECT_LE(lost, n2);
    EXPECT_GE(lost, n1 - 10);
}

}  // namespace
