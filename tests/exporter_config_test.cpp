#include <nettool/exporter/config.hpp>

#include <nettool/core/error.hpp>
#include <nettool/exporter/probe_round.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace {

using namespace nettool;
using namespace nettool::exporter;
using namespace std::chrono_literals;

// The refusal's sentence, or "" when the text parsed.
std::string refusal(const std::string& yaml) {
    try {
        parse_config(yaml);
        return "";
    } catch (const error& e) {
        return e.what();
    }
}

TEST(ExporterConfig, EmptyTextHasTheBuiltInModulesAndNoTargets) {
    const auto c = parse_config("");
    EXPECT_TRUE(c.targets.empty());
    ASSERT_EQ(c.modules.size(), 6u);
    EXPECT_EQ(c.modules.at("udp_rr").kind, prober::udp_rr);
    EXPECT_EQ(c.modules.at("udp_rr").count, 10u);
    EXPECT_EQ(c.modules.at("dns").kind, prober::dns);
    EXPECT_EQ(c.modules.at("tls").kind, prober::tls);
    EXPECT_EQ(c.modules.at("trace").kind, prober::trace);
    EXPECT_EQ(c.modules.at("trace").trace_protocol, trace_protocols::udp);
}

TEST(ExporterConfig, ModulesAndTargets) {
    const auto c = parse_config(R"(
modules:
  fast_udp:
    prober: udp_rr
    count: 20
    size: 100
    timeout: 250ms
  tcp_rr:          # a built-in, overridden: the prober stays
    count: 3
  resolver:
    prober: dns
    query_name: example.org
    query_type: AAAA
targets:
  - target: 127.0.0.1:51423
    module: fast_udp
    interval: 500ms
  - target: "[::1]:51423"
    module: tcp_rr
  - target: 127.0.0.53
    module: resolver
    interval: 2m
)");
    const auto& f = c.modules.at("fast_udp");
    EXPECT_EQ(f.kind, prober::udp_rr);
    EXPECT_EQ(f.count, 20u);
    EXPECT_EQ(f.size, 100u);
    EXPECT_EQ(f.timeout, 250ms);
    EXPECT_EQ(c.modules.at("tcp_rr").kind, prober::tcp_rr);
    EXPECT_EQ(c.modules.at("tcp_rr").count, 3u);
    EXPECT_EQ(c.modules.at("resolver").query_type, 28u);
    ASSERT_EQ(c.targets.size(), 3u);
    EXPECT_EQ(c.targets[0].interval, 500ms);
    EXPECT_EQ(c.targets[1].interval, 1s);  // the default
    EXPECT_EQ(c.targets[1].name, "[::1]:51423");
    EXPECT_EQ(c.targets[2].interval, 120s);
}

TEST(ExporterConfig, EveryRefusalNamesItsLine) {
    EXPECT_EQ(refusal("targets:\n  - target: 127.0.0.1\n    module: nope\n"),
              "line 3: module 'nope' is not defined (built in: tcp_connect, tcp_rr, udp_rr, dns, tls, trace)");
    EXPECT_EQ(refusal("modules:\n  m:\n    prober: icmp\n"),
              "line 3: prober 'icmp' is not one nettool has: tcp_connect, tcp_rr, udp_rr, dns, tls or trace");
    EXPECT_EQ(refusal("modules:\n  m:\n    count: 5\n"),
              "line 3: module 'm' needs a prober: tcp_connect, tcp_rr, udp_rr, dns, tls or trace");
    EXPECT_EQ(refusal("modules:\n  m:\n    prober: udp_rr\n    count: 0\n"),
              "line 4: 'count' is '0': give a whole number from 1 to 1000");
    EXPECT_EQ(refusal("modules:\n  m:\n    prober: udp_rr\n    count: -3\n"),
              "line 4: 'count' is '-3': give a whole number from 1 to 1000");
    EXPECT_EQ(refusal("modules:\n  m:\n    prober: udp_rr\n    size: 100000\n"),
              "line 4: 'size' is '100000': give a whole number from 32 to 65000");
    EXPECT_EQ(refusal("targets:\n  - target: 127.0.0.1\n    module: udp_rr\n    interval: 10ms\n"),
              "line 4: 'interval' is '10ms': give a duration from 100 ms to 3600 s, as 500ms, 1s or 2m");
    EXPECT_EQ(refusal("targets:\n  - target: 127.0.0.1\n    module: udp_rr\n    interval: nan\n"),
              "line 4: 'interval' is 'nan': give a duration from 100 ms to 3600 s, as 500ms, 1s or 2m");
    EXPECT_EQ(refusal("targets:\n  - target: 127.0.0.1\n    module: udp_rr\n    interval: 1h\n"),
              "line 4: 'interval' is '1h': give a duration from 100 ms to 3600 s, as 500ms, 1s or 2m");
    EXPECT_EQ(refusal("targets:\n  - target: \"1.2.3.4:99999\"\n    module: udp_rr\n"),
              "line 2: target '1.2.3.4:99999' is not HOST[:PORT]");
    EXPECT_EQ(refusal("targets:\n  - module: udp_rr\n"), "line 2: a target needs 'target: HOST[:PORT]'");
    EXPECT_EQ(refusal("targets:\n  - target: a\n    module: udp_rr\n    color: red\n"),
              "line 4: unknown key 'color' in a target: the keys are target, module, interval");
    EXPECT_EQ(refusal("targets:\n  - target: a\n    module: udp_rr\n  - target: a\n    module: udp_rr\n"),
              "line 4: target 'a' with module 'udp_rr' is listed twice");
    EXPECT_EQ(refusal("modules:\n  d:\n    prober: dns\n    query_type: BOGUS\n"),
              "line 4: query_type 'BOGUS' is not a DNS type (A, AAAA, MX, TYPE65...)");
    EXPECT_EQ(refusal("targets: 5\n"), "line 1: 'targets' must be a list");
    EXPECT_EQ(refusal("- a\n- b\n"), "line 1: the config must be a map with 'modules' and 'targets'");
    EXPECT_EQ(refusal("scrape: {}\n"), "line 1: unknown key 'scrape' in the config: the keys are modules, targets");
}

TEST(ExporterConfig, TlsAndTraceModules) {
    const auto ca = std::filesystem::temp_directory_path() / ("nettool-config-ca-" + std::to_string(::getpid()) + ".pem");
    std::ofstream(ca) << "not checked here: tls_probe reads it\n";
    const auto c = parse_config(std::string{R"(
modules:
  web:
    prober: tls
    server_name: www.example.org
    ca_file: )"} + ca.string() + R"(
    insecure_skip_verify: true
    tls_version: "1.3"
    count: 2
    timeout: 2s
  path:
    prober: trace
    protocol: icmp
    max_hops: 12
    count: 3
  tcp_path:
    prober: trace
    protocol: tcp
targets:
  - target: 192.0.2.10
    module: web
  - target: 192.0.2.10
    module: path
    interval: 1m
)");
    std::filesystem::remove(ca);
    const auto& w = c.modules.at("web");
    EXPECT_EQ(w.ca_file, ca.string());
    EXPECT_EQ(w.kind, prober::tls);
    EXPECT_EQ(w.server_name, "www.example.org");
    EXPECT_TRUE(w.insecure_skip_verify);
    EXPECT_EQ(w.tls_version, tls_versions::tls1_3);
    EXPECT_EQ(w.count, 2u);
    EXPECT_EQ(w.timeout, 2s);
    const auto& p = c.modules.at("path");
    EXPECT_EQ(p.kind, prober::trace);
    EXPECT_EQ(p.trace_protocol, trace_protocols::icmp);
    EXPECT_EQ(p.max_hops, 12u);
    EXPECT_EQ(p.count, 3u);
    EXPECT_EQ(c.modules.at("tcp_path").trace_protocol, trace_protocols::tcp);
    // Ports a target without one is probed on.
    EXPECT_EQ(default_port(w), 443);
    EXPECT_EQ(default_port(p), 33434);
    EXPECT_EQ(default_port(c.modules.at("tcp_path")), 80);
    ASSERT_EQ(c.targets.size(), 2u);
}

TEST(ExporterConfig, TlsAndTraceRefusalsNameTheirLine) {
    EXPECT_EQ(refusal("modules:\n  t:\n    prober: tls\n    tls_version: \"1.1\"\n"),
              "line 4: tls_version '1.1' is not one of any, 1.2 or 1.3");
    EXPECT_EQ(refusal("modules:\n  t:\n    prober: tls\n    insecure_skip_verify: maybe\n"),
              "line 4: 'insecure_skip_verify' is 'maybe': give true or false");
    EXPECT_EQ(refusal("modules:\n  t:\n    prober: tls\n    ca_file: /nonexistent/ca.pem\n"),
              "line 4: ca_file '/nonexistent/ca.pem' is not a file: give a PEM file of CA certificates");
    EXPECT_EQ(refusal("modules:\n  t:\n    prober: tls\n    server_name: \"bad name!\"\n"),
              "line 4: server_name 'bad name!' is not a host name");
    EXPECT_EQ(refusal("modules:\n  t:\n    prober: tls\n    count: 101\n"),
              "line 4: 'count' is '101': give a whole number from 1 to 100");
    EXPECT_EQ(refusal("modules:\n  t:\n    prober: trace\n    protocol: sctp\n"),
              "line 4: protocol 'sctp' is not one of udp, icmp or tcp");
    EXPECT_EQ(refusal("modules:\n  t:\n    prober: trace\n    max_hops: 65\n"),
              "line 4: 'max_hops' is '65': give a whole number from 1 to 64");
    EXPECT_EQ(refusal("modules:\n  t:\n    prober: trace\n    count: 11\n"),
              "line 4: 'count' is '11': give a whole number from 1 to 10");
    // A key of another prober names both.
    EXPECT_EQ(refusal("modules:\n  t:\n    prober: trace\n    server_name: example.org\n"),
              "line 4: 'server_name' applies to tls modules; module 't' is trace");
    EXPECT_EQ(refusal("modules:\n  t:\n    prober: tls\n    size: 100\n"),
              "line 4: 'size' applies to tcp_rr and udp_rr modules; module 't' is tls");
    EXPECT_EQ(refusal("modules:\n  u:\n    prober: udp_rr\n    max_hops: 3\n"),
              "line 4: 'max_hops' applies to trace modules; module 'u' is udp_rr");
    // A built-in turned into another prober keeps its count, which must suit the new prober
    // (udp_rr's 10 is a trace's most).
    const auto c = parse_config("modules:\n  udp_rr:\n    prober: trace\n");
    EXPECT_EQ(c.modules.at("udp_rr").kind, prober::trace);
    EXPECT_EQ(c.modules.at("udp_rr").count, 10u);
}

TEST(ExporterConfig, TextThatIsNotYamlNamesItsLine) {
    const auto why = refusal("targets:\n  - target: 127.0.0.1\n    module: [udp_rr\n");
    EXPECT_EQ(why.rfind("line ", 0), 0u) << why;
    EXPECT_NE(why.find("not YAML"), std::string::npos) << why;
}

// Every cut of a valid file either parses or is refused with a sentence: never a crash, never a
// half-read config (what parses is a prefix's own meaning, checked like any other file).
TEST(ExporterConfig, EveryTruncationParsesOrIsRefused) {
    const std::string full =
        "modules:\n  m:\n    prober: udp_rr\n    count: 5\ntargets:\n  - target: 127.0.0.1:51423\n    module: m\n"
        "    interval: 1s\n";
    for (std::size_t n = 0; n <= full.size(); ++n) {
        try {
            const auto c = parse_config(full.substr(0, n));
            for (const auto& t : c.targets) EXPECT_EQ(c.modules.count(t.module), 1u);
        } catch (const error& e) {
            EXPECT_FALSE(std::string{e.what()}.empty());
        }
    }
    EXPECT_EQ(parse_config(full).targets.size(), 1u);
}

TEST(ExporterConfig, TooLargeIsRefusedBeforeParsing) {
    const std::string big(config_caps::max_file_bytes + 1, '#');
    try {
        parse_config(big);
        FAIL() << "a file over the cap parsed";
    } catch (const error& e) {
        EXPECT_EQ(e.code(), make_error_code(errc::too_large));
    }
}

TEST(ExporterConfig, ReadConfigNamesTheFile) {
    try {
        read_config("/nonexistent/exporter.yml");
        FAIL();
    } catch (const error& e) {
        EXPECT_NE(std::string{e.what()}.find("/nonexistent/exporter.yml: cannot open"), std::string::npos) << e.what();
    }
}

}  // namespace
