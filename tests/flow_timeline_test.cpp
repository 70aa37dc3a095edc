// The on-wire timeline readers: a synthetic capture with a known handshake, byte offsets and a
// second connection on another port; every cut of the file; an unreadable file.
#include <nettool/packet/flow_timeline.hpp>

#include "support/synth.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace nettool;
using nettool::test::pcap_synth;
using std::chrono::microseconds;

constexpr std::uint32_t client_ip = 0xc0000201;  // 192.0.2.1
constexpr std::uint32_t server_ip = 0xc0000202;  // 192.0.2.2
constexpr std::uint8_t syn = 0x02, ack = 0x10, psh_ack = 0x18, syn_ack = 0x12;

// The synthetic timestamps start at 1e9 s; times below are microseconds after that.
wire_time at(std::int64_t us) {
    return std::chrono::seconds{1'000'000'000} + microseconds{us};
}

socket_address endpoint(const char* ip, std::uint16_t port) {
    std::error_code ec;
    auto a = socket_address::from_numeric(ip, port, ec);
    EXPECT_FALSE(ec);
    return a;
}

class FlowTimeline : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = (fs::temp_directory_path() / ("nettool-flow-" + std::to_string(::getpid()) + ".pcap")).string();
        pcap_synth w{path_};
        ASSERT_TRUE(w.ok());
        // Another connection first (other client port): must not be taken for ours.
        w.write(0, pcap_synth::tcp(client_ip, 40000, server_ip, 5000, 7, 0, syn, 1000, 0));
        // Ours: SYN, a retransmitted SYN, SYN/ACK, ACK.
        w.write(10, pcap_synth::tcp(client_ip, 41000, server_ip, 5000, 1000, 0, syn, 1000, 0));
        w.write(20, pcap_synth::tcp(client_ip, 41000, server_ip, 5000, 1000, 0, syn, 1000, 0));
        w.write(30, pcap_synth::tcp(server_ip, 5000, client_ip, 41000, 9000, 1001, syn_ack, 1000, 0));
        w.write(40, pcap_synth::tcp(client_ip, 41000, server_ip, 5000, 1001, 9001, ack, 1000, 0));
        // Client: 16-byte hello and 64-byte request in one segment (offsets 0..80).
        w.write(50, pcap_synth::tcp(client_ip, 41000, server_ip, 5000, 1001, 9001, psh_ack, 1000, 80));
        // Server: hello answer (0..16), then the reply in two segments (16..48, 48..80).
        w.write(70, pcap_synth::tcp(server_ip, 5000, client_ip, 41000, 9001, 1081, psh_ack, 1000, 16));
        w.write(80, pcap_synth::tcp(server_ip, 5000, client_ip, 41000, 9017, 1081, psh_ack, 1000, 32));
        w.write(90, pcap_synth::tcp(server_ip, 5000, client_ip, 41000, 9049, 1081, psh_ack, 1000, 32));
        // A retransmission of the first reply part: offsets already reached keep their time.
        w.write(95, pcap_synth::tcp(server_ip, 5000, client_ip, 41000, 9017, 1081, psh_ack, 1000, 32));
        // Second request and reply (80..144).
        w.write(100, pcap_synth::tcp(client_ip, 41000, server_ip, 5000, 1081, 9081, psh_ack, 1000, 64));
        w.write(125, pcap_synth::tcp(server_ip, 5000, client_ip, 41000, 9081, 1145, psh_ack, 1000, 64));
        // UDP: two datagrams each way, plus one from another port.
        w.write(200, pcap_synth::udp(client_ip, 42000, server_ip, 5000, std::vector<std::uint8_t>(40, 1)));
        w.write(205, pcap_synth::udp(client_ip, 42001, server_ip, 5000, std::vector<std::uint8_t>(40, 1)));
        w.write(230, pcap_synth::udp(server_ip, 5000, client_ip, 42000, std::vector<std::uint8_t>(40, 2)));
        w.write(240, pcap_synth::udp(client_ip, 42000, server_ip, 5000, std::vector<std::uint8_t>(40, 1)));
        w.write(260, pcap_synth::udp(server_ip, 5000, client_ip, 42000, std::vector<std::uint8_t>(40, 2)));
    }
    void TearDown() override { fs::remove(path_); }

    tcp_flow_query query() const {
        return {endpoint("192.0.2.1", 41000), endpoint("192.0.2.2", 5000), {16, 80, 144, 500}, {16, 80, 144}};
    }
    std::string path_;
};

TEST_F(FlowTimeline, HandshakeAndStreamOffsetsOfTheNamedConnection) {
    auto f = capture_file::open(path_);
    const auto t = find_tcp_flow(f, query());
    ASSERT_TRUE(t.syn && t.syn_ack && t.ack);
    EXPECT_EQ(*t.syn, at(10));  // the first SYN, not its retransmission
    EXPECT_EQ(*t.syn_ack, at(30));
    EXPECT_EQ(*t.ack, at(40));
    ASSERT_EQ(t.client_reached.size(), 4u);
    EXPECT_EQ(t.client_reached[0], at(50));  // hello and first request in one segment
    EXPECT_EQ(t.client_reached[1], at(50));
    EXPECT_EQ(t.client_reached[2], at(100));
    EXPECT_FALSE(t.client_reached[3].has_value());  // never sent
    ASSERT_EQ(t.server_reached.size(), 3u);
    EXPECT_EQ(t.server_reached[0], at(70));
    EXPECT_EQ(t.server_reached[1], at(90));  // the reply is complete with its second segment
    EXPECT_EQ(t.server_reached[2], at(125));
    EXPECT_EQ(t.packets, 11u);  // from our first SYN on
}

TEST_F(FlowTimeline, AnotherConnectionIsNotFound) {
    auto f = capture_file::open(path_);
    auto q = query();
    q.client.set_port(41001);
    const auto t = find_tcp_flow(f, q);
    EXPECT_FALSE(t.syn.has_value());
    EXPECT_EQ(t.packets, 0u);
    EXPECT_FALSE(t.server_reached[0].has_value());
}

TEST_F(FlowTimeline, UdpDatagramsEachWayInOrder) {
    auto f = capture_file::open(path_);
    const auto t = find_udp_flow(f, endpoint("192.0.2.1", 42000), endpoint("192.0.2.2", 5000), 8);
    EXPECT_EQ(t.client_sent, (std::vector<wire_time>{at(200), at(240)}));
    EXPECT_EQ(t.server_sent, (std::vector<wire_time>{at(230), at(260)}));
    auto g = capture_file::open(path_);
    const auto one = find_udp_flow(g, endpoint("192.0.2.1", 42000), endpoint("192.0.2.2", 5000), 1);
    EXPECT_EQ(one.client_sent.size(), 1u);
    EXPECT_EQ(one.server_sent.size(), 1u);
}

// Every cut of the file: the reader stops at the damaged record with a note, never reads past
// it, and whatever was timed before the cut is still right.
TEST_F(FlowTimeline, EveryTruncationStopsCleanly) {
    std::ifstream in{path_, std::ios::binary};
    const std::string whole{std::istreambuf_iterator<char>{in}, {}};
    const auto cut_path = path_ + ".cut";
    std::size_t opened = 0;
    for (std::size_t n = 0; n < whole.size(); ++n) {
        {
            std::ofstream out{cut_path, std::ios::binary | std::ios::trunc};
            out.write(whole.data(), static_cast<std::streamsize>(n));
        }
        std::error_code ec;
        auto f = capture_file::open(cut_path, ec);
        if (ec) {
            EXPECT_EQ(ec, make_error_code(errc::malformed)) << "cut at " << n;
            continue;
        }
        ++opened;
        const auto t = find_tcp_flow(f, query());
        if (t.syn) {
            EXPECT_EQ(*t.syn, at(10)) << "cut at " << n;
        }
        if (t.server_reached[1]) {
            EXPECT_EQ(*t.server_reached[1], at(90)) << "cut at " << n;
        }
    }
    EXPECT_GT(opened, 0u);
    fs::remove(cut_path);
}

TEST(CaptureFile, MissingAndUnreadableFilesAreErrors) {
    std::error_code ec;
    auto f = capture_file::open("/nonexistent/nettool.pcap", ec);
    EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
    captured_packet p;
    EXPECT_FALSE(f.next(p));  // the empty reader reads nothing
    capture_file::open("/", ec);
    EXPECT_EQ(ec, std::errc::is_a_directory);
    const auto junk = (fs::temp_directory_path() / "nettool-not-a-pcap").string();
    std::ofstream{junk} << "this is not a capture file, just text long enough to be read";
    capture_file::open(junk, ec);
    EXPECT_EQ(ec, make_error_code(errc::malformed));
    fs::remove(junk);
}

}  // namespace
