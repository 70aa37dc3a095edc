// The fleet case of docs/exporter.md ("A mesh, worked through") built for real: three hosts
// (network namespaces) on a bridge in 198.51.100.0/24, each running `nettool serve --metrics`;
// one `nettool exporter` in the bridge's namespace probing every host with udp_rr and tcp_rr;
// nftables on host b dropping a random 20% of the UDP datagrams that arrive from the prober;
// a Debian Prometheus scraping the exporter and the three serves, and a second Prometheus
// federating from the first. PromQL must show the lossy path's loss, the clean paths at zero,
// the serves' sessions from the exporter, and the federated series.
#include <nettool/exporter/exporter.hpp>

#include "support/netns_lab.hpp"
#include "support/process.hpp"
#include "support/prometheus_lab.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using namespace nettool::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* prober_ip = "198.51.100.254";

TEST(ExporterMesh, PromQLShowsTheLossyPathOfThree) {
    if (!is_root()) GTEST_SKIP() << "needs root for network namespaces, a bridge and nftables";
    if (!have_prometheus())
        GTEST_SKIP() << "prometheus is not installed (scripts/install-deps.sh --test installs it)";
    netns_lab lab("mesh");
    const auto sw = lab.add_namespace("sw");  // the bridge, the exporter and both Prometheus
    ASSERT_FALSE(sw.empty());
    ASSERT_TRUE(lab.bridge(sw, "br0")) << lab.errors();
    ASSERT_TRUE(lab.ip(sw, {"addr", "add", std::string{prober_ip} + "/24", "dev", "br0"})) << lab.errors();
    struct host {
        std::string name, ns, ip;
    };
    std::vector<host> hosts{{"a", "", "198.51.100.1"}, {"b", "", "198.51.100.2"}, {"c", "", "198.51.100.3"}};
    for (auto& h : hosts) {
        h.ns = lab.add_namespace(h.name);
        ASSERT_FALSE(h.ns.empty());
        ASSERT_TRUE(lab.veth(h.ns, "eth0", sw, "v" + h.name)) << lab.errors();
        ASSERT_TRUE(lab.attach(sw, "v" + h.name, "br0")) << lab.errors();
        ASSERT_TRUE(lab.ip(h.ns, {"addr", "add", h.ip + "/24", "dev", "eth0"})) << lab.errors();
    }
    const auto& lossy = hosts[1];
    ASSERT_EQ(sh("ip netns exec " + lossy.ns +
                 " nft 'add table inet mesh; add chain inet mesh in { type filter hook input priority 0; }; "
                 "add rule inet mesh in ip saddr " + prober_ip +
                 " udp dport 51423 numgen random mod 100 < 20 counter drop'"),
              0);

    const auto dir = fs::temp_directory_path() / ("nettool-mesh-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    struct cleanup {
        fs::path d;
        ~cleanup() { fs::remove_all(d); }
    } rm{dir};
    const auto in = [](const std::string& ns, std::vector<std::string> argv) {
        argv.insert(argv.begin(), {"ip", "netns", "exec", ns});
        return argv;
    };

    std::vector<std::unique_ptr<background_process>> serves;
    for (const auto& h : hosts)
        serves.push_back(std::make_unique<background_process>(
            in(h.ns, {NETTOOL_BIN, "serve", "--bind", h.ip, "--metrics", h.ip + ":9430"})));
    std::string config = "targets:\n";
    for (const auto& h : hosts)
        for (const char* module : {"udp_rr", "tcp_rr"})
            config += "  - target: " + h.ip + ":51423\n    module: " + std::string{module} + "\n    interval: 200ms\n";
    std::ofstream(dir / "mesh.yml") << config;
    background_process exporter(
        in(sw, {NETTOOL_BIN, "exporter", "--listen", "127.0.0.1:9429", "--config", (dir / "mesh.yml").string()}));

    std::string serve_targets;
    for (const auto& h : hosts) serve_targets += (serve_targets.empty() ? "'" : ", '") + h.ip + ":9430'";
    const std::vector<std::string> in_sw{"ip", "netns", "exec", sw};
    prometheus_server prom(dir, "prometheus",
                           "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
                           "scrape_configs:\n"
                           "  - job_name: nettool\n    static_configs:\n      - targets: ['127.0.0.1:9429']\n"
                           "  - job_name: nettool_serve\n    static_configs:\n      - targets: [" +
                               serve_targets + "]\n",
                           "127.0.0.1:9090", in_sw);
    // The second Prometheus takes the first's series through /federate, as a global one would
    // from each site's.
    prometheus_server global(dir, "global",
                             "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
                             "scrape_configs:\n"
                             "  - job_name: federate\n    honor_labels: true\n    metrics_path: /federate\n"
                             "    params:\n      'match[]':\n        - '{job=\"nettool\"}'\n"
                             "        - '{__name__=~\"nettool_responder_.*\"}'\n"
                             "    static_configs:\n      - targets: ['127.0.0.1:9090']\n",
                             "127.0.0.1:9091", in_sw);
    ASSERT_TRUE(prom.wait_ready()) << "prometheus did not become ready";
    ASSERT_TRUE(global.wait_ready()) << "the federating prometheus did not become ready";
    // Ten seconds of scrapes: about 500 udp_rr probes per path.
    std::this_thread::sleep_for(10s);

    const auto ratio = [&](const std::string& ip, const char* module) {
        const std::string sel = "{target=\"" + ip + ":51423\",module=\"" + module + "\"}";
        return prom.query("sum(rate(nettool_probes_lost_total" + sel + "[1m])) / sum(rate(nettool_probes_sent_total" +
                          sel + "[1m]))");
    };
    for (const auto& h : hosts) {
        const double udp = ratio(h.ip, "udp_rr"), tcp = ratio(h.ip, "tcp_rr");
        EXPECT_EQ(tcp, 0) << h.name << ": TCP retransmits what nftables drops; only UDP shows it";
        if (h.name == lossy.name) {
            EXPECT_GT(udp, 0.08) << h.name;  // 20% dropped, ~500 probes: 0.08..0.40 is far outside chance
            EXPECT_LT(udp, 0.40) << h.name;
        } else {
            EXPECT_EQ(udp, 0) << h.name;
        }
        // The serve's own metrics: sessions from the exporter (udp_rr keeps one between rounds,
        // tcp_rr opens one a round) and the UDP echoes it answered.
        const std::string inst = "instance=\"" + h.ip + ":9430\"";
        EXPECT_GT(prom.query("nettool_responder_sessions_total{" + inst + ",mode=\"udp-echo\"}"), 0) << h.name;
        EXPECT_GT(prom.query("nettool_responder_sessions_total{" + inst + ",mode=\"echo\"}"), 0) << h.name;
        EXPECT_GT(prom.query("nettool_responder_udp_replies_total{" + inst + "}"), 0) << h.name;
    }
    // Federation: the exporter's and the serves' series reached the second Prometheus.
    double federated = std::nan("");
    for (int i = 0; i < 25 && !(federated > 0); ++i) {
        federated = global.query("nettool_probes_sent_total{job=\"nettool\",target=\"" + lossy.ip +
                                 ":51423\",module=\"udp_rr\"}");
        if (!(federated > 0)) std::this_thread::sleep_for(200ms);
    }
    EXPECT_GT(federated, 0);
    EXPECT_GT(global.query("sum(nettool_responder_sessions_total{job=\"nettool_serve\"})"), 0);
}

}  // namespace
