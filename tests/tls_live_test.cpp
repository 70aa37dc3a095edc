// nettool tls against real servers: the lab's openssl s_servers (good, expired, not yet valid,
// wrong-name and self-signed certificates; TLS 1.2-only and 1.3-only; tickets; -www), a server
// that stalls after the ClientHello, servers that answer with plain text or random bytes, and a
// closed port; then, as root, the handshake's round trips across the link emulator's delay, and
// nettool's handshake time against curl's time_appconnect - time_connect on the same server.
// The command line and the JSON are docs/tls.md's and docs/JSON.md's (section tls).
#include "support/tls_lab.hpp"

#include "support/link_test_lock.hpp"
#include "support/process.hpp"
#include "support/sanitizer.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using nettool::test::cert_kind;
using nettool::test::run_nettool;
using nettool::test::run_process;
using nlohmann::json;

struct tls_run {
    nettool::test::process_result r;
    json j;  // the --json document; null when stdout was not one
    std::chrono::milliseconds took{0};
};

bool has(const json& list, const std::string& word) {
    return list.is_array() && std::find(list.begin(), list.end(), word) != list.end();
}

// The latency summary shape of every nettool report.
void expect_latency_summary(const json& s, std::uint64_t count, const std::string& what) {
    ASSERT_TRUE(s.is_object()) << what << ": " << s.dump();
    for (const char* k :
         {"count", "min_us", "mean_us", "stddev_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"})
        EXPECT_TRUE(s.contains(k) && s[k].is_number()) << what << " has no number " << k << ": " << s.dump();
    if (!s.contains("count") || !s.contains("p50_us")) return;
    EXPECT_EQ(s["count"].get<std::uint64_t>(), count) << what;
    if (count == 0) return;
    EXPECT_GT(s["min_us"].get<double>(), 0.0) << what;
    EXPECT_LE(s["min_us"].get<double>(), s["p50_us"].get<double>()) << what;
    EXPECT_LE(s["p50_us"].get<double>(), s["p99_us"].get<double>()) << what;
    EXPECT_LE(s["p99_us"].get<double>(), s["max_us"].get<double>()) << what;
}

// A measured failure: the report on stdout first, then exactly one line "nettool: ..." on stderr.
void expect_measured_failure(const tls_run& t, const std::string& outcome) {
    EXPECT_EQ(t.r.exit_code, 1) << t.r.out << t.r.err;
    ASSERT_TRUE(t.j.is_object()) << "stdout is no JSON document: " << t.r.out << t.r.err;
    EXPECT_EQ(t.j.value("outcome", ""), outcome) << t.j.dump(2);
    EXPECT_NE(t.j.value("error", ""), "") << t.j.dump(2);
    EXPECT_EQ(std::count(t.r.err.begin(), t.r.err.end(), '\n'), 1) << t.r.err;
    EXPECT_EQ(t.r.err.rfind("nettool: ", 0), 0u) << t.r.err;
}

class TlsLive : public ::testing::Test {
protected:
    void SetUp() override {
        if (!nettool::test::have_openssl())
            GTEST_SKIP() << "openssl (the command line tool) is not installed";
        certs_ = std::make_unique<nettool::test::tls_certs>();
        ASSERT_TRUE(certs_->ok()) << certs_->error();
    }

    // nettool --json tls args...
    tls_run tls(const std::vector<std::string>& args, std::chrono::seconds timeout = 60s) {
        std::vector<std::string> argv{"--json", "tls"};
        argv.insert(argv.end(), args.begin(), args.end());
        tls_run t;
        const auto t0 = std::chrono::steady_clock::now();
        t.r = run_nettool(argv, timeout);
        t.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
        t.j = json::parse(t.r.out, nullptr, false);
        if (t.j.is_discarded()) t.j = nullptr;
        return t;
    }
    // Against a lab server, trusting the lab's CA, SNI localhost.
    tls_run tls(const nettool::test::tls_server& s, std::vector<std::string> extra = {}) {
        std::vector<std::string> args{s.target(), "--ca", certs_->ca_cert(), "--sni", "localhost"};
        args.insert(args.end(), extra.begin(), extra.end());
        return tls(args);
    }

    std::unique_ptr<nettool::test::tls_certs> certs_;
};

TEST_F(TlsLive, GoodCertificateVerifiesAndEveryFieldIsFilled) {
    nettool::test::tls_server s(*certs_, cert_kind::good);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls(s);
    EXPECT_EQ(t.r.exit_code, 0) << t.r.err;
    EXPECT_EQ(t.r.err, "");
    ASSERT_TRUE(t.j.is_object()) << t.r.out;
    const auto& j = t.j;
    EXPECT_EQ(j["target"], s.target());
    EXPECT_EQ(j["sni"], "localhost");
    EXPECT_EQ(j["outcome"], "ok");
    EXPECT_EQ(j["error"], "");

    const auto& tl = j["timeline_us"];
    EXPECT_GE(tl["name_lookup"].get<double>(), 0.0);
    EXPECT_GT(tl["connect"].get<double>(), 0.0);
    EXPECT_GT(tl["handshake"].get<double>(), 0.0);
    EXPECT_LT(tl["handshake"].get<double>(), 1e6) << "a loopback handshake over a second";
    EXPECT_FALSE(tl.contains("first_byte")) << "no --http, no first byte";

    const auto& n = j["negotiated"];
    EXPECT_EQ(n["version"], "TLSv1.3");  // the lab's default server allows 1.2 and 1.3
    EXPECT_NE(n["cipher"], "");
    EXPECT_NE(n["group"], "");
    EXPECT_EQ(n["alpn"], "");
    EXPECT_EQ(n["resumed"], false);

    const auto& rt = j["round_trips"];
    EXPECT_GT(rt["tcp_rtt_us"].get<double>(), 0.0);
    EXPECT_GT(rt["measured"].get<double>(), 0.0);
    EXPECT_EQ(rt["flights"], 1);

    ASSERT_TRUE(j["certificates"].is_array());
    ASSERT_GE(j["certificates"].size(), 1u);
    const auto& leaf = j["certificates"][0];
    EXPECT_NE(leaf["subject"].get<std::string>().find("CN=localhost"), std::string::npos) << leaf.dump();
    EXPECT_NE(leaf["issuer"].get<std::string>().find("CN=nettool test CA"), std::string::npos) << leaf.dump();
    EXPECT_TRUE(has(leaf["sans"], "DNS:localhost")) << leaf.dump();
    EXPECT_TRUE(has(leaf["sans"], "IP:127.0.0.1")) << leaf.dump();
    const std::regex iso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
    EXPECT_TRUE(std::regex_match(leaf["not_before"].get<std::string>(), iso)) << leaf.dump();
    EXPECT_TRUE(std::regex_match(leaf["not_after"].get<std::string>(), iso)) << leaf.dump();
    EXPECT_GE(leaf["days_left"].get<int>(), 363);  // made a moment ago, valid for 365 days
    EXPECT_LE(leaf["days_left"].get<int>(), 365);
    EXPECT_EQ(leaf["key_type"], "EC");
    EXPECT_EQ(leaf["key_bits"], 256);
    EXPECT_EQ(leaf["signature_algorithm"], "ecdsa-with-SHA256");
    EXPECT_EQ(leaf["self_signed"], false);

    EXPECT_EQ(j["verification"]["ok"], true);
    EXPECT_TRUE(j["verification"]["reasons"].is_array() && j["verification"]["reasons"].empty())
        << j["verification"].dump();

    const auto& h = j["handshakes"];
    EXPECT_EQ(h["attempts"], 1);
    EXPECT_EQ(h["completed"], 1);
    EXPECT_GT(h["per_second"].get<double>(), 0.0);
    expect_latency_summary(h["handshake"], 1, "handshake");
    expect_latency_summary(h["connect"], 1, "connect");
    EXPECT_FALSE(j.contains("compare"));
    EXPECT_FALSE(j.contains("http"));
}

TEST_F(TlsLive, CountGivesADistributionOverThatManyHandshakes) {
    nettool::test::tls_server s(*certs_, cert_kind::good);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls(s, {"--count", "20"});
    EXPECT_EQ(t.r.exit_code, 0) << t.r.err;
    ASSERT_TRUE(t.j.is_object()) << t.r.out;
    const auto& h = t.j["handshakes"];
    EXPECT_EQ(h["attempts"], 20);
    EXPECT_EQ(h["completed"], 20);
    EXPECT_GT(h["per_second"].get<double>(), 10.0) << "20 loopback handshakes at under 10 a second";
    expect_latency_summary(h["handshake"], 20, "handshake");
    expect_latency_summary(h["connect"], 20, "connect");
    EXPECT_EQ(s.reused(), 0u) << "no --resume, yet the server resumed sessions";
}

TEST_F(TlsLive, ExpiredCertificateIsExitOneAndTheChainIsStillReported) {
    nettool::test::tls_server s(*certs_, cert_kind::expired);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls(s);
    expect_measured_failure(t, "verify_failed");
    ASSERT_TRUE(t.j.is_object());
    EXPECT_EQ(t.j["verification"]["ok"], false);
    EXPECT_TRUE(has(t.j["verification"]["reasons"], "expired")) << t.j["verification"].dump();
    ASSERT_GE(t.j["certificates"].size(), 1u) << t.j.dump(2);
    EXPECT_EQ(t.j["certificates"][0]["not_after"], "2020-02-01T00:00:00Z");
    EXPECT_EQ(t.j["certificates"][0]["not_before"], "2020-01-01T00:00:00Z");
    EXPECT_LT(t.j["certificates"][0]["days_left"].get<int>(), 0);
    EXPECT_TRUE(has(t.j["certificates"][0]["sans"], "DNS:localhost"));
}

TEST_F(TlsLive, NotYetValidCertificateSaysSo) {
    nettool::test::tls_server s(*certs_, cert_kind::not_yet_valid);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls(s);
    expect_measured_failure(t, "verify_failed");
    ASSERT_TRUE(t.j.is_object());
    EXPECT_TRUE(has(t.j["verification"]["reasons"], "not yet valid")) << t.j["verification"].dump();
}

TEST_F(TlsLive, WrongNameIsANameMismatch) {
    nettool::test::tls_server s(*certs_, cert_kind::wrong_name);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls(s);
    expect_measured_failure(t, "verify_failed");
    ASSERT_TRUE(t.j.is_object());
    EXPECT_TRUE(has(t.j["verification"]["reasons"], "name mismatch")) << t.j["verification"].dump();
    EXPECT_FALSE(has(t.j["verification"]["reasons"], "unknown issuer")) << "the chain is the lab CA's";
    ASSERT_GE(t.j["certificates"].size(), 1u);
    EXPECT_TRUE(has(t.j["certificates"][0]["sans"], "DNS:wrong.example"));
}

TEST_F(TlsLive, SelfSignedSaysSelfSigned) {
    nettool::test::tls_server s(*certs_, cert_kind::self_signed);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls(s);
    expect_measured_failure(t, "verify_failed");
    ASSERT_TRUE(t.j.is_object());
    EXPECT_TRUE(has(t.j["verification"]["reasons"], "self-signed")) << t.j["verification"].dump();
    ASSERT_GE(t.j["certificates"].size(), 1u);
    EXPECT_EQ(t.j["certificates"][0]["self_signed"], true);
}

TEST_F(TlsLive, InsecureReportsTheProblemButSucceeds) {
    for (auto [kind, reason] :
         {std::pair{cert_kind::expired, "expired"}, std::pair{cert_kind::wrong_name, "name mismatch"},
          std::pair{cert_kind::self_signed, "self-signed"}}) {
        nettool::test::tls_server s(*certs_, kind);
        ASSERT_TRUE(s.ok()) << s.error();
        for (const char* flag : {"--insecure", "-k"}) {
            const auto t = tls(s, {flag});
            EXPECT_EQ(t.r.exit_code, 0) << to_string(kind) << " " << flag << ": " << t.r.err;
            EXPECT_EQ(t.r.err, "") << to_string(kind);
            ASSERT_TRUE(t.j.is_object()) << t.r.out;
            EXPECT_EQ(t.j["verification"]["ok"], false) << to_string(kind);
            EXPECT_TRUE(has(t.j["verification"]["reasons"], reason)) << t.j["verification"].dump();
            EXPECT_EQ(t.j["handshakes"]["completed"], 1) << to_string(kind);
        }
    }
}

TEST_F(TlsLive, WithoutTheLabCaTheIssuerIsUnknown) {
    nettool::test::tls_server s(*certs_, cert_kind::good);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls({s.target(), "--sni", "localhost"});  // the system's store does not know the lab's CA
    expect_measured_failure(t, "verify_failed");
    ASSERT_TRUE(t.j.is_object());
    EXPECT_TRUE(has(t.j["verification"]["reasons"], "unknown issuer")) << t.j["verification"].dump();
    EXPECT_FALSE(has(t.j["verification"]["reasons"], "name mismatch")) << t.j["verification"].dump();
}

TEST_F(TlsLive, AnAddressWithoutSniSendsNoneAndChecksTheIpSan) {
    nettool::test::tls_server s(*certs_, cert_kind::good);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls({s.target(), "--ca", certs_->ca_cert()});
    EXPECT_EQ(t.r.exit_code, 0) << t.r.err;
    ASSERT_TRUE(t.j.is_object()) << t.r.out;
    EXPECT_EQ(t.j["sni"], "");
    EXPECT_EQ(t.j["verification"]["ok"], true) << t.j["verification"].dump();
}

TEST_F(TlsLive, Tls12OnlyServerNegotiates12InTwoFlights) {
    nettool::test::tls_server s(*certs_, cert_kind::good, {"-tls1_2"});
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls(s);
    EXPECT_EQ(t.r.exit_code, 0) << t.r.err;
    ASSERT_TRUE(t.j.is_object()) << t.r.out;
    EXPECT_EQ(t.j["negotiated"]["version"], "TLSv1.2");
    EXPECT_EQ(t.j["round_trips"]["flights"], 2);
    EXPECT_NE(t.j["negotiated"]["cipher"], "");
}

TEST_F(TlsLive, Tls13OnlyServerNegotiates13InOneFlight) {
    nettool::test::tls_server s(*certs_, cert_kind::good, {"-tls1_3"});
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls(s);
    EXPECT_EQ(t.r.exit_code, 0) << t.r.err;
    ASSERT_TRUE(t.j.is_object()) << t.r.out;
    EXPECT_EQ(t.j["negotiated"]["version"], "TLSv1.3");
    EXPECT_EQ(t.j["round_trips"]["flights"], 1);
    // --tls1.2 against it: refused.
    const auto t12 = tls(s, {"--tls1.2"});
    expect_measured_failure(t12, "handshake_failed");
}

TEST_F(TlsLive, AskingForTls13OfA12OnlyServerIsAHandshakeFailure) {
    nettool::test::tls_server s(*certs_, cert_kind::good, {"-tls1_2"});
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls(s, {"--tls1.3"});
    expect_measured_failure(t, "handshake_failed");
    // The server is still serving: the failure was the handshake's, not the lab's.
    const auto ok = tls(s, {"--tls1.2"});
    EXPECT_EQ(ok.r.exit_code, 0) << ok.r.err;
}

TEST_F(TlsLive, AlpnIsOfferedAndTheServersChoiceReported) {
    nettool::test::tls_server s(*certs_, cert_kind::good, {"-alpn", "http/1.1"});
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls(s, {"--alpn", "h2,http/1.1"});
    EXPECT_EQ(t.r.exit_code, 0) << t.r.err;
    ASSERT_TRUE(t.j.is_object()) << t.r.out;
    EXPECT_EQ(t.j["negotiated"]["alpn"], "http/1.1");
}

TEST_F(TlsLive, StallAfterTheClientHelloIsATimeoutWithinTheLimit) {
    nettool::test::stall_server stall;
    ASSERT_TRUE(stall.ok()) << stall.error();
    const auto t = tls({stall.target(), "--sni", "localhost", "--timeout", "1"}, 20s);
    expect_measured_failure(t, "timeout");
    ASSERT_TRUE(t.j.is_object());
    EXPECT_NE(t.j["error"].get<std::string>().find("no ServerHello within 1 s"), std::string::npos)
        << t.j["error"];
    EXPECT_NE(t.r.err.find("no ServerHello within 1 s"), std::string::npos) << t.r.err;
    EXPECT_LT(t.took, 4s) << "a 1 s timeout took " << t.took.count() << " ms";
    EXPECT_GE(t.took, 900ms);
    EXPECT_GE(stall.connections(), 1u);
    EXPECT_EQ(stall.first_bytes().substr(0, 1), "\x16") << "the stall server got no ClientHello";
}

TEST_F(TlsLive, PlainTextOrRandomBytesAreNotTls) {
    for (const std::string& bytes : {std::string{"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"},
                                     nettool::test::random_bytes(200)}) {
        nettool::test::garbage_server g(bytes);
        ASSERT_TRUE(g.ok()) << g.error();
        const auto t = tls({g.target(), "--sni", "localhost", "--timeout", "2"}, 20s);
        expect_measured_failure(t, "not_tls");
        ASSERT_TRUE(t.j.is_object());
        EXPECT_NE(t.j["error"].get<std::string>().find("not TLS"), std::string::npos) << t.j["error"];
        if (bytes[0] == 'H') {  // docs/tls.md: the evidence is quoted
            EXPECT_NE(t.j["error"].get<std::string>().find("HTTP/1.1 400 Bad Request"), std::string::npos)
                << t.j["error"];
        }
        EXPECT_LT(t.took, 4s) << "it waited although the server had answered and closed";
    }
}

TEST_F(TlsLive, AClosedPortIsConnectFailed) {
    const auto port = nettool::test::free_port();
    const auto t = tls({"127.0.0.1:" + std::to_string(port), "--sni", "localhost", "--timeout", "2"}, 20s);
    expect_measured_failure(t, "connect_failed");
    EXPECT_LT(t.took, 4s);
}

TEST_F(TlsLive, ResumeCountFiveResumesTheLaterHandshakes) {
    for (const char* version : {"-tls1_3", "-tls1_2"}) {
        nettool::test::tls_server s(*certs_, cert_kind::good, {version});
        ASSERT_TRUE(s.ok()) << s.error();
        const auto t = tls(s, {"--resume", "--count", "5"});
        EXPECT_EQ(t.r.exit_code, 0) << version << t.r.err;
        ASSERT_TRUE(t.j.is_object()) << t.r.out;
        EXPECT_EQ(t.j["handshakes"]["completed"], 5) << version;
        // The server is the oracle: it says "Reused session-id" for each connection it resumed.
        // The first handshake of a run is a full one; every later one resumes.
        EXPECT_GE(s.reused(), 4u) << version << " server log:\n" << s.log();
        if (t.j["handshakes"].contains("resumed")) {
            EXPECT_GE(t.j["handshakes"]["resumed"].get<int>(), 4) << version << t.j["handshakes"].dump();
        }
        EXPECT_EQ(t.j["negotiated"]["version"], std::string{version} == "-tls1_3" ? "TLSv1.3" : "TLSv1.2");
    }
}

TEST_F(TlsLive, CompareGivesFourRowsAgainstAServerOfBothVersions) {
    nettool::test::tls_server s(*certs_, cert_kind::good);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls(s, {"--compare", "--count", "3"});
    EXPECT_EQ(t.r.exit_code, 0) << t.r.err;
    ASSERT_TRUE(t.j.is_object()) << t.r.out;
    const auto& rows = t.j["compare"];
    ASSERT_TRUE(rows.is_array()) << t.j.dump(2);
    ASSERT_EQ(rows.size(), 4u) << rows.dump(2);
    struct want {
        const char* version;
        bool resumed;
        unsigned flights;
    };
    const std::map<std::string, want> wanted{{"TLS 1.2 full", {"TLSv1.2", false, 2}},
                                             {"TLS 1.3 full", {"TLSv1.3", false, 1}},
                                             {"TLS 1.2 resumed", {"TLSv1.2", true, 1}},
                                             {"TLS 1.3 resumed", {"TLSv1.3", true, 1}}};
    std::set<std::string> seen;
    for (const auto& row : rows) {
        const auto name = row.value("name", "");
        ASSERT_TRUE(wanted.count(name)) << "unexpected row " << row.dump();
        seen.insert(name);
        const auto& w = wanted.at(name);
        EXPECT_EQ(row["version"], w.version) << row.dump();
        EXPECT_EQ(row["resumed"], w.resumed) << row.dump();
        EXPECT_EQ(row["completed"], 3) << row.dump();
        EXPECT_EQ(row["flights"], w.flights) << row.dump();
        EXPECT_EQ(row["error"], "") << row.dump();
        EXPECT_TRUE(row["round_trips_p50"].is_number()) << row.dump();
        expect_latency_summary(row["handshake"], 3, name);
    }
    EXPECT_EQ(seen.size(), 4u);
    EXPECT_GE(s.reused(), 4u) << "the resumed rows resumed nothing on the server:\n" << s.log();
}

TEST_F(TlsLive, HttpGetAgainstAWwwServerIs200) {
    nettool::test::tls_server s(*certs_, cert_kind::good, {"-www"});
    ASSERT_TRUE(s.ok()) << s.error();
    const auto t = tls(s, {"--http", "/"});
    EXPECT_EQ(t.r.exit_code, 0) << t.r.err;
    ASSERT_TRUE(t.j.is_object()) << t.r.out;
    EXPECT_EQ(t.j["http"]["status"], 200) << t.j.dump(2);
    EXPECT_GT(t.j["http"]["bytes"].get<int>(), 100) << "s_server -www sends a page of its state";
    const auto& tl = t.j["timeline_us"];
    ASSERT_TRUE(tl.contains("first_byte") && tl.contains("total")) << tl.dump();
    EXPECT_GT(tl["first_byte"].get<double>(), 0.0);
    EXPECT_GE(tl["total"].get<double>(), tl["first_byte"].get<double>());
}

TEST_F(TlsLive, BadOptionsAreUsageErrorsAndSendNothing) {
    nettool::test::stall_server listener;  // counts connections: a usage error must open none
    ASSERT_TRUE(listener.ok()) << listener.error();
    const auto target = listener.target();
    for (const std::vector<std::string>& args : {std::vector<std::string>{target, "--count", "0"},
                                                 {target, "--count", "-3"},
                                                 {target, "--count", "many"},
                                                 {target, "--timeout", "nan"},
                                                 {target, "--timeout", "0"},
                                                 {target, "--timeout", "-1"},
                                                 {target, "--timeout", "inf"},
                                                 {target, "--tls1.2", "--tls1.3"},
                                                 {target, "--no-such-option"},
                                                 {"127.0.0.1:70000"}}) {
        std::string what;
        for (const auto& a : args) what += a + " ";
        for (bool as_json : {false, true}) {
            std::vector<std::string> argv;
            if (as_json) argv.push_back("--json");
            argv.push_back("tls");
            argv.insert(argv.end(), args.begin(), args.end());
            const auto r = run_nettool(argv, 20s);
            EXPECT_EQ(r.exit_code, 2) << what << r.out << r.err;
            EXPECT_EQ(r.out, "") << what;
            EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << r.err;
        }
    }
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(listener.connections(), 0u) << "a usage error connected";
}

// ---- On the wire (root): nettool's --capture beside tshark reading the same file.

// Runs of TLS handshake and change_cipher_spec records from one side, in order: the flights as
// tshark dissects them. TLS 1.2 only: TLS 1.3 hides its handshake in application_data records.
TEST_F(TlsLive, CaptureFindsTheFlightsTsharkSees) {
    if (!nettool::test::is_root()) GTEST_SKIP() << "needs root (a capture on loopback)";
    if (run_process({"/bin/sh", "-c", "command -v tshark"}).exit_code != 0) GTEST_SKIP() << "tshark is not installed";
    nettool::test::tls_server s(*certs_, cert_kind::good, {"-tls1_2"});
    ASSERT_TRUE(s.ok()) << s.error();
    char dir[] = "/tmp/nettool-tls-capture-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    const std::string pcap = std::string{dir} + "/tls.pcap";
    const auto t = tls(s, {"--capture", pcap});
    ASSERT_EQ(t.r.exit_code, 0) << t.r.err;
    ASSERT_TRUE(t.j.is_object()) << t.r.out;
    const auto& w = t.j["on_wire"];
    ASSERT_TRUE(w.value("found", false)) << w.dump(2);
    EXPECT_EQ(w["flights"], 2) << w.dump(2);
    EXPECT_EQ(w["app_flights"], 2) << w.dump(2);
    // The wire's TLS handshake is part of the application's (which adds building the ClientHello).
    EXPECT_GT(w["tls_handshake_us"].get<double>(), 0.0);
    EXPECT_LE(w["tls_handshake_us"].get<double>(), w["app_tls_handshake_us"].get<double>()) << w.dump(2);

    // tshark's view of the same connection: the client's port from the report.
    const auto local = t.j.value("local", "");
    const auto lport = local.substr(local.rfind(':') + 1);
    const auto ts = run_process({"tshark", "-n", "-r", pcap, "-Y", "tcp.port == " + lport, "-T", "fields", "-E",
                                 "separator=/t", "-e", "frame.time_epoch", "-e", "tcp.srcport", "-e",
                                 "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tls.record.content_type"},
                                30s);
    ASSERT_EQ(ts.exit_code, 0) << ts.err;
    double syn = -1, last_handshake = 0;
    std::vector<std::pair<bool, double>> runs;  // (from the client, when the run's last record came)
    std::istringstream in(ts.out);
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> f;
        std::istringstream fields(line);
        for (std::string x; std::getline(fields, x, '\t');) f.push_back(x);
        if (f.size() < 4) continue;
        const double when = std::stod(f[0]);
        const bool client = f[1] == lport;
        if (syn < 0 && client && f[2] == "1" && f[3] == "0") syn = when;
        if (f.size() < 5 || syn < 0) continue;
        // Content types of the records in this segment: 20 change_cipher_spec, 22 handshake.
        if (f[4].find("22") == std::string::npos && f[4].find("20") == std::string::npos) continue;
        if (runs.empty() || runs.back().first != client)
            runs.emplace_back(client, when);
        else
            runs.back().second = when;
        last_handshake = when;
    }
    ASSERT_GE(syn, 0) << ts.out;
    // Client hello, server hello..done, client key exchange..finished, server finished.
    ASSERT_EQ(runs.size(), 4u) << ts.out;
    EXPECT_TRUE(runs[0].first && !runs[1].first && runs[2].first && !runs[3].first) << ts.out;
    // nettool's events are the same moments in the same file: the SYN-relative time of each
    // flight's end, to the capture's microsecond.
    std::map<std::string, double> ev;
    for (const auto& e : w["events"])
        if (e["wire_us"].is_number()) ev[e["what"].get<std::string>().substr(0, 15)] = e["wire_us"].get<double>();
    const std::vector<std::string> names{"client flight 1", "server flight 1", "client flight 2", "server flight 2"};
    for (std::size_t i = 0; i < names.size(); ++i) {
        ASSERT_TRUE(ev.count(names[i])) << w.dump(2);
        EXPECT_NEAR(ev[names[i]], (runs[i].second - syn) * 1e6, 2.0) << names[i] << "\n" << ts.out;
    }
    EXPECT_NEAR(w["tls_handshake_us"].get<double>(), (last_handshake - runs[0].second) * 1e6, 2.0) << ts.out;
    run_process({"rm", "-rf", dir});
}

// ---- Across the link emulator (root): the round trips the protocol needs, and curl as a peer.

std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
    return out + "'";
}

class TlsLink : public TlsLive {
protected:
    void SetUp() override {
        if (!nettool::test::is_root())
            GTEST_SKIP() << "needs root (nettool link builds a namespace and TUN devices)";
        if (::access("/dev/net/tun", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/net/tun on this machine";
        TlsLive::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        lock_.emplace();
        ASSERT_TRUE(lock_->held()) << "cannot lock /tmp/nettool-link-tests.lock";
    }
    // The host-command: openssl s_server on the host's end of the link. -quiet: nobody reads its
    // output, and with -quiet an end of file on stdin (nettool link gives it /dev/null) does not
    // stop it.
    std::string server_command(std::uint16_t port, const std::string& extra) const {
        return "exec openssl s_server -quiet -accept \"$NETTOOL_LINK_HOST\":" + std::to_string(port) +
               " -cert " + quote(certs_->cert(cert_kind::good)) + " -key " +
               quote(certs_->key(cert_kind::good)) + " " + extra;
    }
    std::optional<nettool::test::link_test_lock> lock_;
};

TEST_F(TlsLink, RoundTripsAcrossATenMillisecondDelayAreTheProtocols) {
    const auto port = nettool::test::free_port();
    const std::string inside = "sleep 1; exec " + quote(NETTOOL_BIN) +
                               " --json tls \"$NETTOOL_LINK_HOST\":" + std::to_string(port) + " --ca " +
                               quote(certs_->ca_cert()) + " --sni localhost --compare --count 5";
    const auto r = run_nettool({"-q", "link", "--delay", "10ms", "--host-command", server_command(port, ""),
                                "--", "/bin/sh", "-c", inside},
                               120s);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto j = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out << r.err;
    const auto& rows = j["compare"];
    ASSERT_TRUE(rows.is_array() && rows.size() == 4) << j.dump(2);
    // The protocol's count, plus a few hundredths of computation: full TLS 1.2 waits twice for the
    // server, full TLS 1.3 once (its key share rides in the ClientHello), a resumed handshake once.
    const std::map<std::string, std::pair<double, unsigned>> wanted{{"TLS 1.2 full", {2.0, 2}},
                                                                    {"TLS 1.3 full", {1.0, 1}},
                                                                    {"TLS 1.2 resumed", {1.0, 1}},
                                                                    {"TLS 1.3 resumed", {1.0, 1}}};
    for (const auto& row : rows) {
        const auto name = row.value("name", "");
        ASSERT_TRUE(wanted.count(name)) << row.dump();
        EXPECT_EQ(row["error"], "") << row.dump();
        EXPECT_EQ(row["completed"], 5) << row.dump();
        EXPECT_NEAR(row["round_trips_p50"].get<double>(), wanted.at(name).first, 0.3) << row.dump();
        EXPECT_EQ(row["flights"], wanted.at(name).second) << row.dump();
    }
    // The baseline's TCP RTT is the link's: 2 x 10 ms. Waiting on a loaded machine (the asan suite
    // runs two tests at once) only adds to it: 24.0 ms was seen once in CI. Never below 17 ms.
    const double rtt_us = j["round_trips"]["tcp_rtt_us"].get<double>();
    EXPECT_GE(rtt_us, 17'000.0) << j["round_trips"].dump();
    EXPECT_LE(rtt_us, 27'000.0) << j["round_trips"].dump();
}

TEST_F(TlsLink, HandshakeTimeAgreesWithCurlsAppconnect) {
    if (!nettool::test::have_curl()) GTEST_SKIP() << "curl is not installed";
    // One -www server on the host's end of a 5 ms link, TLS 1.3 for both, the same CA file and
    // name. Five rounds, each one curl process then one nettool run, so that a machine whose load
    // changes during the test (the asan suite runs two tests at once) weighs on both alike.
    // curl: 11 transfers one after another, each a new connection (s_server -www answers
    // HTTP/1.0 and closes) and a full handshake (--no-sessionid); the first is dropped: a curl
    // process's first handshake carries ~2 ms of OpenSSL's first-use work (measured on loopback:
    // 3.0 ms against 1.0 ms for the later ones), which nettool's untimed warm-up keeps out of its
    // figures. nettool: 10 handshakes. Compared: the median of the five rounds' medians.
    constexpr int rounds = 5;
    const auto port = nettool::test::free_port();
    const std::string p = std::to_string(port);
    std::string urls;
    for (int i = 0; i < 11; ++i) urls += " -o /dev/null https://localhost:" + p + "/";
    const std::string inside =
        "sleep 1; for r in $(seq " + std::to_string(rounds) + "); do echo ROUND; curl -sS --max-time 60 --tlsv1.3 --no-sessionid --cacert " +
        quote(certs_->ca_cert()) + " --resolve localhost:" + p + ":\"$NETTOOL_LINK_HOST\" -w " +
        quote("%{time_connect} %{time_appconnect}\\n") + urls + " || exit 1; " + quote(NETTOOL_BIN) +
        " --json tls \"$NETTOOL_LINK_HOST\":" + p + " --ca " + quote(certs_->ca_cert()) +
        " --sni localhost --tls1.3 --count 10 || exit 1; done";
    const auto r = run_nettool({"-q", "link", "--delay", "5ms", "--host-command",
                                server_command(port, "-www"), "--", "/bin/sh", "-c", inside},
                               180s);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::vector<double> curl_p50s, nettool_p50s;
    std::size_t at = 0;
    for (int round = 0; round < rounds; ++round) {
        const auto start = r.out.find("ROUND\n", at);
        ASSERT_NE(start, std::string::npos) << "round " << round << ": " << r.out;
        const auto end = std::min(r.out.find("ROUND\n", start + 6), r.out.size());
        const std::string chunk = r.out.substr(start + 6, end - start - 6);
        at = end;
        const auto brace = chunk.find('{');
        ASSERT_NE(brace, std::string::npos) << chunk;
        std::vector<double> curl_us;
        std::istringstream lines(chunk.substr(0, brace));
        for (std::string line; std::getline(lines, line);) {
            std::istringstream f(line);
            double connect = 0, appconnect = 0;
            if (f >> connect >> appconnect) curl_us.push_back((appconnect - connect) * 1e6);
        }
        ASSERT_EQ(curl_us.size(), 11u) << chunk;
        curl_us.erase(curl_us.begin());  // the process's first handshake: see above
        std::sort(curl_us.begin(), curl_us.end());
        curl_p50s.push_back((curl_us[4] + curl_us[5]) / 2);
        const auto j = json::parse(chunk.substr(brace), nullptr, false);
        ASSERT_TRUE(j.is_object()) << chunk;
        ASSERT_EQ(j["handshakes"]["completed"], 10) << j.dump(2);
        EXPECT_EQ(j["negotiated"]["version"], "TLSv1.3");
        nettool_p50s.push_back(j["handshakes"]["handshake"]["p50_us"].get<double>());
    }
    std::sort(curl_p50s.begin(), curl_p50s.end());
    std::sort(nettool_p50s.begin(), nettool_p50s.end());
    const double curl_p50 = curl_p50s[rounds / 2];
    const double nettool_p50 = nettool_p50s[rounds / 2];
    EXPECT_GT(curl_p50, 9'000.0) << "a TLS 1.3 handshake across 2 x 5 ms in under one round trip";
    if (nettool::test::instrumented) {
        // Under ASan its allocator serves OpenSSL in nettool's process and not in curl's: measured
        // 1.04x to 1.08x on a quiet machine (0.96x in the release build). What is measured still
        // has to be the one round trip of a TLS 1.3 handshake (10 ms), not two (20 ms).
        EXPECT_GT(nettool_p50, 10'000.0) << "nettool p50 " << nettool_p50 << " us";
        EXPECT_LT(nettool_p50, 17'000.0) << "nettool p50 " << nettool_p50 << " us, curl p50 " << curl_p50 << " us";
    } else {
        EXPECT_NEAR(nettool_p50 / curl_p50, 1.0, 0.10)
            << "nettool p50 " << nettool_p50 << " us, curl p50 " << curl_p50 << " us";
    }
    RecordProperty("nettool_handshake_p50_us", std::to_string(nettool_p50));
    RecordProperty("curl_appconnect_minus_connect_p50_us", std::to_string(curl_p50));
}

}  // namespace
