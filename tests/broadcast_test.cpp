// Broadcast frames and datagrams: byte layouts, the bounds-checked decoders (with truncation
// sweeps), CLI errors, and end-to-end runs between hosts built in network namespaces (a bridge as
// the switch, a router to a second subnet) with tcpdump/tshark as the oracle for WoL bytes.
#include <nettool/netclass/broadcast.hpp>

#include "support/netns_lab.hpp"
#include "support/process.hpp"
#include "support/files.hpp"

#include <nettool/core/error.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <future>
#include <sstream>
#include <thread>

namespace {

using namespace nettool;

using nettool::test::count_lines;

std::vector<std::byte> B(std::initializer_list<int> v) {
    std::vector<std::byte> b;
    for (int x : v) b.push_back(std::byte{static_cast<std::uint8_t>(x)});
    return b;
}

const mac_address wol_target = *mac_address::parse("02:00:5e:10:20:30");

TEST(Wol, MagicPacketLayout) {
    const auto p = build_wol_payload(wol_target);
    ASSERT_EQ(p.size(), 102u);
    for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(p[i], std::byte{0xFF});
    for (std::size_t rep = 0; rep < 16; ++rep)
        for (std::size_t k = 0; k < 6; ++k) EXPECT_EQ(p[6 + rep * 6 + k], std::byte{wol_target.bytes[k]}) << rep;
    const std::vector<std::uint8_t> pw{1, 2, 3, 4};
    const auto q = build_wol_payload(wol_target, pw);
    ASSERT_EQ(q.size(), 106u);
    EXPECT_EQ(q[102], std::byte{1});
    EXPECT_EQ(q[105], std::byte{4});
}

TEST(Wol, ParseRoundTripAndRejects) {
    std::error_code ec;
    auto w = parse_wol_payload(build_wol_payload(wol_target), ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(w.target, wol_target);
    EXPECT_TRUE(w.password.empty());
    const std::vector<std::uint8_t> pw{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    w = parse_wol_payload(build_wol_payload(wol_target, pw), ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(w.password, pw);

    auto bad = build_wol_payload(wol_target);
    bad[50] = std::byte{0x99};  // one repetition differs
    (void)parse_wol_payload(bad, ec);
    EXPECT_EQ(ec, make_error_code(errc::malformed));
    const std::string text = "just some text";
    (void)parse_wol_payload(std::as_bytes(std::span(text.data(), text.size())), ec);
    EXPECT_EQ(ec, make_error_code(errc::malformed));
}

TEST(Wol, EveryPrefixIsTruncated) {
    const auto p = build_wol_payload(wol_target);
    for (std::size_t n = 0; n < p.size(); ++n) {
        std::error_code ec;
        (void)parse_wol_payload(std::span(p.data(), n), ec);
        EXPECT_EQ(ec, make_error_code(errc::truncated)) << n;
    }
}

TEST(Wol, PasswordSpellings) {
    EXPECT_EQ(parse_wol_password("aa:bb:cc:dd:ee:ff")->size(), 6u);
    EXPECT_EQ(parse_wol_password("192.0.2.1"), (std::vector<std::uint8_t>{192, 0, 2, 1}));
    EXPECT_FALSE(parse_wol_password("secret"));
    EXPECT_FALSE(parse_wol_password("aa:bb:cc"));
}

TEST(Ethernet, FrameLayoutAndPadding) {
    const auto src = *mac_address::parse("02:00:00:00:00:aa");
    const auto all = *mac_address::parse("ff:ff:ff:ff:ff:ff");
    const std::string msg = "hi";
    const auto f =
        build_ethernet_frame(all, src, ethertype_local_experimental, std::as_bytes(std::span(msg.data(), 2)));
    ASSERT_EQ(f.size(), 60u);
    EXPECT_EQ(f[0], std::byte{0xFF});
    EXPECT_EQ(f[6], std::byte{0x02});
    EXPECT_EQ(f[11], std::byte{0xAA});
    EXPECT_EQ(f[12], std::byte{0x88});
    EXPECT_EQ(f[13], std::byte{0xB5});
    EXPECT_EQ(f[14], std::byte{'h'});
    std::error_code ec;
    const auto fr = parse_ethernet_frame(f, ec);
    ASSERT_FALSE(ec);
    const auto* v = &fr;
    EXPECT_TRUE(v->destination.is_broadcast());
    EXPECT_EQ(v->source, src);
    EXPECT_EQ(v->ethertype, 0x88B5);
    EXPECT_EQ(v->payload.size(), 46u);
    EXPECT_EQ(printable_text(v->payload), "hi");
}

TEST(Ethernet, VlanTagAndTruncation) {
    auto f =
        B({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x81, 0x00, 0x20, 0x05, 0x08, 0x42, 'x'});
    std::error_code ec;
    const auto fr = parse_ethernet_frame(f, ec);
    ASSERT_FALSE(ec);
    const auto* v = &fr;
    EXPECT_EQ(v->vlan, 5);
    EXPECT_EQ(v->ethertype, 0x0842);
    EXPECT_EQ(v->payload.size(), 1u);
    for (std::size_t n = 0; n < 18; ++n) {
        (void)parse_ethernet_frame(std::span(f.data(), n), ec);
        EXPECT_EQ(ec, make_error_code(errc::truncated)) << n;
    }
}

TEST(Ethernet, EthertypeAndTextHelpers) {
    EXPECT_EQ(parse_ethertype("0x88b5"), 0x88B5);
    EXPECT_EQ(parse_ethertype("2114"), 0x0842);
    EXPECT_FALSE(parse_ethertype("0x05ff"));  // a length, not an EtherType
    EXPECT_FALSE(parse_ethertype("0x10000"));
    EXPECT_FALSE(parse_ethertype("zz"));
    const auto b = B({'a', '\\', 0x01, 'z', 0, 0});
    EXPECT_EQ(printable_text(b), "a\\\\\\x01z");
}

TEST(BroadcastCli, UsageErrorsAreOneLineExitTwo) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"wol", "00:11:22:33:4:55", "-i", "lo"}, "invalid MAC"},
        {{"wol", "00:11:22:33:44:55"}, "interface"},
        {{"wol", "00:11:22:33:44:55", "-i", "ntnosuchif0"}, "no such network interface"},
        {{"wol", "00:11:22:33:44:55", "-i", "lo", "--password", "hunter2"}, "password"},
        {{"broadcast", "--udp", "9"}, "interface"},
        {{"broadcast", "-i", "ntnosuchif0", "--udp", "9"}, "no such network interface"},
        {{"broadcast", "-i", "lo"}, "--udp PORT or --ether"},
        {{"broadcast", "-i", "lo", "--udp", "70000"}, "port"},
        {{"broadcast", "-i", "lo", "--udp", "9", "-c", "5", "--interval", "0.01"}, "rate cap"},
        {{"broadcast", "-i", "lo", "--udp", "9", "-c", "1000000"}, "--count"},
        {{"broadcast", "-i", "lo", "--ether", "--ethertype", "0x0100"}, "EtherType"},
        {{"listen", "--ether"}, "-i IFACE"},
        {{"listen"}, "--udp PORT or --ether"},
    };
    for (const auto& [args, words] : cases) {
        auto r = test::run_nettool(args);
        EXPECT_EQ(r.exit_code, 2) << args[0] << " " << r.err;
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(count_lines(r.err), 1u) << r.err;
        EXPECT_NE(r.err.find(words), std::string::npos) << r.err;
    }
}

TEST(BroadcastCli, MissingPrivilegeForRawFramesIsExitOne) {
    if (!test::is_root()) {
        // Unprivileged: libpcap cannot open lo, so nothing is sent.
        auto r = test::run_nettool({"broadcast", "-i", "lo", "--ether"});
        EXPECT_EQ(r.exit_code, 1) << r.err;
        EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
        EXPECT_EQ(count_lines(r.err), 1u);
        return;
    }
    // Root: drop every capability inside a namespace of our own, so even a bug sends nowhere real.
    test::netns_lab lab("p");
    const auto ns = lab.add_namespace("x");
    ASSERT_FALSE(ns.empty()) << lab.errors();
    auto r = lab.exec(ns, {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                           NETTOOL_BIN, "wol", "00:11:22:33:44:55", "-i", "lo"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
}

// ---- end to end between namespaces

// ---- reports, from results built by hand

TEST(BroadcastReport, UdpRowReadingAndJson) {
    const auto rep = make_report(broadcast_result{.interface = "eth1",
                                                  .udp = true,
                                                  .destination = *ip_address::parse("192.0.2.255"),
                                                  .port = 5000,
                                                  .sent = 3,
                                                  .bytes = 81,
                                                  .interval_s = 0.5});
    EXPECT_EQ(rep.command(), "broadcast");
    ASSERT_EQ(rep.tables().size(), 1u);
    EXPECT_EQ(rep.tables()[0].header,
              (std::vector<std::string>{"interface", "mode", "destination", "sent", "bytes"}));
    EXPECT_EQ(rep.tables()[0].rows.at(0),
              (std::vector<std::string>{"eth1", "UDP", "192.0.2.255:5000", "3", "81 B"}));
    EXPECT_EQ(rep.readings(),
              (std::vector<std::string>{"3 broadcast message(s) sent on eth1; every host on that "
                                        "segment receives them, no router forwards them."}));
    const auto j = rep.to_json();
    EXPECT_EQ(j["mode"], "udp");
    EXPECT_EQ(j["destination"], "192.0.2.255");
    EXPECT_EQ(j["port"], 5000);
    EXPECT_EQ(j["sent"], 3);
    EXPECT_EQ(j["bytes"], 81);
    EXPECT_EQ(j["interval_s"], 0.5);
    EXPECT_FALSE(j.contains("source_mac"));
    EXPECT_FALSE(j.contains("ethertype"));
}

TEST(BroadcastReport, RawFramesNameTheirEthertypeAndSource) {
    const auto rep = make_report(
        broadcast_result{.interface = "eth1", .udp = false, .source_mac = wol_target, .sent = 1, .bytes = 60});
    EXPECT_EQ(rep.tables().at(0).rows.at(0),
              (std::vector<std::string>{"eth1", "Ethernet 0x88b5", "ff:ff:ff:ff:ff:ff", "1", "60 B"}));
    const auto j = rep.to_json();
    EXPECT_EQ(j["mode"], "ether");
    EXPECT_EQ(j["destination"], "ff:ff:ff:ff:ff:ff");
    EXPECT_EQ(j["source_mac"], "02:00:5e:10:20:30");
    EXPECT_EQ(j["ethertype"], "0x88b5");
    EXPECT_FALSE(j.contains("port"));
}

TEST(WolReport, RawFrameAndUdp) {
    auto rep =
        make_report(wol_result{.target = wol_target, .interface = "eth1", .payload_bytes = 102, .sent = 2});
    EXPECT_EQ(rep.command(), "wol");
    EXPECT_EQ(rep.tables().at(0).header,
              (std::vector<std::string>{"target", "interface", "sent as", "payload"}));
    EXPECT_EQ(rep.tables().at(0).rows.at(0),
              (std::vector<std::string>{"02:00:5e:10:20:30", "eth1", "Ethernet 0x0842 to ff:ff:ff:ff:ff:ff",
                                        "102 bytes"}));
    EXPECT_EQ(rep.readings(), (std::vector<std::string>{
                                  "Magic packet for 02:00:5e:10:20:30 sent 2 time(s); the machine wakes if "
                                  "its NIC has WoL enabled and it sits on eth1's segment."}));
    auto j = rep.to_json();
    EXPECT_EQ(j["mode"], "ether");
    EXPECT_EQ(j["destination"], "ff:ff:ff:ff:ff:ff");
    EXPECT_EQ(j["ethertype"], "0x0842");
    EXPECT_EQ(j["password"], false);
    EXPECT_EQ(j["sent"], 2);

    rep = make_report(wol_result{.target = wol_target,
                                 .interface = "eth1",
                                 .udp = true,
                                 .destination = ip_address::v4(0xFFFFFFFFU),
                                 .port = 7,
                                 .payload_bytes = 106,
                                 .password = true,
                                 .sent = 1});
    EXPECT_EQ(rep.tables().at(0).rows.at(0).at(2), "UDP to 255.255.255.255:7");
    EXPECT_EQ(rep.tables().at(0).rows.at(0).at(3), "106 bytes (with SecureOn password)");
    j = rep.to_json();
    EXPECT_EQ(j["mode"], "udp");
    EXPECT_EQ(j["destination"], "255.255.255.255:7");
    EXPECT_FALSE(j.contains("ethertype"));
    EXPECT_EQ(j["payload_bytes"], 106);
    EXPECT_EQ(j["password"], true);
}

// h1, h2 and the router share a bridge (the switch, in its own namespace); the router's second
// leg reaches h3 on 198.51.100.0/24.
class BroadcastLab : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::is_root()) GTEST_SKIP() << "needs root to build network namespaces (ip netns add)";
        sw = lab.add_namespace("sw");
        h1 = lab.add_namespace("h1");
        h2 = lab.add_namespace("h2");
        rt = lab.add_namespace("rt");
        h3 = lab.add_namespace("h3");
        ASSERT_FALSE(sw.empty() || h1.empty() || h2.empty() || rt.empty() || h3.empty()) << lab.errors();
        bool ok =
            lab.ip(sw, {"link", "add", "br0", "type", "bridge"}) && lab.ip(sw, {"link", "set", "br0", "up"});
        ok = ok && lab.veth(h1, "e0", sw, "p1") && lab.veth(h2, "e0", sw, "p2") &&
             lab.veth(rt, "e0", sw, "p3");
        for (const char* p : {"p1", "p2", "p3"}) ok = ok && lab.ip(sw, {"link", "set", p, "master", "br0"});
        ok = ok && lab.veth(rt, "e1", h3, "e0");
        ok = ok && lab.ip(h1, {"addr", "add", "192.0.2.10/24", "brd", "+", "dev", "e0"});
        ok = ok && lab.ip(h2, {"addr", "add", "192.0.2.20/24", "brd", "+", "dev", "e0"});
        ok = ok && lab.ip(rt, {"addr", "add", "192.0.2.1/24", "brd", "+", "dev", "e0"});
        ok = ok && lab.ip(rt, {"addr", "add", "198.51.100.1/24", "brd", "+", "dev", "e1"});
        ok = ok && lab.ip(h3, {"addr", "add", "198.51.100.10/24", "brd", "+", "dev", "e0"});
        ok = ok && lab.ip(h1, {"route", "add", "default", "via", "192.0.2.1"});
        ok = ok && lab.ip(h3, {"route", "add", "default", "via", "198.51.100.1"});
        ASSERT_TRUE(ok) << lab.errors();
        auto f = lab.exec(rt, {"sysctl", "-qw", "net.ipv4.ip_forward=1"});
        ASSERT_EQ(f.exit_code, 0) << f.err;
    }

    // Starts argv in ns now; the caller gets its result later.
    std::future<test::process_result> start(const std::string& ns, std::vector<std::string> argv,
                                            std::chrono::seconds timeout = std::chrono::seconds{15}) {
        return std::async(std::launch::async,
                          [this, ns, argv, timeout] { return lab.exec(ns, argv, timeout); });
    }

    // Waits (at most 10 s) until ns has a UDP socket bound to port, or at least `packet_sockets`
    // packet sockets (libpcap captures), so nothing is sent before the receivers are ready.
    void wait_listening(const std::string& ns, int udp_port, int packet_sockets = 0) {
        for (int i = 0; i < 100; ++i) {
            bool ready = true;
            if (udp_port > 0) {
                auto r = lab.exec(ns, {"ss", "-Hun", "-l", "sport = :" + std::to_string(udp_port)});
                ready = ready && !r.out.empty();
            }
            if (packet_sockets > 0) {
                auto r = lab.exec(ns, {"ss", "-H", "-0"});
                ready = ready && std::count(r.out.begin(), r.out.end(), '\n') >= packet_sockets;
            }
            if (ready) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // filters are set just after
    }

    std::string mac_of(const std::string& ns, const std::string& ifname) {
        auto r = lab.exec(ns, {"cat", "/sys/class/net/" + ifname + "/address"});
        std::string s = r.out;
        while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
        return s;
    }

    test::netns_lab lab{"b"};
    std::string sw, h1, h2, rt, h3;
};

TEST_F(BroadcastLab, UdpBroadcastReachesTheSegmentButNotAcrossTheRouter) {
    auto on_segment = start(h2, {NETTOOL_BIN, "listen", "--udp", "40000", "-c", "2", "-t", "6", "--json"});
    auto beyond = start(h3, {NETTOOL_BIN, "listen", "--udp", "40000", "-t", "3", "--json"});
    wait_listening(h2, 40000);
    wait_listening(h3, 40000);
    auto s = lab.exec(h1, {NETTOOL_BIN, "broadcast", "-i", "e0", "--udp", "40000", "-m", "svc=lab port=8080",
                           "-c", "3", "--interval", "0.2", "--json"});
    ASSERT_EQ(s.exit_code, 0) << s.err;
    const auto sj = nlohmann::json::parse(s.out);
    EXPECT_EQ(sj["destination"], "255.255.255.255");
    EXPECT_EQ(sj["sent"], 3);

    auto r = on_segment.get();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["received"].size(), 2u);
    for (const auto& m : j["received"]) {
        EXPECT_EQ(m["text"], "svc=lab port=8080");
        EXPECT_EQ(m["size"], 17);
        EXPECT_EQ(m["source"].get<std::string>().rfind("192.0.2.10:", 0), 0u) << m.dump();
    }
    auto b = beyond.get();
    EXPECT_EQ(b.exit_code, 1) << b.out;
    EXPECT_NE(b.err.find("nothing received"), std::string::npos) << b.err;
    EXPECT_EQ(nlohmann::json::parse(b.out)["count"], 0);
}

TEST_F(BroadcastLab, DirectedBroadcastAndTextListener) {
    auto on_segment = start(h2, {NETTOOL_BIN, "listen", "-i", "e0", "--udp", "40001", "-c", "1", "-t", "6"});
    wait_listening(h2, 40001);
    auto s = lab.exec(h1, {NETTOOL_BIN, "broadcast", "-i", "e0", "--udp", "40001", "--directed", "-m",
                           "hello", "-c", "2", "--interval", "0.2", "--json"});
    ASSERT_EQ(s.exit_code, 0) << s.err;
    EXPECT_EQ(nlohmann::json::parse(s.out)["destination"], "192.0.2.255");
    auto r = on_segment.get();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("from 192.0.2.10:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("size 5 bytes: hello"), std::string::npos) << r.out;
}

TEST_F(BroadcastLab, RawFramesAreCapturedWithEthertypeAndSource) {
    auto on_segment = start(h2, {NETTOOL_BIN, "listen", "-i", "e0", "--ether", "--ethertype", "0x88b5", "-c",
                                 "2", "-t", "6", "--json"});
    auto beyond = start(h3, {NETTOOL_BIN, "listen", "-i", "e0", "--ether", "-t", "3", "--json"});
    wait_listening(h2, 0, 1);
    wait_listening(h3, 0, 1);
    auto s = lab.exec(h1, {NETTOOL_BIN, "broadcast", "-i", "e0", "--ether", "-m", "frame-hello", "-c", "3",
                           "--interval", "0.2"});
    ASSERT_EQ(s.exit_code, 0) << s.err;
    auto r = on_segment.get();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["received"].size(), 2u);
    const std::string h1_mac = mac_of(h1, "e0");
    for (const auto& m : j["received"]) {
        EXPECT_EQ(m["destination"], "ff:ff:ff:ff:ff:ff");
        EXPECT_EQ(m["ethertype"], "0x88b5");
        EXPECT_EQ(m["source"], h1_mac);
        EXPECT_EQ(m["text"], "frame-hello");
        EXPECT_EQ(m["size"], 46);  // padded to the Ethernet minimum
    }
    EXPECT_EQ(beyond.get().exit_code, 1);
}

// The WoL bytes on the wire, read back by tcpdump (and tshark's WoL dissector when installed).
TEST_F(BroadcastLab, WakeOnLanFrameBytesMatchTcpdump) {
    const std::string pcap = ::testing::TempDir() + "/nt_wol_" + h2 + ".pcap";
    auto dump = start(
        h2, {"timeout", "8", "tcpdump", "-i", "e0", "-U", "-c", "1", "-w", pcap, "ether", "proto", "0x0842"});
    auto listener = start(h2, {NETTOOL_BIN, "listen", "-i", "e0", "--ether", "-c", "1", "-t", "8", "--json"});
    wait_listening(h2, 0, 2);
    auto s = lab.exec(
        h1, {NETTOOL_BIN, "wol", "02:00:5e:10:20:30", "-i", "e0", "--password", "aa:bb:cc:dd:ee:ff"});
    ASSERT_EQ(s.exit_code, 0) << s.err;
    auto d = dump.get();
    ASSERT_EQ(d.exit_code, 0) << d.err;

    auto hex = test::run_process({"tcpdump", "-r", pcap, "-xx", "-n"});
    ASSERT_EQ(hex.exit_code, 0) << hex.err;
    // Collect the hex words of the dump.
    std::string bytes;
    std::istringstream in(hex.out);
    for (std::string line; std::getline(in, line);) {
        const auto colon = line.find(":  ");
        if (line.find("0x") == std::string::npos || colon == std::string::npos) continue;
        std::istringstream words(line.substr(colon + 3));
        for (std::string w; words >> w;) bytes += w;
    }
    std::string expected = "ffffffffffff" + [&] {
        std::string m = mac_of(h1, "e0");
        m.erase(std::remove(m.begin(), m.end(), ':'), m.end());
        return m;
    }() + "0842" + "ffffffffffff";
    for (int i = 0; i < 16; ++i) expected += "02005e102030";
    expected += "aabbccddeeff";
    EXPECT_EQ(bytes, expected);

    if (test::run_process({"sh", "-c", "command -v tshark"}).exit_code == 0) {
        auto t = test::run_process({"tshark", "-r", pcap, "-T", "fields", "-e", "eth.dst", "-e", "eth.type",
                                    "-e", "wol.mac", "-e", "wol.passwd"});
        EXPECT_EQ(t.exit_code, 0) << t.err;
        EXPECT_NE(t.out.find("ff:ff:ff:ff:ff:ff"), std::string::npos) << t.out;
        EXPECT_NE(t.out.find("0x0842"), std::string::npos) << t.out;
        EXPECT_NE(t.out.find("02:00:5e:10:20:30"), std::string::npos) << t.out;
        // (tshark 4.0 prints wol.passwd oddly, so the password bytes are checked with tcpdump above.)
    }
    std::remove(pcap.c_str());

    auto l = listener.get();
    ASSERT_EQ(l.exit_code, 0) << l.err;
    const auto j = nlohmann::json::parse(l.out);
    ASSERT_EQ(j["received"].size(), 1u);
    EXPECT_EQ(j["received"][0]["ethertype"], "0x0842");
    EXPECT_EQ(j["received"][0]["wake_on_lan"]["target"], "02:00:5e:10:20:30");
    EXPECT_EQ(j["received"][0]["wake_on_lan"]["password"], "aa:bb:cc:dd:ee:ff");
}

TEST_F(BroadcastLab, WakeOnLanOverUdpPort9) {
    auto listener = start(h2, {NETTOOL_BIN, "listen", "--udp", "9", "-c", "1", "-t", "6", "--json"});
    wait_listening(h2, 9);
    auto s = lab.exec(h1, {NETTOOL_BIN, "wol", "02:00:5e:10:20:30", "-i", "e0", "--udp", "-c", "2"});
    ASSERT_EQ(s.exit_code, 0) << s.err;
    auto l = listener.get();
    ASSERT_EQ(l.exit_code, 0) << l.err;
    const auto j = nlohmann::json::parse(l.out);
    ASSERT_EQ(j["received"].size(), 1u);
    EXPECT_EQ(j["received"][0]["size"], 102);
    EXPECT_EQ(j["received"][0]["wake_on_lan"]["target"], "02:00:5e:10:20:30");
}

}  // namespace
