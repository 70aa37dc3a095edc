// inspect: synthetic captures with known TCP/UDP/DNS events, the flow-table bound, the CLI
// contract, and robustness over every capture of tcpdump's test suite.
#include <nettool/packet/inspect.hpp>

#include <nettool/core/error.hpp>

#include "support/process.hpp"
#include "support/synth.hpp"
#include "support/files.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pcap.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace nettool;
using nettool::test::pcap_synth;
using nettool::test::run_nettool;

constexpr std::uint32_t client = 0xc0000201;  // 192.0.2.1
constexpr std::uint32_t server = 0xc0000202;  // 192.0.2.2
constexpr std::uint8_t SYN = 0x02, ACK = 0x10, PSH = 0x08, RST = 0x04;

using nettool::test::temp_path;

/// A TCP connection with a handshake, a fast retransmission after three duplicate ACKs, an RTO
/// retransmission, an out-of-order segment, a zero window and a reset; UDP both ways; one DNS
/// query answered NXDOMAIN after 1.5 ms.
void write_scenario(const std::string& path) {
    pcap_synth s{path};
    ASSERT_TRUE(s.ok());
    s.write(0, pcap_synth::tcp(client, 40000, server, 80, 1000, 0, SYN, 65535, 0));
    s.write(1000, pcap_synth::tcp(server, 80, client, 40000, 5000, 1001, SYN | ACK, 65535, 0));
    s.write(2000, pcap_synth::tcp(client, 40000, server, 80, 1001, 5001, ACK, 65535, 0));
    s.write(3000, pcap_synth::tcp(client, 40000, server, 80, 1001, 5001, ACK | PSH, 65535, 100));
    s.write(4000, pcap_synth::tcp(client, 40000, server, 80, 1101, 5001, ACK | PSH, 65535, 100));
    s.write(5000, pcap_synth::tcp(server, 80, client, 40000, 5001, 1101, ACK, 1000, 0));
    for (int i = 0; i < 3; ++i)  // three duplicate ACKs
        s.write(6000 + i * 1000, pcap_synth::tcp(server, 80, client, 40000, 5001, 1101, ACK, 1000, 0));
    s.write(9000, pcap_synth::tcp(client, 40000, server, 80, 1101, 5001, ACK | PSH, 65535,
                                  100));  // fast retransmission
    s.write(300000, pcap_synth::tcp(client, 40000, server, 80, 1101, 5001, ACK | PSH, 65535,
                                    100));  // RTO retransmission
    s.write(312000, pcap_synth::tcp(client, 40000, server, 80, 1301, 5001, ACK | PSH, 65535,
                                    100));  // 1201..1301 missing
    s.write(312500,
            pcap_synth::tcp(client, 40000, server, 80, 1201, 5001, ACK | PSH, 65535, 100));  // out of order
    s.write(315000, pcap_synth::tcp(server, 80, client, 40000, 5001, 1401, ACK, 0, 0));      // zero window
    s.write(320000, pcap_synth::tcp(client, 40000, server, 80, 1401, 5001, RST, 0, 0));
    for (int i = 0; i < 10; ++i)
        s.write(330000 + i * 100,
                pcap_synth::udp(client, 5000, server, 6000, std::vector<std::uint8_t>(32, 1)));
    for (int i = 0; i < 3; ++i)
        s.write(340000 + i * 100,
                pcap_synth::udp(server, 6000, client, 5000, std::vector<std::uint8_t>(16, 2)));
    s.write(400000,
            pcap_synth::udp(client, 33333, server, 53, pcap_synth::dns(0x1111, false, 0, "nx.example.test")));
    s.write(401500,
            pcap_synth::udp(server, 53, client, 33333, pcap_synth::dns(0x1111, true, 3, "nx.example.test")));
}

TEST(Inspect, SyntheticScenarioCountsEveryEvent) {
    auto path = temp_path("scenario.pcap");
    write_scenario(path);
    std::error_code ec;
    auto r = inspect_file(path, {}, ec);
    fs::remove(path);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.packets, 30u);
    EXPECT_EQ(r.link_type_name, "EN10MB");
    EXPECT_EQ(r.protocols.ipv4, 30u);
    EXPECT_EQ(r.protocols.tcp, 15u);
    EXPECT_EQ(r.protocols.udp, 15u);
    EXPECT_EQ(r.protocols.dns, 2u);
    EXPECT_EQ(r.duration, std::chrono::microseconds{401500});

    EXPECT_EQ(r.tcp.connections, 1u);
    EXPECT_EQ(r.tcp.handshakes, 1u);
    EXPECT_EQ(r.tcp.totals.retransmissions, 2u);
    EXPECT_EQ(r.tcp.totals.fast_retransmissions, 1u);
    EXPECT_EQ(r.tcp.totals.duplicate_acks, 3u);
    EXPECT_EQ(r.tcp.totals.out_of_order, 1u);
    EXPECT_EQ(r.tcp.totals.zero_windows, 1u);
    EXPECT_EQ(r.tcp.totals.resets, 1u);

    ASSERT_EQ(r.conversations.size(), 3u);
    auto tcp = std::find_if(r.conversations.begin(), r.conversations.end(),
                            [](const conversation& c) { return c.protocol == "tcp"; });
    ASSERT_NE(tcp, r.conversations.end());
    EXPECT_EQ(tcp->address_a, "192.0.2.1");
    EXPECT_EQ(tcp->port_a, 40000);
    EXPECT_EQ(tcp->port_b, 80);
    EXPECT_EQ(tcp->packets_a_to_b, 9u);
    EXPECT_EQ(tcp->packets_b_to_a, 6u);
    ASSERT_TRUE(tcp->handshake_rtt);
    EXPECT_EQ(*tcp->handshake_rtt, std::chrono::microseconds{2000});
    EXPECT_EQ(*tcp->syn_to_synack, std::chrono::microseconds{1000});

    auto udp = totals_for_port(r, "udp", 6000);
    EXPECT_EQ(udp.conversations, 1u);
    EXPECT_EQ(udp.packets_to_port, 10u);
    EXPECT_EQ(udp.packets_from_port, 3u);
    auto web = totals_for_port(r, "tcp", 80);
    EXPECT_EQ(web.tcp.retransmissions, 2u);
    EXPECT_EQ(web.tcp.duplicate_acks, 3u);

    EXPECT_EQ(r.dns.queries, 1u);
    EXPECT_EQ(r.dns.responses, 1u);
    EXPECT_EQ(r.dns.answered, 1u);
    EXPECT_EQ(r.dns.rcodes[3], 1u);
    EXPECT_EQ(r.dns.latency.count(), 1u);
    EXPECT_NEAR(static_cast<double>(r.dns.latency.max()), 1.5e6, 1.5e4);

    // Hierarchy: frame > eth > ip > {tcp, udp > dns}.
    ASSERT_EQ(r.hierarchy.children.size(), 1u);
    const auto& ip = r.hierarchy.children[0].children.at(0);
    EXPECT_EQ(ip.name, "ip");
    EXPECT_EQ(ip.packets, 30u);
}

TEST(Inspect, FlowTableIsBoundedAndCountsEvictions) {
    auto path = temp_path("flows.pcap");
    {
        pcap_synth s{path};
        ASSERT_TRUE(s.ok());
        for (int i = 0; i < 50; ++i)
            s.write(i * 10,
                    pcap_synth::udp(client, static_cast<std::uint16_t>(10000 + i), server, 7, {1, 2, 3}));
    }
    inspect_options o;
    o.max_flows = 10;
    std::error_code ec;
    auto r = inspect_file(path, o, ec);
    fs::remove(path);
    ASSERT_FALSE(ec);
    EXPECT_EQ(r.flows_seen, 50u);
    EXPECT_EQ(r.flows_evicted, 40u);
    ASSERT_EQ(r.conversations.size(), 10u);
    // The most recently seen flows are the ones kept.
    for (const auto& c : r.conversations) EXPECT_GE(c.port_a, 10040);
    EXPECT_EQ(r.protocols.udp, 50u);
    EXPECT_FALSE(r.notes.empty());
}

TEST(Inspect, ProgressIsReportedOnLargeFiles) {
    auto path = temp_path("progress.pcap");
    {
        pcap_synth s{path};
        ASSERT_TRUE(s.ok());
        auto frame = pcap_synth::udp(client, 1000, server, 2000, {1, 2, 3, 4});
        for (int i = 0; i < 70000; ++i) s.write(i, frame);
    }
    inspect_options o;
    std::vector<inspect_progress> calls;
    o.on_progress = [&calls](const inspect_progress& p) { calls.push_back(p); };
    std::error_code ec;
    auto r = inspect_file(path, o, ec);
    auto size = fs::file_size(path);
    fs::remove(path);
    ASSERT_FALSE(ec);
    EXPECT_EQ(r.packets, 70000u);
    ASSERT_FALSE(calls.empty());
    EXPECT_EQ(calls[0].packets, 65536u);
    EXPECT_EQ(calls[0].file_size, size);
    EXPECT_GT(calls[0].file_offset, 0u);
    EXPECT_LE(calls[0].file_offset, size);
}

TEST(Inspect, FileCutInsideARecordKeepsWhatWasRead) {
    auto path = temp_path("cut.pcap");
    write_scenario(path);
    fs::resize_file(path, fs::file_size(path) - 5);
    std::error_code ec;
    auto r = inspect_file(path, {}, ec);
    fs::remove(path);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.packets, 29u);
    ASSERT_FALSE(r.notes.empty());
    EXPECT_NE(r.notes.back().find("reading stopped early"), std::string::npos) << r.notes.back();
}

TEST(InspectCli, JsonContract) {
    auto path = temp_path("cli.pcap");
    write_scenario(path);
    auto res = run_nettool({"inspect", path, "--json"});
    fs::remove(path);
    ASSERT_EQ(res.exit_code, 0) << res.err;
    auto j = nlohmann::json::parse(res.out);
    EXPECT_EQ(j["command"], "inspect");
    EXPECT_EQ(j["packets"], 30);
    EXPECT_TRUE(j["bytes"].is_number());
    for (const char* k : {"ipv4", "ipv6", "tcp", "udp", "icmp", "arp", "dns"})
        EXPECT_TRUE(j["protocols"][k].is_number()) << k;
    ASSERT_TRUE(j["conversations"].is_array());
    for (const auto& c : j["conversations"]) {
        EXPECT_TRUE(c["protocol"] == "tcp" || c["protocol"] == "udp");
        EXPECT_TRUE(c["address_a"].is_string());
        EXPECT_TRUE(c["packets_a_to_b"].is_number());
    }
    EXPECT_EQ(j["tcp"]["retransmissions"], 2);
    EXPECT_EQ(j["dns"]["rcodes"]["NXDOMAIN"], 1);
}

TEST(InspectCli, TextTablesNameTheSections) {
    auto path = temp_path("text.pcap");
    write_scenario(path);
    auto res = run_nettool({"inspect", path});
    fs::remove(path);
    ASSERT_EQ(res.exit_code, 0) << res.err;
    for (const char* s :
         {"Summary", "Protocol hierarchy", "Conversations", "TCP analysis", "DNS", "192.0.2.1:40000"})
        EXPECT_NE(res.out.find(s), std::string::npos) << s;
}

TEST(InspectCli, MissingFileIsOneLineExitTwo) {
    auto res = run_nettool({"inspect", "/nonexistent/nettool.pcap"});
    EXPECT_EQ(res.exit_code, 2);  // the user named a file that is not there: as in classify -f
    EXPECT_EQ(res.err, "nettool: inspect: /nonexistent/nettool.pcap: No such file or directory\n");
    EXPECT_TRUE(res.out.empty());
}

TEST(InspectCli, NotACaptureIsOneLineExitTwo) {
    auto res = run_nettool({"inspect", std::string{NETTOOL_SOURCE_DIR} + "/CMakeLists.txt"});
    EXPECT_EQ(res.exit_code, 2);
    EXPECT_EQ(std::count(res.err.begin(), res.err.end(), '\n'), 1);
    EXPECT_NE(res.err.find("not a pcap or pcapng file"), std::string::npos) << res.err;
}

TEST(InspectCli, UnsupportedLinkTypeIsANoteNotACrash) {
    auto path = temp_path("ppp.pcap");
    {
        pcap_synth s{path, 9};  // LINKTYPE_PPP: libpcap names it, nettool does not decode it
        ASSERT_TRUE(s.ok());
        s.write(0, {1, 2, 3, 4});
    }
    auto res = run_nettool({"inspect", path, "--json"});
    fs::remove(path);
    ASSERT_EQ(res.exit_code, 0) << res.err;
    auto j = nlohmann::json::parse(res.out);
    EXPECT_EQ(j["packets"], 1);
    ASSERT_FALSE(j["notes"].empty());
    EXPECT_NE(j["notes"][0].get<std::string>().find("unsupported link type 9 (PPP)"), std::string::npos);
}

// ---- robustness over tcpdump's test captures -------------------------------------------------

std::vector<fs::path> corpus_files() {
    std::vector<fs::path> files;
    fs::path dir = fs::path{NETTOOL_CORPUS_DIR} / "tcpdump-tests";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

TEST(InspectCorpus, EveryTcpdumpTestCaptureInspectsCleanly) {
    auto files = corpus_files();
    if (files.empty()) GTEST_SKIP() << "no corpus at " << NETTOOL_CORPUS_DIR << "/tcpdump-tests";
    std::size_t read = 0, refused = 0;
    for (const auto& f : files) {
        nettool::inspect_result r;
        try {
            r = inspect_file(f.string());
        } catch (const nettool::error& e) {
            // Only "libpcap cannot read this file" is acceptable, with a reason.
            EXPECT_EQ(e.code(), nettool::make_error_code(nettool::errc::malformed)) << f;
            EXPECT_NE(std::string{e.what()}.find("not a pcap"), std::string::npos) << f << ": " << e.what();
            ++refused;
            continue;
        }
        ++read;
        EXPECT_EQ(r.hierarchy.packets, r.packets) << f;
        EXPECT_LE(r.protocols.tcp, r.packets) << f;
        EXPECT_LE(r.protocols.ipv4 + r.protocols.ipv6 + r.protocols.arp, 2 * r.packets + 1) << f;
        EXPECT_LE(r.captured_bytes, r.bytes + r.captured_bytes) << f;
        std::uint64_t conv_packets = 0;
        for (const auto& c : r.conversations) conv_packets += c.packets();
        EXPECT_LE(conv_packets, r.packets) << f;
        auto j = nlohmann::json(r);  // the JSON rendering must not throw either
        EXPECT_TRUE(j.contains("packets"));
        (void)make_report(r).to_text();
    }
    EXPECT_GT(read, files.size() * 9 / 10);
    RecordProperty("read", static_cast<int>(read));
    RecordProperty("refused", static_cast<int>(refused));
}

TEST(InspectCorpus, SomeCapturesThroughTheCli) {
    auto files = corpus_files();
    if (files.empty()) GTEST_SKIP() << "no corpus";
    const std::size_t step = std::max<std::size_t>(1, files.size() / 8);
    for (std::size_t i = 0; i < files.size(); i += step) {
        auto res = run_nettool({"inspect", files[i].string(), "--json"});
        EXPECT_TRUE(res.exit_code == 0 || res.exit_code == 2) << files[i] << res.err;
        if (res.exit_code == 0) {
            EXPECT_TRUE(nlohmann::json::accept(res.out)) << files[i];
        } else {
            EXPECT_EQ(std::count(res.err.begin(), res.err.end(), '\n'), 1) << files[i];
        }
    }
}

// Cut each packet of a set of captures at every length and decode the prefix (a fresh buffer of
// exactly that size, so the sanitizer sees any read past it).
TEST(InspectCorpus, EveryPacketCutAtEveryLength) {
    const char* names[] = {"dns_tcp.pcap",
                           "802.1ad_QinQ.pcap",
                           "bigtcp-ipv6-hbh.pcap",
                           "dns-zlip-1.pcap",
                           "dns_fwdptr.pcap",
                           "tcp-handshake-nano.pcap",
                           "ip6_frag_asan.pcap",
                           "LINKTYPE_RAW_ipv6.pcap",
                           "icmp-cksum-oobr-3.pcapng",
                           "tcp_header_heapoverflow.pcap",
                           "mptcp-v1.pcap",
                           "loopback.pcap",
                           "ipv4_tcp_http_xml.pcap",
                           "tcp_rst_data-trunc.pcap",
                           "ipv6_frag6_negative_len.pcap"};
    if (corpus_files().empty()) GTEST_SKIP() << "no corpus at " << NETTOOL_CORPUS_DIR << "/tcpdump-tests";
    std::size_t packets = 0;
    for (const char* n : names) {
        auto path = fs::path{NETTOOL_CORPUS_DIR} / "tcpdump-tests" / n;
        char err[PCAP_ERRBUF_SIZE];
        pcap_t* p = pcap_open_offline(path.c_str(), err);
        if (p == nullptr) continue;
        int lt = pcap_datalink(p);
        pcap_pkthdr* h;
        const u_char* d;
        int count = 0;
        while (pcap_next_ex(p, &h, &d) == 1 && count++ < 200) {
            ++packets;
            std::vector<std::byte> full(reinterpret_cast<const std::byte*>(d),
                                        reinterpret_cast<const std::byte*>(d) + h->caplen);
            auto whole = decode(lt, full);
            for (std::size_t len = 0; len <= full.size(); ++len) {
                std::vector<std::byte> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
                auto r = decode(lt, cut);
                if (len < 4 && is_supported_link_type(lt)) {
                    EXPECT_EQ(r.stop, decode_stop::truncated) << n;
                }
                if (len == full.size()) {
                    EXPECT_EQ(r.stop, whole.stop);
                }
                if (r.dns) (void)r.dns->first_question();
                if (r.tcp) (void)r.tcp->options();
            }
        }
        pcap_close(p);
    }
    EXPECT_GT(packets, 20u);
}

}  // namespace
