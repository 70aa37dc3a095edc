// nettool/dns_timer.hpp against real DNS servers started on loopback ports (dnsmasq, unbound), a
// fake UDP server that misbehaves on purpose, and getaddrinfo.
#include <nettool/dns/dns_timer.hpp>

#include "dns/dns_message.hpp"
#include "support/process.hpp"
#include "support/numbers.hpp"

#include <nettool/core/error.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
// After every C++ header: ldns/common.h defines bool as _Bool when it finds no stdbool.h.
#include <ldns/ldns.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using nettool::dns_server;
using nettool::test::run_nettool;

// ---------------------------------------------------------------------------------------------
// Helpers: free ports, server processes that are always killed, a scratch directory.

/// A port free for both UDP and TCP on 127.0.0.1 (and ::1) at the time of asking.
std::uint16_t free_port() {
    for (int attempt = 0; attempt < 50; ++attempt) {
        const int u = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(u, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            ::close(u);
            continue;
        }
        const int t = ::socket(AF_INET, SOCK_STREAM, 0);
        const bool tcp_ok = ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(t);
        ::close(u);
        if (tcp_ok) return ntohs(a.sin_port);
    }
    return 0;
}

struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string tmpl = (fs::temp_directory_path() / "nettool-dns-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

/// A child process killed (SIGTERM, then SIGKILL) and reaped in the destructor.
class server_process {
public:
    explicit server_process(const std::vector<std::string>& argv) {
        pid_ = nettool::test::spawn(argv);
    }
    ~server_process() { stop(); }
    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;

    bool running() {
        if (pid_ <= 0) return false;
        int status = 0;
        return ::waitpid(pid_, &status, WNOHANG) == 0;
    }
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 100; ++i) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(20ms);
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
};

/// Waits (bounded) until server answers name; true when it did.
bool wait_until_answering(const dns_server& server, const std::string& name) {
    nettool::dns_query_options o;
    o.name = name;
    o.timeout = 200ms;
    for (int i = 0; i < 40; ++i) {
        std::error_code ec;
        const auto r = nettool::time_dns_queries(server, o, ec);
        if (!ec && r.answered == 1) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

const std::string big_string(250, 'x');

// ---------------------------------------------------------------------------------------------
// Input checking

TEST(DnsName, LabelAndNameLimits) {
    EXPECT_FALSE(nettool::validate_dns_name("example.com"));
    EXPECT_FALSE(nettool::validate_dns_name("example.com."));
    EXPECT_FALSE(nettool::validate_dns_name("."));
    EXPECT_FALSE(nettool::validate_dns_name(std::string(63, 'a') + ".com"));
    EXPECT_EQ(nettool::validate_dns_name(std::string(64, 'a') + ".com"), nettool::errc::bad_dns_name);
    EXPECT_EQ(nettool::validate_dns_name("a..b"), nettool::errc::bad_dns_name);
    EXPECT_EQ(nettool::validate_dns_name(".a"), nettool::errc::bad_dns_name);
    EXPECT_EQ(nettool::validate_dns_name(""), nettool::errc::bad_dns_name);
    // 4 labels of 63 = 4*64 + 1 = 257 octets in wire form: too long; 3 labels + 61 = 255: fine.
    const std::string l63(63, 'a');
    EXPECT_EQ(nettool::validate_dns_name(l63 + "." + l63 + "." + l63 + "." + l63),
              nettool::errc::bad_dns_name);
    EXPECT_FALSE(nettool::validate_dns_name(l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b')));
    EXPECT_EQ(nettool::validate_dns_name(l63 + "." + l63 + "." + l63 + "." + std::string(62, 'b')),
              nettool::errc::bad_dns_name);
    EXPECT_TRUE(nettool::is_usage_error(nettool::validate_dns_name("a..b")));
    // An escaped octet counts once.
    EXPECT_FALSE(nettool::validate_dns_name(std::string(62, 'a') + "\\046.com"));
    EXPECT_EQ(nettool::validate_dns_name(std::string(63, 'a') + "\\046.com"), nettool::errc::bad_dns_name);
}

TEST(DnsType, MnemonicsAndNumbers) {
    EXPECT_EQ(nettool::parse_dns_type("A"), 1);
    EXPECT_EQ(nettool::parse_dns_type("aaaa"), 28);
    EXPECT_EQ(nettool::parse_dns_type("MX"), 15);
    EXPECT_EQ(nettool::parse_dns_type("TXT"), 16);
    EXPECT_EQ(nettool::parse_dns_type("NS"), 2);
    EXPECT_EQ(nettool::parse_dns_type("SOA"), 6);
    EXPECT_EQ(nettool::parse_dns_type("CNAME"), 5);
    EXPECT_EQ(nettool::parse_dns_type("PTR"), 12);
    EXPECT_EQ(nettool::parse_dns_type("SRV"), 33);
    EXPECT_EQ(nettool::parse_dns_type("CAA"), 257);
    EXPECT_EQ(nettool::parse_dns_type("ANY"), 255);
    EXPECT_EQ(nettool::parse_dns_type("65000"), 65000);
    EXPECT_EQ(nettool::parse_dns_type("TYPE99"), 99);
    EXPECT_FALSE(nettool::parse_dns_type("BOGUS"));
    EXPECT_FALSE(nettool::parse_dns_type("70000"));
    EXPECT_FALSE(nettool::parse_dns_type(""));
    EXPECT_EQ(nettool::dns_type_name(28), "AAAA");
    EXPECT_EQ(nettool::dns_rcode_name(3), "NXDOMAIN");
}

TEST(DnsServer, ParsesAddressesAndPorts) {
    std::error_code ec;
    EXPECT_EQ(nettool::parse_dns_server("127.0.0.1", ec), (dns_server{"127.0.0.1", 53}));
    EXPECT_EQ(nettool::parse_dns_server("127.0.0.1:5353", ec), (dns_server{"127.0.0.1", 5353}));
    EXPECT_EQ(nettool::parse_dns_server("[::1]:5353", ec), (dns_server{"::1", 5353}));
    EXPECT_EQ(nettool::parse_dns_server("[::1]", ec), (dns_server{"::1", 53}));
    EXPECT_EQ(nettool::parse_dns_server("::1", ec), (dns_server{"::1", 53}));
    EXPECT_EQ(nettool::parse_dns_server("[::1]:5353", ec).to_string(), "[::1]:5353");
    (void)nettool::parse_dns_server("127.0.0.1:0", ec);
    EXPECT_EQ(ec, nettool::errc::bad_port);
    (void)nettool::parse_dns_server("127.0.0.1:70000", ec);
    EXPECT_EQ(ec, nettool::errc::bad_port);
    (void)nettool::parse_dns_server("dns.example", ec);
    EXPECT_EQ(ec, nettool::errc::bad_address);
    (void)nettool::parse_dns_server("[::1:53", ec);
    EXPECT_EQ(ec, nettool::errc::bad_address);
    // The throwing overload names the offending text.
    try {
        (void)nettool::parse_dns_server("127.0.0.1:70000");
        ADD_FAILURE() << "parsed";
    } catch (const nettool::error& e) {
        EXPECT_EQ(e.code(), nettool::errc::bad_port);
        EXPECT_NE(std::string{e.what()}.find("70000"), std::string::npos) << e.what();
    }
    // resolv.conf may give a zone index.
    (void)nettool::parse_dns_server("[fe80::1%lo]", ec);
    EXPECT_FALSE(ec) << ec.message();
}

TEST(DnsServer, ReadsResolvConf) {
    temp_dir dir;
    const auto path = dir.path / "resolv.conf";
    std::ofstream{path} << "# comment\nsearch example\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n"
                           "options ndots:2\n";
    const auto s = nettool::resolv_conf_servers(path.string());
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0], (dns_server{"192.0.2.53", 53}));
    EXPECT_EQ(s[1], (dns_server{"2001:db8::53", 53}));
}

TEST(DnsQueryFile, DnsperfFormat) {
    std::error_code ec;
    const auto q = nettool::parse_dns_query_file("www.example A\n# note\n\nexample MX\nbare.example\n", ec);
    ASSERT_FALSE(ec);
    ASSERT_EQ(q.size(), 3u);
    EXPECT_EQ(q[0], (nettool::dns_load_query{"www.example", 1}));
    EXPECT_EQ(q[1], (nettool::dns_load_query{"example", 15}));
    EXPECT_EQ(q[2], (nettool::dns_load_query{"bare.example", 1}));
    EXPECT_TRUE(nettool::parse_dns_query_file("ok.example A\nbad.example WHAT\n", ec).empty());
    EXPECT_EQ(ec, nettool::errc::bad_argument);
    try {
        (void)nettool::parse_dns_query_file("ok.example A\nbad.example WHAT\n");
        ADD_FAILURE() << "parsed";
    } catch (const nettool::error& e) {
        EXPECT_EQ(e.code(), nettool::errc::bad_argument);
        EXPECT_NE(std::string{e.what()}.find("line 2"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(nettool::parse_dns_query_file("a..b A\n", ec).empty());
    EXPECT_EQ(ec, nettool::errc::bad_dns_name);
}

// ---------------------------------------------------------------------------------------------
// Response checking (the function the fuzzer drives)

std::vector<std::byte> to_bytes(const std::uint8_t* p, std::size_t n) {
    std::vector<std::byte> out(n);
    std::transform(p, p + n, out.begin(), [](std::uint8_t b) { return std::byte{b}; });
    return out;
}

/// An answer to query built with ldns: qr set, the given answer records, optional other id/name.
std::vector<std::byte> make_answer(const std::vector<std::byte>& query, const std::vector<std::string>& rrs,
                                   int id_delta = 0, const char* other_name = nullptr, bool tc = false) {
    std::vector<std::uint8_t> q(query.size());
    std::transform(query.begin(), query.end(), q.begin(),
                   [](std::byte b) { return std::to_integer<std::uint8_t>(b); });
    ldns_pkt* pkt = nullptr;
    EXPECT_EQ(ldns_wire2pkt(&pkt, q.data(), q.size()), LDNS_STATUS_OK);
    if (other_name != nullptr) {
        ldns_pkt* other = nullptr;
        EXPECT_EQ(ldns_pkt_query_new_frm_str(&other, other_name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD),
                  LDNS_STATUS_OK);
        ldns_pkt_set_id(other, ldns_pkt_id(pkt));
        ldns_pkt_free(pkt);
        pkt = other;
    }
    ldns_pkt_set_qr(pkt, true);
    ldns_pkt_set_tc(pkt, tc);
    ldns_pkt_set_id(pkt, static_cast<std::uint16_t>(ldns_pkt_id(pkt) + id_delta));
    for (const auto& text : rrs) {
        ldns_rr* rr = nullptr;
        EXPECT_EQ(ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr), LDNS_STATUS_OK) << text;
        ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
    }
    std::uint8_t* wire = nullptr;
    std::size_t size = 0;
    EXPECT_EQ(ldns_pkt2wire(&wire, pkt, &size), LDNS_STATUS_OK);
    auto out = to_bytes(wire, size);
    std::free(wire);
    ldns_pkt_free(pkt);
    return out;
}

TEST(DnsResponse, AcceptsOnlyTheAnswerToTheQuestion) {
    std::error_code ec;
    const auto q = nettool::detail::build_dns_query("www.Example.test", 1, 0x1234, true, true, 1232, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(q.question.name, "www.example.test.");
    const auto answer = make_answer(q.wire, {"www.example.test. 300 IN A 192.0.2.1"});
    auto r = nettool::detail::check_dns_response(answer, q.question, true);
    ASSERT_EQ(r.verdict, nettool::detail::response_verdict::accepted);
    EXPECT_EQ(r.records.rcode, "NOERROR");
    ASSERT_EQ(r.records.answer.size(), 1u);
    // The owner is compressed to the question, so it keeps the question's case.
    EXPECT_EQ(r.records.answer[0], "www.Example.test.\t300\tIN\tA\t192.0.2.1");

    EXPECT_EQ(nettool::detail::check_dns_response(make_answer(q.wire, {}, 1), q.question, true).verdict,
              nettool::detail::response_verdict::wrong_id);
    EXPECT_EQ(nettool::detail::check_dns_response(make_answer(q.wire, {}, 0, "other.example.test."),
                                                  q.question, true)
                  .verdict,
              nettool::detail::response_verdict::wrong_question);
    // The query itself (QR clear) is not its own answer.
    EXPECT_EQ(nettool::detail::check_dns_response(q.wire, q.question, true).verdict,
              nettool::detail::response_verdict::wrong_question);
    EXPECT_EQ(nettool::detail::check_dns_response({}, q.question, true).verdict,
              nettool::detail::response_verdict::malformed);
}

TEST(DnsResponse, EveryPrefixOfAnAnswerIsMalformed) {
    std::error_code ec;
    const auto q = nettool::detail::build_dns_query("www.example.test", 16, 0xbeef, true, false, 0, ec);
    ASSERT_FALSE(ec);
    const auto answer = make_answer(q.wire, {"www.example.test. 60 IN TXT \"a\" \"b\"",
                                             "www.example.test. 60 IN TXT \"" + big_string + "\""});
    ASSERT_EQ(nettool::detail::check_dns_response(answer, q.question, false).verdict,
              nettool::detail::response_verdict::accepted);
    for (std::size_t n = 0; n < answer.size(); ++n) {
        const auto r = nettool::detail::check_dns_response(std::span{answer}.first(n), q.question, true);
        EXPECT_EQ(r.verdict, nettool::detail::response_verdict::malformed) << "prefix " << n;
    }
    EXPECT_FALSE(nettool::detail::dns_tcp_length(std::span{answer}.first(1)));
    EXPECT_EQ(nettool::detail::dns_tcp_length(std::span{answer}.first(2)), 0xbeef);
}

// ---------------------------------------------------------------------------------------------
// dnsmasq

class DnsDnsmasq : public ::testing::Test {
protected:
    void SetUp() override {
        port_ = free_port();
        ASSERT_NE(port_, 0);
        const std::string big = big_string;
        server_ = std::make_unique<server_process>(std::vector<std::string>{
            "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=" + std::to_string(port_),
            "--listen-address=127.0.0.1", "--listen-address=::1", "--bind-interfaces", "--no-resolv",
            "--no-hosts", "--local=/test.example/", "--host-record=www.test.example,192.0.2.10,2001:db8::10",
            "--txt-record=txt.test.example,hello world", "--mx-host=test.example,mail.test.example,10",
            "--txt-record=big.test.example," + big + "," + big + "," + big + "," + big + "," + big + "," +
                big,
            "--edns-packet-max=4096"});
        server_addr_ = dns_server{"127.0.0.1", port_};
        ASSERT_TRUE(wait_until_answering(server_addr_, "www.test.example")) << "dnsmasq did not start";
    }
    void TearDown() override { server_.reset(); }

    nettool::dns_query_result query(const std::string& name, std::uint16_t type, unsigned count = 2,
                                    bool edns = true, nettool::dns_transport t = nettool::dns_transport::udp,
                                    std::uint16_t edns_size = 1232) {
        nettool::dns_query_options o;
        o.name = name;
        o.type = type;
        o.count = count;
        o.edns = edns;
        o.edns_size = edns_size;
        o.transport = t;
        o.timeout = 2s;
        std::error_code ec;
        auto r = nettool::time_dns_queries(server_addr_, o, ec);
        EXPECT_FALSE(ec) << ec.message();
        return r;
    }

    std::uint16_t port_ = 0;
    dns_server server_addr_;
    std::unique_ptr<server_process> server_;
};

TEST_F(DnsDnsmasq, AAndAaaaAnswers) {
    auto a = query("www.test.example", 1, 3);
    EXPECT_EQ(a.sent, 3u);
    EXPECT_EQ(a.answered, 3u);
    EXPECT_EQ(a.timeouts, 0u);
    EXPECT_EQ(a.rtt.count(), 3u);
    EXPECT_EQ(a.rcodes.at("NOERROR"), 3u);
    ASSERT_TRUE(a.last);
    EXPECT_TRUE(a.last->authoritative);
    EXPECT_EQ(a.last->answer, std::vector<std::string>{"www.test.example.\t0\tIN\tA\t192.0.2.10"});
    auto aaaa = query("www.test.example", 28);
    ASSERT_TRUE(aaaa.last);
    EXPECT_EQ(aaaa.last->answer, std::vector<std::string>{"www.test.example.\t0\tIN\tAAAA\t2001:db8::10"});
}

TEST_F(DnsDnsmasq, MxAndTxtAnswers) {
    auto mx = query("test.example", 15);
    ASSERT_TRUE(mx.last);
    EXPECT_EQ(mx.last->answer, std::vector<std::string>{"test.example.\t0\tIN\tMX\t10 mail.test.example."});
    auto txt = query("txt.test.example", 16);
    ASSERT_TRUE(txt.last);
    EXPECT_EQ(txt.last->answer, std::vector<std::string>{"txt.test.example.\t0\tIN\tTXT\t\"hello world\""});
    EXPECT_EQ(txt.tcp_retries, 0u);
}

TEST_F(DnsDnsmasq, NxdomainIsAnAnswer) {
    auto r = query("nope.test.example", 1, 2);
    EXPECT_EQ(r.answered, 2u);
    EXPECT_EQ(r.timeouts, 0u);
    EXPECT_EQ(r.rcodes.at("NXDOMAIN"), 2u);
    ASSERT_TRUE(r.last);
    EXPECT_TRUE(r.last->answer.empty());
}

TEST_F(DnsDnsmasq, TruncatedAnswerIsRetriedOverTcp) {
    auto r = query("big.test.example", 16, 2, /*edns=*/false);
    EXPECT_EQ(r.sent, 2u);
    EXPECT_EQ(r.tcp_retries, 2u);
    EXPECT_EQ(r.tcp_failures, 0u);
    EXPECT_EQ(r.answered, 2u);
    ASSERT_TRUE(r.last);
    EXPECT_FALSE(r.last->truncated);  // the TCP answer is complete
    ASSERT_EQ(r.last->answer.size(), 1u);
    EXPECT_EQ(std::count(r.last->answer[0].begin(), r.last->answer[0].end(), '"'), 12);
    EXPECT_NE(r.last->answer[0].find("\"" + big_string + "\""), std::string::npos);
    // With a large EDNS buffer the same answer fits in one datagram.
    auto e = query("big.test.example", 16, 1, /*edns=*/true, nettool::dns_transport::udp, 4096);
    EXPECT_EQ(e.tcp_retries, 0u);
    EXPECT_EQ(e.answered, 1u);
}

TEST_F(DnsDnsmasq, TcpOnly) {
    auto r = query("www.test.example", 1, 2, true, nettool::dns_transport::tcp);
    EXPECT_EQ(r.answered, 2u);
    EXPECT_EQ(r.tcp_retries, 0u);
    ASSERT_TRUE(r.last);
    EXPECT_EQ(r.last->answer, std::vector<std::string>{"www.test.example.\t0\tIN\tA\t192.0.2.10"});
}

TEST_F(DnsDnsmasq, CliTextShowsLdnsRecordsAndExitsZero) {
    const auto server = "127.0.0.1:" + std::to_string(port_);
    auto r = run_nettool({"dns", "test.example", "--server", server, "--type", "MX", "--count", "2"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("NOERROR:2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("10 mail.test.example."), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "");
}

TEST_F(DnsDnsmasq, CliJsonOverIpv6) {
    auto r = run_nettool({"dns", "www.test.example", "--server", "[::1]:" + std::to_string(port_), "--type",
                          "AAAA", "--count", "3", "--interval", "0.01", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["command"], "dns");
    EXPECT_EQ(j["type"], "AAAA");
    EXPECT_TRUE(j["system"].is_null());
    ASSERT_EQ(j["servers"].size(), 1u);
    const auto& s = j["servers"][0];
    EXPECT_EQ(s["server"], "[::1]:" + std::to_string(port_));
    EXPECT_EQ(s["answered"], 3);
    EXPECT_EQ(s["latency"]["count"], 3);
    for (const char* k :
         {"min_us", "mean_us", "stddev_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"}) {
        EXPECT_TRUE(s["latency"].contains(k)) << k;
    }
    EXPECT_EQ(s["rcodes"]["NOERROR"], 3);
    EXPECT_EQ(s["response"]["answer"][0], "www.test.example.\t0\tIN\tAAAA\t2001:db8::10");
}

TEST_F(DnsDnsmasq, LoadModeReportsQueriesPerSecond) {
    temp_dir dir;
    const auto file = dir.path / "queries.txt";
    std::ofstream{file}
        << "www.test.example A\nwww.test.example AAAA\ntxt.test.example TXT\nnope.test.example A\n";
    auto r = run_nettool({"dns", "--queries", file.string(), "--server", "127.0.0.1:" + std::to_string(port_),
                          "--duration", "0.5", "--concurrency", "10", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    const auto& l = j["load"];
    EXPECT_GT(l["answered"].get<std::uint64_t>(), 0u);
    EXPECT_GT(l["queries_per_second"].get<double>(), 0.0);
    EXPECT_EQ(l["sent"].get<std::uint64_t>(),
              l["answered"].get<std::uint64_t>() + l["lost"].get<std::uint64_t>());
    EXPECT_GT(l["rcodes"]["NXDOMAIN"].get<std::uint64_t>(), 0u);
    EXPECT_GT(l["rcodes"]["NOERROR"].get<std::uint64_t>(), 0u);
    EXPECT_EQ(l["latency"]["count"], l["answered"]);
}

TEST(DnsSideBySide, SystemResolverAndConfiguredServer) {
    if (!nettool::test::is_root()) GTEST_SKIP() << "needs root to bind port 53 on a loopback address";
    // resolv.conf carries no port, so the configured server listens on port 53 of an otherwise
    // unused 127/8 address.
    const std::string addr = "127.53." + std::to_string(::getpid() % 250 + 1) + ".1";
    temp_dir dir;
    const auto conf = dir.path / "resolv.conf";
    std::ofstream{conf} << "nameserver " << addr << "\n";
    server_process dnsmasq{{"dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=53",
                            "--listen-address=" + addr, "--bind-interfaces", "--no-resolv", "--no-hosts",
                            "--host-record=localhost,127.0.0.1"}};
    if (!wait_until_answering(dns_server{addr, 53}, "localhost"))
        GTEST_SKIP() << "cannot serve on " << addr << ":53";
    auto r = run_nettool({"dns", "localhost", "--resolv-conf", conf.string(), "--count", "2", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["system"]["lookups"], 2);
    ASSERT_EQ(j["servers"].size(), 1u);
    EXPECT_EQ(j["servers"][0]["server"], addr + ":53");
    EXPECT_EQ(j["servers"][0]["response"]["answer"][0], "localhost.\t0\tIN\tA\t127.0.0.1");
    auto text = run_nettool({"dns", "localhost", "--resolv-conf", conf.string(), "--count", "2"});
    EXPECT_EQ(text.exit_code, 0);
    EXPECT_NE(text.out.find("system (getaddrinfo)"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find(addr + ":53"), std::string::npos) << text.out;
}

// ---------------------------------------------------------------------------------------------
// unbound serving a local zone

class DnsUnbound : public ::testing::Test {
protected:
    void SetUp() override {
        port_ = free_port();
        ASSERT_NE(port_, 0);
        const auto conf = dir_.path / "unbound.conf";
        std::ofstream{conf} << "server:\n"
                               "  interface: 127.0.0.1@"
                            << port_
                            << "\n"
                               "  port: "
                            << port_
                            << "\n"
                               "  do-daemonize: no\n"
                               "  chroot: \"\"\n"
                               "  username: \"\"\n"
                               "  pidfile: \"\"\n"
                               "  directory: \""
                            << dir_.path.string()
                            << "\"\n"
                               "  use-syslog: no\n"
                               "  logfile: \"\"\n"
                               "  verbosity: 0\n"
                               "  do-ip6: no\n"
                               "  num-threads: 1\n"
                               "  access-control: 127.0.0.0/8 allow\n"
                               "  local-zone: \"zone.test.\" static\n"
                               "  local-data: \"zone.test. 3600 IN SOA ns.zone.test. admin.zone.test. 1 3600 "
                               "600 86400 300\"\n"
                               "  local-data: \"www.zone.test. 3600 IN A 192.0.2.20\"\n"
                               "  local-data: \"www.zone.test. 3600 IN AAAA 2001:db8::20\"\n"
                               "  local-data: \"zone.test. 1800 IN MX 5 mx.zone.test.\"\n"
                               "  local-data: 'txt.zone.test. 600 IN TXT \"unbound says hi\"'\n"
                               "remote-control:\n"
                               "  control-enable: no\n";
        server_ =
            std::make_unique<server_process>(std::vector<std::string>{"unbound", "-d", "-c", conf.string()});
        addr_ = dns_server{"127.0.0.1", port_};
        ASSERT_TRUE(wait_until_answering(addr_, "www.zone.test")) << "unbound did not start";
    }
    void TearDown() override { server_.reset(); }

    nettool::dns_query_result query(const std::string& name, std::uint16_t type) {
        nettool::dns_query_options o;
        o.name = name;
        o.type = type;
        o.count = 2;
        std::error_code ec;
        auto r = nettool::time_dns_queries(addr_, o, ec);
        EXPECT_FALSE(ec);
        return r;
    }

    temp_dir dir_;
    std::uint16_t port_ = 0;
    dns_server addr_;
    std::unique_ptr<server_process> server_;
};

TEST_F(DnsUnbound, LocalZoneAnswersWithTtls) {
    auto a = query("www.zone.test", 1);
    EXPECT_EQ(a.answered, 2u);
    ASSERT_TRUE(a.last);
    EXPECT_EQ(a.last->answer, std::vector<std::string>{"www.zone.test.\t3600\tIN\tA\t192.0.2.20"});
    auto aaaa = query("www.zone.test", 28);
    ASSERT_TRUE(aaaa.last);
    EXPECT_EQ(aaaa.last->answer, std::vector<std::string>{"www.zone.test.\t3600\tIN\tAAAA\t2001:db8::20"});
    auto mx = query("zone.test", 15);
    ASSERT_TRUE(mx.last);
    EXPECT_EQ(mx.last->answer, std::vector<std::string>{"zone.test.\t1800\tIN\tMX\t5 mx.zone.test."});
    auto txt = query("txt.zone.test", 16);
    ASSERT_TRUE(txt.last);
    EXPECT_EQ(txt.last->answer,
              std::vector<std::string>{"txt.zone.test.\t600\tIN\tTXT\t\"unbound says hi\""});
}

TEST_F(DnsUnbound, NxdomainCarriesTheSoaInAuthority) {
    // RFC 2308: the negative answer's SOA TTL is the smaller of its TTL and its minimum (300).
    auto r = query("missing.zone.test", 1);
    EXPECT_EQ(r.answered, 2u);
    EXPECT_EQ(r.rcodes.at("NXDOMAIN"), 2u);
    ASSERT_TRUE(r.last);
    EXPECT_TRUE(r.last->answer.empty());
    ASSERT_EQ(r.last->authority.size(), 1u);
    EXPECT_EQ(r.last->authority[0],
              "zone.test.\t300\tIN\tSOA\tns.zone.test. admin.zone.test. 1 3600 600 86400 300");
}

// ---------------------------------------------------------------------------------------------
// Silence and misbehaviour

/// A UDP socket bound on loopback that never answers.
struct silent_udp {
    int fd = -1;
    std::uint16_t port = 0;
    silent_udp() {
        fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~silent_udp() { ::close(fd); }
};

TEST(DnsSilent, TimesOutWithinCountTimesTimeout) {
    silent_udp s;
    nettool::dns_query_options o;
    o.name = "www.test.example";
    o.count = 3;
    o.timeout = 200ms;
    std::error_code ec;
    const auto start = std::chrono::steady_clock::now();
    const auto r = nettool::time_dns_queries(dns_server{"127.0.0.1", s.port}, o, ec);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(ec);
    EXPECT_EQ(r.sent, 3u);
    EXPECT_EQ(r.timeouts, 3u);
    EXPECT_EQ(r.answered, 0u);
    EXPECT_FALSE(r.last);
    EXPECT_GE(took, 3 * 200ms);
    EXPECT_LT(took, 3 * 200ms + 2s);  // bounded: count x timeout plus generous slack
}

TEST(DnsSilent, CliExitsOneWithinBound) {
    silent_udp s;
    const auto start = std::chrono::steady_clock::now();
    auto r = run_nettool({"dns", "www.test.example", "--server", "127.0.0.1:" + std::to_string(s.port),
                          "--count", "2", "--timeout", "0.3", "--interval", "0"});
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.out.find("did not answer any of 2 queries"), std::string::npos) << r.out;
}

/// Answers each query with: a wrong-ID answer, an answer to another question, a datagram cut
/// to 7 bytes, an empty datagram, the right answer from another socket (wrong source), then the
/// right answer.
class misbehaving_server {
public:
    misbehaving_server() {
        fd_ = bound_socket(port_);
        other_fd_ = bound_socket(other_port_);
        timeval tv{0, 100000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        thread_ = std::thread([this] { serve(); });
    }
    ~misbehaving_server() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
        ::close(other_fd_);
    }
    std::uint16_t port() const { return port_; }

private:
    static int bound_socket(std::uint16_t& port) {
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
        return fd;
    }
    void serve() {
        std::vector<std::byte> buf(4096);
        while (!stop_) {
            sockaddr_in from{};
            socklen_t len = sizeof from;
            const ssize_t n =
                ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n <= 0) continue;
            const std::vector<std::byte> query(buf.begin(), buf.begin() + n);
            const auto good = make_answer(query, {"www.test.example. 42 IN A 192.0.2.99"});
            auto send = [&](int fd, const std::vector<std::byte>& d) {
                ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
            };
            send(fd_, make_answer(query, {"www.test.example. 42 IN A 192.0.2.1"}, 7));
            send(fd_, make_answer(query, {}, 0, "other.test.example."));
            send(fd_, std::vector<std::byte>(good.begin(), good.begin() + 7));
            send(fd_, {});
            send(other_fd_, good);
            std::this_thread::sleep_for(20ms);  // let the bad ones arrive first
            send(fd_, good);
        }
    }
    int fd_ = -1, other_fd_ = -1;
    std::uint16_t port_ = 0, other_port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

TEST(DnsMisbehaving, BadResponsesAreCountedAndTheGoodOneTimed) {
    misbehaving_server srv;
    nettool::dns_query_options o;
    o.name = "www.test.example";
    o.count = 2;
    o.timeout = 2s;
    std::error_code ec;
    const auto r = nettool::time_dns_queries(dns_server{"127.0.0.1", srv.port()}, o, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(r.answered, 2u);
    EXPECT_EQ(r.timeouts, 0u);
    EXPECT_EQ(r.rtt.count(), 2u);
    EXPECT_EQ(r.ignored.wrong_id, 2u);
    EXPECT_EQ(r.ignored.wrong_question, 2u);
    EXPECT_EQ(r.ignored.malformed, 4u);  // cut short and empty, per query
    EXPECT_EQ(r.ignored.wrong_source, 2u);
    ASSERT_TRUE(r.last);
    EXPECT_EQ(r.last->answer, std::vector<std::string>{"www.test.example.\t42\tIN\tA\t192.0.2.99"});
}

/// Answers every query correctly after a delay, and keeps the queries it received.
class delayed_server {
public:
    explicit delayed_server(std::chrono::milliseconds delay) : delay_(delay) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        timeval tv{0, 5000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        thread_ = std::thread([this] { serve(); });
    }
    ~delayed_server() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    std::uint16_t port() const { return port_; }
    /// The queries received so far (call after the client is done).
    const std::vector<std::vector<std::byte>>& queries() const { return queries_; }

private:
    struct pending {
        std::chrono::steady_clock::time_point due;
        sockaddr_in to;
        std::vector<std::byte> answer;
    };
    void serve() {
        std::vector<std::byte> buf(4096);
        std::vector<pending> waiting;
        while (!stop_) {
            sockaddr_in from{};
            socklen_t len = sizeof from;
            const ssize_t n =
                ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n > 0) {
                std::vector<std::byte> q(buf.begin(), buf.begin() + n);
                auto answer = make_answer(q, {"www.test.example. 42 IN A 192.0.2.99"});
                queries_.push_back(std::move(q));
                waiting.push_back({std::chrono::steady_clock::now() + delay_, from, std::move(answer)});
            }
            const auto now = std::chrono::steady_clock::now();
            for (auto it = waiting.begin(); it != waiting.end();) {
                if (it->due > now) {
                    ++it;
                    continue;
                }
                ::sendto(fd_, it->answer.data(), it->answer.size(), 0,
                         reinterpret_cast<const sockaddr*>(&it->to), sizeof it->to);
                it = waiting.erase(it);
            }
        }
    }
    std::chrono::milliseconds delay_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::vector<std::vector<std::byte>> queries_;
};

ldns_pkt* parse_query(const std::vector<std::byte>& wire) {
    std::vector<std::uint8_t> q(wire.size());
    std::transform(wire.begin(), wire.end(), q.begin(),
                   [](std::byte b) { return std::to_integer<std::uint8_t>(b); });
    ldns_pkt* pkt = nullptr;
    EXPECT_EQ(ldns_wire2pkt(&pkt, q.data(), q.size()), LDNS_STATUS_OK);
    return pkt;
}

TEST(DnsQueryOptions, RecursionAndEdnsReachTheWire) {
    std::vector<std::vector<std::byte>> seen;
    {
        delayed_server srv{0ms};
        const dns_server addr{"127.0.0.1", srv.port()};
        nettool::dns_query_options o;
        o.name = "www.test.example";
        o.timeout = 2s;
        std::error_code ec;
        EXPECT_EQ(nettool::time_dns_queries(addr, o, ec).answered, 1u);  // defaults: RD, EDNS 1232
        o.recurse = false;
        o.edns_size = 4000;
        EXPECT_EQ(nettool::time_dns_queries(addr, o, ec).answered, 1u);
        o.edns = false;
        EXPECT_EQ(nettool::time_dns_queries(addr, o, ec).answered, 1u);
        std::this_thread::sleep_for(20ms);
        seen = srv.queries();
    }
    ASSERT_EQ(seen.size(), 3u);
    ldns_pkt* first = parse_query(seen[0]);
    ldns_pkt* second = parse_query(seen[1]);
    ldns_pkt* third = parse_query(seen[2]);
    ASSERT_TRUE(first && second && third);
    EXPECT_TRUE(ldns_pkt_rd(first));
    EXPECT_TRUE(ldns_pkt_edns(first));
    EXPECT_EQ(ldns_pkt_edns_udp_size(first), 1232);
    EXPECT_FALSE(ldns_pkt_rd(second));
    EXPECT_EQ(ldns_pkt_edns_udp_size(second), 4000);
    EXPECT_FALSE(ldns_pkt_edns(third));
    EXPECT_NE(ldns_pkt_id(first), ldns_pkt_id(second));  // random IDs
    ldns_pkt_free(first);
    ldns_pkt_free(second);
    ldns_pkt_free(third);
}

TEST(DnsLoad, SilentServerLosesEveryQuery) {
    silent_udp s;
    nettool::dns_load_options o;
    o.queries = {{"www.test.example", 1}};
    o.duration = 200ms;
    o.timeout = 100ms;
    o.concurrency = 5;
    std::error_code ec;
    const auto r = nettool::run_dns_load(dns_server{"127.0.0.1", s.port}, o, ec);
    ASSERT_FALSE(ec);
    EXPECT_GT(r.sent, 0u);
    // At most 5 outstanding: 5 at t=0, 5 more when those are lost at 100 ms, maybe 5 at 200 ms.
    EXPECT_GE(r.sent, 10u);
    EXPECT_LE(r.sent, 15u);
    EXPECT_EQ(r.lost, r.sent);
    EXPECT_EQ(r.answered, 0u);
    EXPECT_EQ(r.queries_per_second, 0.0);
}

TEST(DnsLoad, AnswersAfterTheTimeoutAreLate) {
    delayed_server srv{150ms};
    nettool::dns_load_options o;
    o.queries = {{"www.test.example", 1}};
    o.duration = 600ms;
    o.timeout = 50ms;
    o.concurrency = 2;
    std::error_code ec;
    const auto r = nettool::run_dns_load(dns_server{"127.0.0.1", srv.port()}, o, ec);
    ASSERT_FALSE(ec);
    EXPECT_GT(r.lost, 0u);
    EXPECT_GT(r.late, 0u);
    EXPECT_LE(r.late, r.lost);
    EXPECT_EQ(r.answered, 0u);
    EXPECT_EQ(r.ignored.total(), 0u);
}

TEST(DnsLoad, CliSilentServerExitsOne) {
    silent_udp s;
    temp_dir dir;
    const auto file = dir.path / "q.txt";
    std::ofstream{file} << "www.test.example A\n";
    auto r = run_nettool({"dns", "--queries", file.string(), "--server",
                          "127.0.0.1:" + std::to_string(s.port), "--duration", "0.2", "--timeout", "0.1"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
}

// ---------------------------------------------------------------------------------------------
// getaddrinfo

TEST(DnsSystem, LocalhostColdAndWarm) {
    const auto r = nettool::time_system_lookups("localhost", 3, 0ns);
    EXPECT_EQ(r.lookups, 3u);
    EXPECT_EQ(r.failures, 0u);
    ASSERT_TRUE(r.cold);
    EXPECT_GT(r.cold->count(), 0);
    EXPECT_EQ(r.warm.count(), 2u);
    EXPECT_TRUE(contains(r.addresses, "127.0.0.1") || contains(r.addresses, "::1"));
    EXPECT_TRUE(r.error.empty());
}

// A name that is not in /etc/hosts makes glibc ask the nameservers in /etc/resolv.conf, which
// on a test machine are outside. Such lookups run in a child with a private mount namespace
// whose /etc/resolv.conf names only 127.0.0.1, where nothing answers: the query never leaves
// loopback and fails at once.
nettool::test::process_result run_with_loopback_resolver(const std::vector<std::string>& nettool_args) {
    temp_dir dir;
    const auto conf = dir.path / "resolv.conf";
    std::ofstream{conf} << "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
    std::vector<std::string> argv{"unshare",
                                  "--mount",
                                  "--propagation",
                                  "private",
                                  "sh",
                                  "-c",
                                  "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"",
                                  conf.string(),
                                  NETTOOL_BIN};
    argv.insert(argv.end(), nettool_args.begin(), nettool_args.end());
    return nettool::test::run_process(argv, 60s);
}

TEST(DnsSystem, NonexistentNameFailsWithGaiReason) {
    if (!nettool::test::is_root())
        GTEST_SKIP() << "needs root for a private mount namespace (keeps the lookup on loopback)";
    // .invalid is reserved (RFC 6761): it never resolves.
    auto r = run_with_loopback_resolver(
        {"--json", "dns", "nettool-no-such-host.invalid", "--system", "--count", "2"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const auto j = nlohmann::json::parse(r.out)["system"];
    EXPECT_EQ(j["lookups"], 2);
    EXPECT_EQ(j["failures"], 2);
    EXPECT_TRUE(j["addresses"].empty());
    // getaddrinfo's own words, whichever failure glibc chose (no such name, or no answer).
    const std::string err = j["error"];
    EXPECT_TRUE(err == ::gai_strerror(EAI_NONAME) || err == ::gai_strerror(EAI_AGAIN) ||
                err == ::gai_strerror(EAI_FAIL))
        << err;
}

TEST(DnsSystem, CliSystemOnlyJson) {
    auto r = run_nettool({"dns", "localhost", "--system", "--count", "2", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_TRUE(j["servers"].empty());
    EXPECT_EQ(j["system"]["lookups"], 2);
    EXPECT_EQ(j["system"]["warm"]["count"], 1);
    EXPECT_TRUE(j["system"]["cold_us"].is_number());
    if (!nettool::test::is_root()) return;  // the failing lookup below needs the loopback resolver
    auto bad =
        run_with_loopback_resolver({"dns", "nettool-no-such-host.invalid", "--system", "--count", "1"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.out.find("getaddrinfo failed"), std::string::npos) << bad.out;
}

// ---------------------------------------------------------------------------------------------
// CLI usage errors: exit 2, one line, nothing sent

TEST(DnsCli, UsageErrorsExitTwo) {
    silent_udp s;  // would make the run take seconds if anything were sent
    const auto server = "127.0.0.1:" + std::to_string(s.port);
    auto long_label = run_nettool({"dns", std::string(64, 'a') + ".example", "--server", server});
    EXPECT_EQ(long_label.exit_code, 2);
    EXPECT_NE(long_label.err.find("invalid DNS name"), std::string::npos) << long_label.err;
    EXPECT_EQ(long_label.out, "");
    auto empty_label = run_nettool({"dns", "a..example", "--server", server});
    EXPECT_EQ(empty_label.exit_code, 2);
    const std::string l63(63, 'a');
    auto too_long = run_nettool({"dns", l63 + "." + l63 + "." + l63 + "." + l63, "--server", server});
    EXPECT_EQ(too_long.exit_code, 2);
    auto bad_type = run_nettool({"dns", "example", "--type", "BOGUS", "--server", server});
    EXPECT_EQ(bad_type.exit_code, 2);
    EXPECT_NE(bad_type.err.find("unknown query type 'BOGUS'"), std::string::npos) << bad_type.err;
    auto bad_server = run_nettool({"dns", "example", "--server", "not-an-address"});
    EXPECT_EQ(bad_server.exit_code, 2);
    EXPECT_NE(bad_server.err.find("bad --server: 'not-an-address'"), std::string::npos) << bad_server.err;
    auto no_name = run_nettool({"dns", "--server", server});
    EXPECT_EQ(no_name.exit_code, 2);
    auto load_no_server = run_nettool({"dns", "--queries", "/dev/null"});
    EXPECT_EQ(load_no_server.exit_code, 2);
    auto both = run_nettool({"dns", "example", "--system", "--server", server});
    EXPECT_EQ(both.exit_code, 2);
    auto bad_count = run_nettool({"dns", "example", "--server", server, "--count", "0"});
    EXPECT_EQ(bad_count.exit_code, 2);
    char buf[16];
    EXPECT_LT(::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT), 0) << "a query was sent despite the usage error";
}

// ---------------------------------------------------------------------------------------------
// Reports: results built by hand, so the table, records and readings are checked without a server.

using nettool::test::constant_histogram;

nettool::dns_timing_result sample_timing() {
    nettool::dns_timing_result r;
    r.query.name = "www.test.example";
    r.query.type = 1;
    r.query.count = 3;
    r.query.timeout = 200ms;
    nettool::system_lookup_result sys;
    sys.name = "www.test.example";
    sys.lookups = 3;
    sys.cold = 1500us;
    sys.warm = constant_histogram(40'000, 2);
    sys.addresses = {"192.0.2.10", "2001:db8::10"};
    r.system = sys;

    nettool::dns_query_result good;
    good.server = dns_server{"127.0.0.1", 5353};
    good.name = "www.test.example";
    good.sent = good.answered = 3;
    good.tcp_retries = 1;
    good.rtt = constant_histogram(180'000, 3);
    good.rcodes = {{"NOERROR", 3}};
    good.ignored.wrong_id = 2;
    good.last =
        nettool::dns_records{"NOERROR", true, false, {"www.test.example.\t0\tIN\tA\t192.0.2.10"}, {}, {}};
    nettool::dns_query_result silent;
    silent.server = dns_server{"::1", 53};
    silent.name = "www.test.example";
    silent.sent = silent.timeouts = 3;
    r.servers = {good, silent};
    return r;
}

TEST(DnsReport, TimingTableRecordsAndReadings) {
    const auto rep = make_report(sample_timing());
    EXPECT_EQ(rep.command(), "dns");
    ASSERT_EQ(rep.tables().size(), 2u);  // the silent server has no records to show
    const auto& t = rep.tables()[0];
    EXPECT_EQ(t.title, "DNS lookup times for www.test.example A (3 each)");
    EXPECT_EQ(t.header, (std::vector<std::string>{"resolver", "transport", "answered", "timeouts", "first",
                                                  "min", "p50", "mean", "max", "result"}));
    ASSERT_EQ(t.rows.size(), 3u);
    EXPECT_EQ(t.rows[0],
              (std::vector<std::string>{"system (getaddrinfo)", "A+AAAA", "3", "-", "1.50 ms", "40.0 us",
                                        "40.0 us", "40.0 us", "40.0 us", "2 addresses"}));
    EXPECT_EQ(t.rows[1],
              (std::vector<std::string>{"127.0.0.1:5353", "udp (+1 tcp)", "3", "0", "-", "180.0 us",
                                        "180.0 us", "180.0 us", "180.0 us", "NOERROR:3"}));
    EXPECT_EQ(t.rows[2],
              (std::vector<std::string>{"[::1]:53", "udp", "0", "3", "-", "-", "-", "-", "-", "-"}));

    const auto& rec = rep.tables()[1];
    EXPECT_EQ(rec.title, "Response from 127.0.0.1:5353 (NOERROR, authoritative)");
    EXPECT_EQ(rec.header, (std::vector<std::string>{"section", "name", "ttl", "class", "type", "data"}));
    EXPECT_EQ(rec.rows.at(0),
              (std::vector<std::string>{"answer", "www.test.example.", "0", "IN", "A", "192.0.2.10"}));

    EXPECT_EQ(
        rep.readings(),
        (std::vector<std::string>{
            "The system resolver returned 192.0.2.10, 2001:db8::10 for www.test.example; the first lookup "
            "took 1.50 ms, repeated ones 40.0 us (median).",
            "2 datagrams ignored while waiting on 127.0.0.1:5353: 2 wrong ID, 0 wrong source, 0 wrong "
            "question, 0 malformed, 0 larger than the query allowed.",
            "1 answers from 127.0.0.1:5353 were truncated and asked again over TCP.",
            "[::1]:53 did not answer any of 3 queries within 200.0 ms each."}));
}

TEST(DnsReport, TimingJsonKeys) {
    const auto j = make_report(sample_timing()).to_json();
    EXPECT_EQ(j["command"], "dns");
    EXPECT_EQ(j["mode"], "timing");
    EXPECT_EQ(j["name"], "www.test.example");
    EXPECT_EQ(j["type"], "A");
    EXPECT_EQ(j["count"], 3);
    EXPECT_EQ(j["system"]["lookups"], 3);
    ASSERT_EQ(j["servers"].size(), 2u);
    EXPECT_EQ(j["servers"][0]["server"], "127.0.0.1:5353");
    EXPECT_EQ(j["servers"][0]["response"]["answer"][0], "www.test.example.\t0\tIN\tA\t192.0.2.10");
    EXPECT_EQ(j["readings"].size(), 4u);
}

TEST(DnsReport, NoServerInResolvConfSaysOnlyTheSystemResolverWasTimed) {
    auto r = sample_timing();
    r.servers.clear();
    r.resolv_conf = "/tmp/empty-resolv.conf";
    auto rep = make_report(r);
    ASSERT_FALSE(rep.readings().empty());
    EXPECT_EQ(rep.readings().back(),
              "No nameserver found in /tmp/empty-resolv.conf; only the system resolver was timed.");
    EXPECT_TRUE(rep.to_json()["servers"].empty());

    // Servers given on the command line and the system resolver not asked: system is null.
    r = sample_timing();
    r.system.reset();
    rep = make_report(r);
    EXPECT_TRUE(rep.to_json()["system"].is_null());
    EXPECT_EQ(rep.tables()[0].rows.size(), 2u);
    EXPECT_EQ(rep.readings().front().rfind("2 datagrams ignored", 0), 0u);

    // Every getaddrinfo call failed: the reason is the result cell and the reading.
    r = sample_timing();
    r.system->failures = 3;
    r.system->error = "Name or service not known";
    rep = make_report(r);
    EXPECT_EQ(rep.tables()[0].rows[0].back(), "Name or service not known");
    EXPECT_EQ(rep.readings().front(), "getaddrinfo failed for www.test.example: Name or service not known.");
}

TEST(DnsReport, LoadTableAndJson) {
    nettool::dns_load_result r;
    r.server = dns_server{"127.0.0.1", 5353};
    r.sent = 1000;
    r.answered = 990;
    r.lost = 10;
    r.elapsed = 2s;
    r.queries_per_second = 495;
    r.latency = constant_histogram(100'000, 990);
    r.rcodes = {{"NOERROR", 900}, {"NXDOMAIN", 90}};
    nettool::dns_load_options o;
    o.queries = {{"www.test.example", 1}, {"test.example", 15}};
    o.concurrency = 10;
    o.rate = 500;
    const auto rep = make_report(r, o, "queries.txt");

    ASSERT_EQ(rep.tables().size(), 1u);
    const auto& t = rep.tables()[0];
    EXPECT_EQ(t.title, "DNS load against 127.0.0.1:5353 (2 queries in file, concurrency 10)");
    EXPECT_EQ(t.header, (std::vector<std::string>{"sent", "answered", "lost", "late", "qps", "min", "p50",
                                                  "p99", "max", "rcodes"}));
    EXPECT_EQ(t.rows.at(0),
              (std::vector<std::string>{"1000", "990", "10", "0", "495 q/s", "100.0 us", "100.0 us",
                                        "100.0 us", "100.0 us", "NOERROR:900 NXDOMAIN:90"}));
    EXPECT_EQ(rep.readings(),
              (std::vector<std::string>{
                  "127.0.0.1:5353 answered 495 queries/s in 2.00 s, 1.00% of the queries lost."}));
    const auto j = rep.to_json();
    EXPECT_EQ(j["mode"], "load");
    EXPECT_EQ(j["query_file"], "queries.txt");
    EXPECT_EQ(j["queries_in_file"], 2);
    EXPECT_EQ(j["concurrency"], 10);
    EXPECT_EQ(j["rate_limit_qps"], 500);
    EXPECT_EQ(j["load"]["answered"], 990);
}

}  // namespace
