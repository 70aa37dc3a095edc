// The exporter's tls and trace modules against real parts: `openssl s_server` with the TLS lab's
// certificates (tls_lab.hpp), and the six-namespace route chain of `nettool trace`'s tests
// (route_lab.hpp) with `nettool exporter` itself running inside host A. curl is the client,
// promtool checks every exposition, openssl reads the certificate's notAfter as the oracle.
#include <nettool/exporter/exporter.hpp>

#include "support/child.hpp"
#include "support/files.hpp"
#include "support/link_test_lock.hpp"
#include "support/process.hpp"
#include "support/prometheus_lab.hpp"
#include "support/route_lab.hpp"
#include "support/route_oracles.hpp"
#include "support/tls_lab.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <unistd.h>

namespace {

using namespace nettool;
using namespace nettool::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The value of the sample written exactly so (name and labels); nullopt when absent.
std::optional<double> sample(const std::string& text, const std::string& series) {
    const double v = metric_sample(text, series);
    return std::isnan(v) ? std::nullopt : std::optional<double>{v};
}

// Every sample of a family: its labels as written ("{...}") to its value.
std::map<std::string, double> samples_of(const std::string& text, const std::string& name) {
    std::map<std::string, double> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(name + "{", 0) != 0) continue;
        const auto close = line.rfind("} ");
        if (close == std::string::npos) continue;
        out[line.substr(name.size(), close + 1 - name.size())] = std::strtod(line.c_str() + close + 2, nullptr);
    }
    return out;
}

bool have_promtool() { return run_process({"sh", "-c", "command -v promtool"}, 10s).exit_code == 0; }

class ExporterTls : public ::testing::Test {
protected:
    void SetUp() override {
        if (!have_openssl()) GTEST_SKIP() << "needs the openssl command (sh scripts/install-deps.sh --test)";
        if (!have_curl() || !have_promtool()) GTEST_SKIP() << "needs curl and promtool (prometheus package)";
        ASSERT_TRUE(certs_.ok()) << certs_.error();
        dir_ = fs::temp_directory_path() / ("nettool-exporter-tls-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (svc_) svc_->stop();
        fs::remove_all(dir_);
    }
    void start(const std::string& yaml) {
        exporter::exporter_options o;
        o.port = 0;
        o.config_path = (dir_ / "exporter.yml").string();
        std::ofstream(o.config_path) << yaml;
        svc_ = exporter::start_exporter(o);
        base_ = "http://127.0.0.1:" + std::to_string(svc_->port());
    }
    // The certificate's notAfter as openssl itself reads it, in Unix seconds.
    double not_after_unix(cert_kind k) {
        const auto r = run_process(
            {"sh", "-c", "date -u -d \"$(openssl x509 -noout -enddate -in " + certs_.cert(k) + " | cut -d= -f2)\" +%s"},
            10s);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return std::strtod(r.out.c_str(), nullptr);
    }
    tls_certs certs_;
    fs::path dir_;
    std::unique_ptr<exporter::exporter_service> svc_;
    std::string base_;
};

TEST_F(ExporterTls, ProbeReportsTheHandshakeTheVersionAndTheCertificatesExpiry) {
    tls_server good(certs_, cert_kind::good);
    ASSERT_TRUE(good.ok()) << good.error();
    tls_server self(certs_, cert_kind::self_signed);
    ASSERT_TRUE(self.ok()) << self.error();
    start("modules:\n"
          "  lab_tls:\n    prober: tls\n    ca_file: " + certs_.ca_cert() + "\n    server_name: localhost\n"
          "    count: 3\n    timeout: 2s\n"
          "  lab_tls12:\n    prober: tls\n    ca_file: " + certs_.ca_cert() + "\n    tls_version: \"1.2\"\n"
          "  lab_insecure:\n    prober: tls\n    insecure_skip_verify: true\n");

    const auto a = http(base_ + "/probe?target=" + good.target() + "&module=lab_tls");
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(sample(a.body, "probe_success"), 1.0) << a.body;
    EXPECT_EQ(sample(a.body, "probe_nettool_sent"), 3.0) << a.body;
    EXPECT_EQ(sample(a.body, "probe_nettool_lost"), 0.0) << a.body;
    EXPECT_GT(sample(a.body, "probe_tls_handshake_seconds").value_or(0), 0) << a.body;
    EXPECT_GT(sample(a.body, "probe_tcp_connect_seconds").value_or(0), 0) << a.body;
    EXPECT_LT(sample(a.body, "probe_tls_handshake_seconds").value_or(1e9),
              sample(a.body, "probe_duration_seconds").value_or(0))
        << "a phase of the round is shorter than the round";
    EXPECT_EQ(sample(a.body, "probe_tls_version_info{version=\"TLS 1.3\"}"), 1.0) << a.body;
    EXPECT_TRUE(std::regex_search(a.body, std::regex{"probe_tls_cipher_info\\{cipher=\"TLS_[A-Z0-9_]+\"\\} 1"})) << a.body;
    // The chain is the leaf alone (s_server sends no intermediates): its notAfter, to the second.
    EXPECT_EQ(sample(a.body, "probe_ssl_earliest_cert_expiry"), not_after_unix(cert_kind::good)) << a.body;
    EXPECT_GT(sample(a.body, "probe_nettool_latency_p50_seconds").value_or(0), 0) << a.body;
    const auto check = promtool_check(a.body, dir_);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

    // The version the module pins.
    const auto v12 = http(base_ + "/probe?target=" + good.target() + "&module=lab_tls12");
    EXPECT_EQ(sample(v12.body, "probe_tls_version_info{version=\"TLS 1.2\"}"), 1.0) << v12.body;

    // A certificate nobody vouches for: the handshakes complete (none is lost: the server
    // answered), but the round fails; the certificate is still read.
    const auto bad = http(base_ + "/probe?target=" + self.target() + "&module=lab_tls");
    ASSERT_EQ(bad.status, 200) << bad.body;
    EXPECT_EQ(sample(bad.body, "probe_success"), 0.0) << bad.body;
    EXPECT_EQ(sample(bad.body, "probe_nettool_lost"), 0.0) << bad.body;
    EXPECT_TRUE(sample(bad.body, "probe_tls_handshake_seconds").has_value()) << bad.body;
    EXPECT_EQ(sample(bad.body, "probe_ssl_earliest_cert_expiry"), not_after_unix(cert_kind::self_signed)) << bad.body;
    // ... unless the module says not to check.
    const auto insecure = http(base_ + "/probe?target=" + self.target() + "&module=lab_insecure");
    EXPECT_EQ(sample(insecure.body, "probe_success"), 1.0) << insecure.body;

    // The built-in module checks against the system's CAs, which do not know the lab's.
    const auto builtin = http(base_ + "/probe?target=" + good.target() + "&module=tls");
    EXPECT_EQ(sample(builtin.body, "probe_success"), 0.0) << builtin.body;
}

TEST_F(ExporterTls, MetricsCarryTheHandshakesInTheLatencyHistogram) {
    tls_server good(certs_, cert_kind::good);
    ASSERT_TRUE(good.ok()) << good.error();
    tls_server expired(certs_, cert_kind::expired);
    ASSERT_TRUE(expired.ok()) << expired.error();
    start("modules:\n  lab_tls:\n    prober: tls\n    ca_file: " + certs_.ca_cert() +
          "\n    server_name: localhost\n    count: 2\n"
          "targets:\n  - target: " + good.target() + "\n    module: lab_tls\n    interval: 200ms\n"
          "  - target: " + expired.target() + "\n    module: lab_tls\n    interval: 200ms\n");
    const std::string good_labels = "{target=\"" + good.target() + "\",module=\"lab_tls\"}";
    const std::string expired_labels = "{target=\"" + expired.target() + "\",module=\"lab_tls\"}";
    http_answer m;
    for (int i = 0; i < 100; ++i) {  // at most 10 s
        m = http(base_ + "/metrics");
        if (sample(m.body, "nettool_probe_rounds_total" + good_labels).value_or(0) >= 3 &&
            sample(m.body, "nettool_probe_rounds_total" + expired_labels).value_or(0) >= 3)
            break;
        std::this_thread::sleep_for(100ms);
    }
    const auto rounds = sample(m.body, "nettool_probe_rounds_total" + good_labels).value_or(0);
    ASSERT_GE(rounds, 3) << m.body;
    // Two handshakes a round, every one in the histogram (a scrape may land between a round's
    // counters: read both from the same exposition).
    const auto count = sample(m.body, "nettool_probe_latency_seconds_count" + good_labels).value_or(0);
    EXPECT_GE(count, 2 * (rounds - 1)) << m.body;
    EXPECT_LE(count, 2 * rounds) << m.body;
    EXPECT_GT(sample(m.body, "nettool_probe_latency_seconds_sum" + good_labels).value_or(0), 0) << m.body;
    EXPECT_EQ(sample(m.body, "nettool_tls_earliest_cert_expiry_timestamp_seconds" + good_labels),
              not_after_unix(cert_kind::good))
        << m.body;
    EXPECT_EQ(sample(m.body, "nettool_tls_version_info{target=\"" + good.target() +
                                 "\",module=\"lab_tls\",version=\"TLS 1.3\"}"),
              1.0)
        << m.body;
    // The expired certificate: every round fails, its expiry is in the past, and the error says so.
    EXPECT_EQ(sample(m.body, "nettool_probe_success" + expired_labels), 0.0) << m.body;
    EXPECT_EQ(sample(m.body, "nettool_tls_earliest_cert_expiry_timestamp_seconds" + expired_labels),
              not_after_unix(cert_kind::expired))
        << m.body;
    EXPECT_TRUE(std::regex_search(m.body, std::regex{"nettool_probe_last_error_info\\{target=\"" + expired.target() +
                                                     "\",module=\"lab_tls\",error=\"[^\"]*expired"}))
        << m.body;
    const auto check = promtool_check(m.body, dir_);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

// The trace module from host A of the route lab to B: four hops (R1, R2a or R2b, R3, B).
class ExporterTrace : public ::testing::Test {
protected:
    void SetUp() override {
        if (!is_root()) GTEST_SKIP() << "needs root: builds network namespaces";
        if (!have_curl() || !have_promtool()) GTEST_SKIP() << "needs curl and promtool (prometheus package)";
        lab_.emplace();
        ASSERT_TRUE(lab_->build()) << lab_->errors();
        dir_ = fs::temp_directory_path() / ("nettool-exporter-trace-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override {
        exporter_.reset();
        lab_.reset();
        fs::remove_all(dir_);
    }
    // `nettool exporter` inside A, on A's own loopback (a fresh namespace: the port is free).
    void start(const std::string& yaml) {
        const auto config = (dir_ / "exporter.yml").string();
        std::ofstream(config) << yaml;
        exporter_.emplace(std::vector<std::string>{"ip", "netns", "exec", lab_->ns(route_node::a), NETTOOL_BIN,
                                                   "exporter", "--listen", "127.0.0.1:9429", "--config", config},
                          (dir_ / "exporter.log").string());
        for (int i = 0; i < 100; ++i) {  // at most 5 s to listen
            if (get("/-/healthy").status == 200) return;
            std::this_thread::sleep_for(50ms);
        }
        ADD_FAILURE() << "the exporter did not start: " << read_log();
    }
    http_answer get(const std::string& path) {
        return http("http://127.0.0.1:9429" + path, {}, {"ip", "netns", "exec", lab_->ns(route_node::a)});
    }
    std::string read_log() { return read_text(dir_ / "exporter.log"); }
    // Checks one trace's hop gauges: hops 1..4 in order, each from an address the lab puts at
    // that hop, each with an RTT.
    void expect_hops(const std::map<std::string, double>& rtts, const std::string& prefix) {
        const auto want = route_lab::hops(nettool::test::ip_family::v4);
        ASSERT_EQ(rtts.size(), want.size()) << "one RTT per hop";
        std::map<unsigned, std::string> by_hop;
        for (const auto& [labels, rtt] : rtts) {
            std::smatch m;
            ASSERT_TRUE(std::regex_search(labels, m, std::regex{prefix + "hop=\"(\\d+)\",address=\"([^\"]+)\"\\}"}))
                << labels;
            by_hop[static_cast<unsigned>(std::stoul(m[1]))] = m[2];
            EXPECT_TRUE(std::isfinite(rtt) && rtt > 0) << labels << " " << rtt;
        }
        unsigned hop = 1;
        for (const auto& [h, address] : by_hop) {
            EXPECT_EQ(h, hop) << "hops are numbered 1, 2, ... without gaps";
            if (h >= 1 && h <= want.size()) {
                EXPECT_TRUE(contains(want[h - 1], address)) << "hop " << h << ": " << address;
            }
            ++hop;
        }
    }
    std::optional<route_lab> lab_;
    fs::path dir_;
    std::optional<child> exporter_;
};

TEST_F(ExporterTrace, ProbeAndMetricsShowEveryHopToTheTarget) {
    const link_test_lock turn;  // the lab's ICMP counts must not see another test's traffic
    const auto b = route_lab::target(nettool::test::ip_family::v4);
    start("modules:\n  short:\n    prober: trace\n    max_hops: 2\n"
          "  icmp:\n    prober: trace\n    protocol: icmp\n    count: 2\n    max_hops: 6\n"
          "targets:\n  - target: " + b + "\n    module: trace\n    interval: 500ms\n");
    if (HasFatalFailure()) return;

    // /probe with the built-in module (UDP, one probe a hop).
    const auto p = get("/probe?target=" + b + "&module=trace");
    ASSERT_EQ(p.status, 200) << p.body << read_log();
    EXPECT_EQ(sample(p.body, "probe_success"), 1.0) << p.body;
    EXPECT_EQ(sample(p.body, "probe_nettool_trace_reached"), 1.0) << p.body;
    EXPECT_EQ(sample(p.body, "probe_nettool_trace_hops"), 4.0) << p.body;
    expect_hops(samples_of(p.body, "probe_nettool_trace_hop_rtt_seconds"), "\\{");
    auto check = promtool_check(p.body, dir_);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

    // ICMP echo probes (a ping socket or, as root, a raw one), two a hop, up to 6 hops: few
    // enough that the global ICMP budget (a burst of 50) answers every one.
    const auto icmp = get("/probe?target=" + b + "&module=icmp");
    EXPECT_EQ(sample(icmp.body, "probe_nettool_trace_hops"), 4.0) << icmp.body;
    EXPECT_EQ(samples_of(icmp.body, "probe_nettool_trace_hop_loss_ratio").size(), 4u) << icmp.body;
    for (const auto& [labels, loss] : samples_of(icmp.body, "probe_nettool_trace_hop_loss_ratio"))
        EXPECT_EQ(loss, 0.0) << labels;

    // Two hops are not enough: not reached, a failed round, and no hop count.
    const auto s = get("/probe?target=" + b + "&module=short");
    EXPECT_EQ(sample(s.body, "probe_success"), 0.0) << s.body;
    EXPECT_EQ(sample(s.body, "probe_nettool_trace_reached"), 0.0) << s.body;
    EXPECT_FALSE(sample(s.body, "probe_nettool_trace_hops").has_value()) << s.body;
    EXPECT_EQ(samples_of(s.body, "probe_nettool_trace_hop_rtt_seconds").size(), 2u) << s.body;

    // /metrics: the config's target, traced on its interval.
    const std::string labels = "{target=\"" + b + "\",module=\"trace\"}";
    http_answer m;
    for (int i = 0; i < 100; ++i) {  // at most 10 s
        m = get("/metrics");
        if (sample(m.body, "nettool_probe_rounds_total" + labels).value_or(0) >= 2) break;
        std::this_thread::sleep_for(100ms);
    }
    ASSERT_GE(sample(m.body, "nettool_probe_rounds_total" + labels).value_or(0), 2) << m.body << read_log();
    EXPECT_EQ(sample(m.body, "nettool_probe_success" + labels), 1.0) << m.body;
    EXPECT_EQ(sample(m.body, "nettool_trace_reached" + labels), 1.0) << m.body;
    EXPECT_EQ(sample(m.body, "nettool_trace_hops" + labels), 4.0) << m.body;
    expect_hops(samples_of(m.body, "nettool_trace_hop_rtt_seconds"),
                "\\{target=\"" + std::regex_replace(b, std::regex{"\\."}, "\\.") + "\",module=\"trace\",");
    check = promtool_check(m.body, dir_);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

}  // namespace
