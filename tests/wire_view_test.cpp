// Capture while probing: the on-wire view of a tcp-vs-udp run, checked against tshark.
#include <nettool/packet/wire_view.hpp>
#include <nettool/netclass/netclass.hpp>

#include "support/process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using nettool::test::run_nettool;
using nettool::test::run_process;

std::string temp_pcap(const char* name) {
    return (std::filesystem::temp_directory_path() /
            (std::string{name} + std::to_string(::getpid()) + ".pcap"))
        .string();
}

std::uint64_t tshark_count(const std::string& file, const std::string& filter) {
    auto r =
        run_process({"tshark", "-n", "-r", file, "-Y", filter, "-T", "fields", "-e", "frame.number"}, 120s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return static_cast<std::uint64_t>(std::count(r.out.begin(), r.out.end(), '\n'));
}

TEST(WireView, LoopbackTargetsAreCapturedOnLo) {
    std::error_code ec;
    EXPECT_EQ(nettool::interface_for(nettool::socket_address::from_numeric("127.0.0.1", 1, ec)), "lo");
    EXPECT_EQ(nettool::interface_for(nettool::socket_address::from_numeric("::1", 1, ec)), "lo");
}

TEST(WireView, TcpVsUdpCaptureAgreesWithTshark) {
    if (!nettool::test::is_root()) GTEST_SKIP() << "capturing needs root or CAP_NET_RAW";
    const auto file = temp_pcap("nettool-wire-");
    auto r = run_nettool({"--json", "tcp-vs-udp", "-c", "100", "-d", "0.3", "--capture", file}, 120s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    const auto& w = j["wire"];
    EXPECT_EQ(w["interface"], "lo");
    ASSERT_EQ(w["dropped_kernel"], 0) << "the capture dropped packets; counts below would not be exact";
    const std::string target = j["target"];
    const auto p = target.substr(target.rfind(':') + 1);
    // Every UDP datagram the application sent is on the wire once (GSO is off while capturing).
    // The rr probe's untimed warm-up datagram is on the wire too.
    const auto app_sent = j["udp"]["rr"]["warm_up_sent"].get<std::uint64_t>() +
                          j["udp"]["rr"]["sent"].get<std::uint64_t>() +
                          j["udp"]["stream"]["sent"].get<std::uint64_t>();
    EXPECT_EQ(j["udp"]["rr"]["warm_up_sent"], 1);
    EXPECT_EQ(w["udp"]["packets_to_port"].get<std::uint64_t>(), app_sent);
    EXPECT_EQ(tshark_count(file, "udp.dstport == " + p), app_sent);
    // The TCP conversations: the connects, the rr session, the stream and the UDP control sessions.
    EXPECT_EQ(w["tcp"]["conversations"].get<std::uint64_t>(),
              tshark_count(file, "tcp.flags.syn == 1 && tcp.flags.ack == 0"));
    EXPECT_EQ(w["captured"].get<std::uint64_t>(), tshark_count(file, "frame"));
    // tcpdump reads the file too.
    auto td = run_process({"tcpdump", "-nr", file}, 60s);
    EXPECT_EQ(td.exit_code, 0) << td.err;
    std::filesystem::remove(file);
}

}  // namespace
