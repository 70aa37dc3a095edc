#include <nettool/tls/tls_probe.hpp>

#include "support/process.hpp"
#include "tls/server_bytes.hpp"

#include <nettool/core/error.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nettool {
namespace {

using namespace detail;
using test::run_nettool;

std::span<const std::byte> bytes(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

TEST(TlsServerBytes, ATlsRecordNeedsItsFirstThreeBytes) {
    // A ServerHello's record header: handshake (22), version 3.3, length.
    const std::string_view hello{"\x16\x03\x03\x00\x7a", 5};
    for (std::size_t n = 0; n <= hello.size(); ++n)
        EXPECT_EQ(looks_like_tls_record(bytes(hello.substr(0, n))), n >= 3) << n << " bytes";
    const std::string_view alert{"\x15\x03\x01\x00\x02\x02\x46", 7};
    EXPECT_TRUE(looks_like_tls_record(bytes(alert)));
    EXPECT_FALSE(looks_like_tls_record(bytes("HTTP/1.1 400 Bad Request\r\n")));
    EXPECT_FALSE(looks_like_tls_record(bytes(std::string_view{"\x13\x03\x03", 3})));  // type 19
    EXPECT_FALSE(looks_like_tls_record(bytes(std::string_view{"\x19\x03\x03", 3})));  // type 25
    EXPECT_FALSE(looks_like_tls_record(bytes(std::string_view{"\x16\x02\x00", 3})));  // SSL 2 major
    EXPECT_FALSE(looks_like_tls_record(bytes("SSH-2.0-OpenSSH_9.2\r\n")));
}

TEST(TlsServerBytes, HttpStatusLineEveryTruncation) {
    const std::string_view line = "HTTP/1.1 204 No Content\r\n";
    for (std::size_t n = 0; n <= line.size(); ++n) {
        const auto status = parse_http_status(bytes(line.substr(0, n)));
        if (n < 12)
            EXPECT_FALSE(status) << n << " bytes";
        else
            EXPECT_EQ(status, 204) << n << " bytes";
    }
    EXPECT_EQ(parse_http_status(bytes("HTTP/1.0 200 ok\r\n")), 200);
    for (const char* bad : {"HTTP/2 200 \r\n", "HTTP/1.1 099 x", "HTTP/1.1 600 x", "HTTP/1.1 2O0 x", "HTTP/1.1  200",
                            "HTTP/1.2 200 x", "http/1.1 200 x", "\x16\x03\x03\x00\x02"})
        EXPECT_FALSE(parse_http_status(bytes(bad))) << bad;
}

TEST(TlsServerBytes, QuotedBytesAreOneSafeLine) {
    EXPECT_EQ(quote_bytes(bytes("HTTP/1.1 400\r\n"), 40), "HTTP/1.1 400\\x0d\\x0a");
    EXPECT_EQ(quote_bytes(bytes(std::string_view{"a\0\\b", 4}), 40), "a\\x00\\x5cb");
    EXPECT_EQ(quote_bytes(bytes("abcdef"), 3), "abc...");
    EXPECT_EQ(quote_bytes({}, 3), "");
}

tls_result sample_result() {
    tls_result r;
    r.host = "localhost";
    std::error_code ec;
    r.target = socket_address::from_numeric("127.0.0.1", 4433, ec);
    r.sni = "localhost";
    r.warmed_up = true;
    r.timeline = {.name_lookup = std::chrono::microseconds{150},
                  .connect = std::chrono::microseconds{20'100},
                  .handshake = std::chrono::microseconds{41'000},
                  .first_byte = {},
                  .total = {}};
    r.first.version = "TLSv1.2";
    r.first.cipher = "ECDHE-ECDSA-AES256-GCM-SHA384";
    r.first.group = "x25519";
    r.first.flights = 2;
    r.first.tcp_rtt_us = 20'000;
    r.first.client_bytes = 469;
    r.first.server_bytes = 1474;
    r.chain.push_back({.subject = "CN=localhost",
                       .issuer = "CN=nettool test CA",
                       .sans = {"DNS:localhost", "IP:127.0.0.1"},
                       .not_before = "2020-01-01T00:00:00Z",
                       .not_after = "2020-02-01T00:00:00Z",
                       .days_left = -2000,
                       .key_type = "EC",
                       .key_bits = 256,
                       .signature_algorithm = "ecdsa-with-SHA256",
                       .self_signed = false});
    r.verification = {.checked = true,
                      .ok = false,
                      .reasons = {"expired"},
                      .details = {"expired (certificate has expired: certificate 0 of the chain, CN=localhost)"},
                      .name = "localhost"};
    r.outcome = tls_outcome::verify_failed;
    r.error = "the certificate of 127.0.0.1:4433 did not verify for localhost: expired";
    r.attempts = r.completed = 3;
    for (int i = 0; i < 3; ++i) {
        r.handshake_time.record(std::chrono::microseconds{41'000 + i * 100});
        r.connect_time.record(std::chrono::microseconds{20'100});
        r.round_trips.record(2050);
    }
    r.elapsed = std::chrono::milliseconds{200};
    return r;
}

TEST(TlsReport, TablesReadingsAndJsonKeys) {
    const auto r = sample_result();
    EXPECT_NEAR(r.measured_round_trips(), 2.05, 1e-9);
    EXPECT_NEAR(r.handshakes_per_second(), 15.0, 1e-9);
    const auto rep = make_report(r, tls_options{.count = 3});
    ASSERT_GE(rep.tables().size(), 4u);
    EXPECT_EQ(rep.tables()[0].title, "TLS to localhost (127.0.0.1:4433), SNI localhost");
    EXPECT_EQ(rep.tables()[0].rows.at(2).at(0), "TLS handshake");
    EXPECT_EQ(rep.tables()[0].rows.at(2).at(2), "2 round trips, 469 bytes sent, 1474 received");
    EXPECT_EQ(rep.tables()[1].title, "Negotiated");
    EXPECT_EQ(rep.tables()[2].rows.at(0).at(3), "DNS:localhost, IP:127.0.0.1");
    EXPECT_EQ(rep.tables()[3].title, "TLS handshake: 3 of 3 completed");
    std::string text;
    for (const auto& s : rep.readings()) text += s + "\n";
    EXPECT_NE(text.find("did NOT verify for localhost: expired (certificate has expired"), std::string::npos) << text;
    EXPECT_NE(text.find("2.05 times the TCP round trip of 20.0 ms"), std::string::npos) << text;
    EXPECT_NE(text.find("TLSv1.2 full needed 2 round trips"), std::string::npos) << text;
    EXPECT_NE(text.find("the network's round trips are the cost"), std::string::npos) << text;

    const auto j = rep.to_json();
    EXPECT_EQ(j["command"], "tls");
    EXPECT_EQ(j["outcome"], "verify_failed");
    EXPECT_EQ(j["target"], "127.0.0.1:4433");
    EXPECT_DOUBLE_EQ(j["timeline_us"]["handshake"].get<double>(), 41'000.0);
    EXPECT_FALSE(j["timeline_us"].contains("first_byte"));  // no --http
    EXPECT_EQ(j["negotiated"]["version"], "TLSv1.2");
    EXPECT_EQ(j["round_trips"]["flights"], 2);
    EXPECT_EQ(j["round_trips"]["tcp_rtt_us"], 20'000);
    EXPECT_EQ(j["certificates"][0]["sans"][1], "IP:127.0.0.1");
    EXPECT_EQ(j["certificates"][0]["days_left"], -2000);
    EXPECT_EQ(j["verification"]["reasons"][0], "expired");
    EXPECT_EQ(j["handshakes"]["completed"], 3);
    EXPECT_EQ(j["handshakes"]["handshake"]["count"], 3);
    EXPECT_DOUBLE_EQ(j["handshakes"]["round_trips_p50"].get<double>(), 2.05);
}

TEST(TlsReport, CompareRowsAndTheirReading) {
    tls_compare_result c{.baseline = sample_result(), .rows = {}};
    const auto row = [](const char* name, tls_version v, bool resume, unsigned flights, std::uint64_t milli) {
        tls_compare_row x{.name = name, .version = v, .resume = resume};
        x.negotiated = v == tls_version::tls1_2 ? "TLSv1.2" : "TLSv1.3";
        x.completed = 5;
        x.flights = flights;
        for (int i = 0; i < 5; ++i) {
            x.handshake_time.record(std::chrono::microseconds{milli * 20});
            x.round_trips.record(milli);
        }
        return x;
    };
    c.rows.push_back(row("TLS 1.2 full", tls_version::tls1_2, false, 2, 2010));
    c.rows.push_back(row("TLS 1.3 full", tls_version::tls1_3, false, 1, 1020));
    c.rows.push_back(row("TLS 1.2 resumed", tls_version::tls1_2, true, 1, 1005));
    tls_compare_row refused{.name = "TLS 1.3 resumed", .version = tls_version::tls1_3, .resume = true};
    refused.error = "the handshake failed: unsupported protocol";
    c.rows.push_back(refused);
    const auto rep = make_report(c, tls_options{});
    const auto& t = rep.tables().back();
    EXPECT_EQ(t.title, "Handshakes side by side");
    ASSERT_EQ(t.rows.size(), 4u);
    EXPECT_EQ(t.rows[0].at(5), "2.01");
    EXPECT_EQ(t.rows[0].at(6), "2");
    EXPECT_EQ(t.rows[3].at(5), "-");
    EXPECT_EQ(t.rows[3].at(7), "the handshake failed: unsupported protocol");
    EXPECT_NE(rep.readings().back().find("Full TLS 1.2 waits 2 times for the server, full TLS 1.3 1"),
              std::string::npos)
        << rep.readings().back();
    const auto j = rep.to_json();
    ASSERT_EQ(j["compare"].size(), 4u);
    EXPECT_EQ(j["compare"][2]["name"], "TLS 1.2 resumed");
    EXPECT_DOUBLE_EQ(j["compare"][2]["round_trips_p50"].get<double>(), 1.005);
    EXPECT_EQ(j["compare"][3]["completed"], 0);
}

TEST(TlsProbe, OptionsOutOfRangeAndABadCaFileAreUsageErrors) {
    const host_port hp{"127.0.0.1", 1};
    try {
        tls_probe(hp, tls_options{.count = 0});
        FAIL() << "count 0 accepted";
    } catch (const error& e) {
        EXPECT_TRUE(is_usage_error(e.code())) << e.what();
    }
    try {
        tls_probe(hp, tls_options{.ca_file = NETTOOL_SOURCE_DIR "/README.md"});
        FAIL() << "a CA file of text accepted";
    } catch (const error& e) {
        EXPECT_TRUE(is_usage_error(e.code())) << e.what();
        EXPECT_NE(std::string{e.what()}.find("README.md"), std::string::npos) << e.what();
    }
}

TEST(TlsProbe, ARefusedConnectionIsAMeasuredOutcome) {
    const auto port = test::free_port();  // nothing listens there: refused
    const auto r = tls_probe({"127.0.0.1", port}, tls_options{.count = 3});
    EXPECT_EQ(r.outcome, tls_outcome::connect_failed);
    EXPECT_NE(r.error.find("refused"), std::string::npos) << r.error;
    EXPECT_EQ(r.completed, 0u);
    EXPECT_EQ(r.attempts, 1u);  // the warm-up failed: the timed ones are not tried
}

TEST(TlsCli, HelpAndBadInput) {
    const auto help = run_nettool({"tls", "--help"});
    EXPECT_EQ(help.exit_code, 0);
    for (const char* o : {"--sni", "--ca", "--insecure", "--tls1.2", "--tls1.3", "--alpn", "--count", "--resume",
                          "--compare", "--http", "--timeout", "--capture"})
        EXPECT_NE(help.out.find(o), std::string::npos) << o;
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"tls"}, {"tls", "127.0.0.1:1", "--tls1.2", "--tls1.3"},
          {"tls", "127.0.0.1:1", "--http", "index.html"}, {"tls", "127.0.0.1:1", "--http", "/a b"},
          {"tls", "127.0.0.1:1", "--ca", "/nonexistent/ca.pem"}, {"tls", "127.0.0.1:99999"},
          {"tls", "127.0.0.1:1", "--alpn", "h2,,http/1.1"}}) {
        const auto r = run_nettool(args);
        std::string what;
        for (const auto& a : args) what += a + " ";
        EXPECT_EQ(r.exit_code, 2) << what << r.err;
        EXPECT_EQ(r.out, "") << what;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << r.err;
    }
}

TEST(TlsCli, RefusedIsExitOneWithTheReportFirst) {
    const auto r = run_nettool({"--json", "tls", "127.0.0.1:" + std::to_string(test::free_port())});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["outcome"], "connect_failed");
    EXPECT_EQ(j["sni"], "");  // an address literal sends no SNI
    EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace nettool
