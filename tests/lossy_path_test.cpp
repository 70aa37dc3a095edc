// TCP and UDP across a real lossy link: two network namespaces joined by a veth pair, with
// nftables dropping a share of packets at the responder's side (this kernel has no netem).
// TCP must hide the loss by retransmitting; UDP must show it to the application.
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <csignal>
#include <thread>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using nettool::test::background_process;
using nettool::test::run_process;
using nettool::test::sh;

class LossyPath : public ::testing::Test {
protected:
    void SetUp() override {
        if (!nettool::test::is_root()) GTEST_SKIP() << "needs root to build network namespaces";
        if (sh("command -v nft >/dev/null && command -v ip >/dev/null") != 0)
            GTEST_SKIP() << "needs ip and nft";
        const auto id = std::to_string(::getpid());
        server_ = "ntls" + id;
        client_ = "ntlc" + id;
        const auto va = "ntva" + id, vb = "ntvb" + id;
        built_ = true;  // from here on TearDown removes whatever part of the lab exists
        const std::string cmds[] = {
            fmt::format("ip netns add {}", server_),
            fmt::format("ip netns add {}", client_),
            fmt::format("ip link add {} type veth peer name {}", va, vb),
            fmt::format("ip link set {} netns {}", va, server_),
            fmt::format("ip link set {} netns {}", vb, client_),
            fmt::format("ip -n {} addr add 198.51.100.1/24 dev {}", server_, va),
            fmt::format("ip -n {} addr add 198.51.100.2/24 dev {}", client_, vb),
            fmt::format("ip -n {} link set {} up", server_, va),
            fmt::format("ip -n {} link set {} up", client_, vb),
            fmt::format("ip -n {} link set lo up", server_),
            fmt::format("ip -n {} link set lo up", client_),
        };
        for (const auto& c : cmds) ASSERT_EQ(sh(c + " 2>&1"), 0) << c;
    }
    void TearDown() override {
        if (!built_) return;
        sh(fmt::format("ip netns del {} 2>/dev/null; ip netns del {} 2>/dev/null", server_, client_));
    }
    // Drops one packet in `every` arriving at the server for the given protocol.
    void drop_one_in(int every, const char* proto) { drop_when(proto, fmt::format("mod {} == 0", every)); }
    // Drops `percent` of the packets arriving at the server for the given protocol.
    void drop_percent(int percent, const char* proto) { drop_when(proto, fmt::format("mod 100 < {}", percent)); }
    void drop_when(const char* proto, const std::string& numgen_test) {
        ASSERT_EQ(sh(fmt::format("ip netns exec {} nft add table inet ntloss", server_)), 0);
        ASSERT_EQ(
            sh(fmt::format(
                "ip netns exec {} nft 'add chain inet ntloss in {{ type filter hook input priority 0; }}'",
                server_)),
            0);
        ASSERT_EQ(sh(fmt::format("ip netns exec {} nft 'add rule inet ntloss in meta l4proto {} {} dport 51423 "
                                 "numgen random {} drop'",
                                 server_, proto, proto, numgen_test)),
                  0);
    }
    std::unique_ptr<background_process> serve() {
        auto p = std::make_unique<background_process>(std::vector<std::string>{
            "ip", "netns", "exec", server_, NETTOOL_BIN, "serve", "--bind", "198.51.100.1"});
        for (int i = 0; i < 100; ++i) {
            if (client({"tcp", "198.51.100.1", "-m", "connect", "-c", "1"}).exit_code == 0) break;
            std::this_thread::sleep_for(50ms);
        }
        return p;
    }
    nettool::test::process_result client(std::vector<std::string> args) {
        std::vector<std::string> argv{"ip", "netns", "exec", client_, NETTOOL_BIN};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_process(argv, 120s);
    }
    std::string server_, client_;
    bool built_ = false;
};

TEST_F(LossyPath, UdpShowsTheLossToTheApplication) {
    auto s = serve();
    drop_one_in(10, "udp");
    auto r =
        client({"--json", "udp", "198.51.100.1", "-m", "stream", "--rate", "4000", "-d", "1", "-s", "200"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out)["result"];
    const double sent = j["sent"].get<double>();
    const double loss = j["loss_fraction"].get<double>();
    EXPECT_GT(sent, 1000);
    // About one in ten dropped: far from zero, far from everything (binomial, n >= 1000).
    EXPECT_GT(loss, 0.04) << r.out;
    EXPECT_LT(loss, 0.18) << r.out;
    EXPECT_EQ(j["lost"].get<double>() + j["received"].get<double>() - j["duplicates"].get<double>(), sent);

    auto rr = client({"--json", "udp", "198.51.100.1", "-m", "rr", "-c", "300", "-t", "0.2"});
    ASSERT_EQ(rr.exit_code, 0) << rr.err;
    const auto k = nlohmann::json::parse(rr.out)["result"];
    EXPECT_GT(k["lost"].get<int>(), 0) << rr.out;  // request or reply dropped: ~10% of 300
    EXPECT_EQ(k["lost"].get<int>() + k["received"].get<int>(), 300);
}

// Where the loss happened: 5% dropped on the path by nftables. Paced well below what the
// receiver can take, all of it is path loss and the receiver's socket drops nothing; flat out, the
// receiver's socket buffer may overflow too, and the two parts always add up to the loss. The
// reading names the path in both cases (it used to blame only the socket buffer).
TEST_F(LossyPath, UdpLossIsSplitIntoPathAndReceiver) {
    auto s = serve();
    drop_percent(5, "udp");
    // --no-gso: one packet per datagram, so nftables drops datagrams and not GSO batches.
    auto r = client({"--json", "udp", "198.51.100.1", "-m", "stream", "--rate", "10000", "-d", "1", "-s", "200",
                     "--no-gso"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto doc = nlohmann::json::parse(r.out);
    auto j = doc["result"];
    const auto sent = j["sent"].get<std::uint64_t>();
    ASSERT_GT(sent, 5000u) << r.out;
    EXPECT_EQ(j["receiver_dropped"], 0) << r.out;
    EXPECT_EQ(j["path_lost"], j["lost"]) << r.out;
    // 5% of n >= 5000: the binomial's standard deviation is under 0.31 points; allow 2.
    const double path = j["path_lost"].get<double>() / static_cast<double>(sent);
    EXPECT_GT(path, 0.03) << r.out;
    EXPECT_LT(path, 0.07) << r.out;
    ASSERT_EQ(doc["readings"].size(), 1u) << r.out;
    auto reading = doc["readings"][0].get<std::string>();
    EXPECT_NE(reading.find("lost on the path"), std::string::npos) << reading;
    EXPECT_EQ(reading.find("overflowed"), std::string::npos) << reading;

    r = client({"--json", "udp", "198.51.100.1", "-m", "stream", "-d", "1", "-s", "64"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    doc = nlohmann::json::parse(r.out);
    j = doc["result"];
    const auto lost = j["lost"].get<std::uint64_t>(), rx = j["receiver_dropped"].get<std::uint64_t>(),
               on_path = j["path_lost"].get<std::uint64_t>();
    EXPECT_EQ(rx + on_path, lost) << r.out;
    EXPECT_EQ(j["sent"].get<std::uint64_t>() - (j["received"].get<std::uint64_t>() - j["duplicates"].get<std::uint64_t>()),
              lost)
        << r.out;
    EXPECT_GT(on_path, 0u) << r.out;  // nftables took its 5% however fast the sender went
    reading = doc["readings"][0].get<std::string>();
    EXPECT_NE(reading.find("on the path"), std::string::npos) << reading;
    EXPECT_EQ(reading.find("dropped at the receiver") != std::string::npos, rx > 0) << reading;
}

TEST_F(LossyPath, TcpHidesTheLossByRetransmitting) {
    auto s = serve();
    drop_one_in(20, "tcp");
    auto r = client({"--json", "tcp", "198.51.100.1", "-m", "stream", "-d", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out)["result"];
    EXPECT_GT(j["kernel"]["retransmits"].get<int>(), 0) << r.out;
    // Every byte written arrived: the application saw no loss.
    EXPECT_EQ(j["bytes_received"], j["bytes_sent"]);
    EXPECT_GT(j["bytes_received"].get<double>(), 0);
}

}  // namespace

namespace {

TEST_F(LossyPath, ConnectFailuresAreToldApartByKind) {
    // No route to 192.0.2.0/24 from the client: unreachable, at once.
    auto r = client({"--json", "tcp", "192.0.2.1", "-m", "connect", "-c", "2", "-t", "1"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    auto j = nlohmann::json::parse(r.out)["result"]["failures"];
    EXPECT_EQ(j["unreachable"], 2) << r.out;

    // Every SYN dropped at the server: timed out, after the timeout and no sooner.
    drop_one_in(1, "tcp");
    r = client({"--json", "tcp", "198.51.100.1", "-m", "connect", "-c", "2", "-t", "0.3"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    j = nlohmann::json::parse(r.out)["result"];
    EXPECT_EQ(j["failures"]["timed_out"], 2) << r.out;
    EXPECT_GE(j["elapsed_s"].get<double>(), 0.6);

    // Nothing listening on the server's address: refused.
    r = client({"--json", "tcp", "198.51.100.1:9", "-m", "connect", "-c", "2"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["result"]["failures"]["refused"], 2) << r.out;
}

}  // namespace
