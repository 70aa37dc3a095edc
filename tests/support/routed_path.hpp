#pragma once
// Test fixture base: a client, a router and a server in three network namespaces, with
// `nettool serve` on the server when asked:
//
//   client 198.51.100.2 (vc) -- (rc) 198.51.100.1  router  203.0.113.1 (rs) -- (vs) 203.0.113.2 server
//
// The router forwards, every interface sends one packet per segment (gso_max_segs 1, as a NIC
// would put them on the wire: the kernel counts segments and tshark packets), and the router
// has an nftables table `impair` with a forward chain `pass` for the test's rules. Everything
// goes with the namespaces in TearDown, also when the test fails.

#include "support/netns_lab.hpp"
#include "support/process.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace nettool::test {

class routed_path_fixture : public ::testing::Test {
protected:
    static constexpr const char* client_ip = "198.51.100.2";
    static constexpr const char* router_c_ip = "198.51.100.1";
    static constexpr const char* router_s_ip = "203.0.113.1";
    static constexpr const char* server_ip = "203.0.113.2";

    /// Builds the three hosts (call from SetUp once the skips are done); `tag` keeps the
    /// namespace names of different test files apart.
    void build_path(const std::string& tag) {
        lab_.emplace(tag);
        client_ = lab_->add_namespace("c");
        router_ = lab_->add_namespace("r");
        server_ = lab_->add_namespace("s");
        ASSERT_FALSE(client_.empty() || router_.empty() || server_.empty()) << lab_->errors();
        ASSERT_TRUE(lab_->veth(client_, "vc", router_, "rc")) << lab_->errors();
        ASSERT_TRUE(lab_->veth(server_, "vs", router_, "rs")) << lab_->errors();
        for (const auto& [ns, dev] : std::array<std::pair<std::string, std::string>, 4>{
                 {{client_, "vc"}, {router_, "rc"}, {router_, "rs"}, {server_, "vs"}}})
            ASSERT_TRUE(lab_->ip(ns, {"link", "set", dev, "gso_max_segs", "1"})) << lab_->errors();
        ASSERT_TRUE(lab_->ip(client_, {"addr", "add", fmt::format("{}/24", client_ip), "dev", "vc"}) &&
                    lab_->ip(router_, {"addr", "add", fmt::format("{}/24", router_c_ip), "dev", "rc"}) &&
                    lab_->ip(router_, {"addr", "add", fmt::format("{}/24", router_s_ip), "dev", "rs"}) &&
                    lab_->ip(server_, {"addr", "add", fmt::format("{}/24", server_ip), "dev", "vs"}) &&
                    lab_->ip(client_, {"route", "add", "default", "via", router_c_ip}) &&
                    lab_->ip(server_, {"route", "add", "default", "via", router_s_ip}))
            << lab_->errors();
        ASSERT_NO_FATAL_FAILURE(router({"sysctl", "-qw", "net.ipv4.ip_forward=1"}));
        ASSERT_NO_FATAL_FAILURE(router({"nft", "add table inet impair"}));
        ASSERT_NO_FATAL_FAILURE(
            router({"nft", "add chain inet impair pass { type filter hook forward priority 0; }"}));
    }

    void TearDown() override {
        server_process_.reset();
        lab_.reset();  // deletes the namespaces, and with them the veths, rules and qdiscs
        if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
    }

    /// Runs a command in the router namespace; fails the test when it fails.
    void router(const std::vector<std::string>& argv) {
        const auto r = lab_->exec(router_, argv, std::chrono::seconds{10});
        std::string cmd;
        for (const auto& a : argv) cmd += a + " ";
        ASSERT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
    }
    /// One nft rule in the router's forward chain.
    void rule(const std::string& text) { router({"nft", "add rule inet impair pass " + text}); }
    /// A bottleneck towards the server: 50 Mbit/s, so a second of transfer is a few thousand
    /// segments with a queue behind them.
    void bottleneck() {
        router({"tc", "qdisc", "add", "dev", "rs", "root", "tbf", "rate", "50mbit", "burst", "32kb", "latency",
                "20ms"});
    }

    /// `nettool serve` on the server, up once a connect from the client succeeds (3 s at most).
    void start_server() {
        server_process_.emplace(
            std::vector<std::string>{"ip", "netns", "exec", server_, NETTOOL_BIN, "serve", "--bind", server_ip});
        for (int i = 0; i < 60; ++i) {
            if (lab_->exec(client_, {NETTOOL_BIN, "tcp", server_ip, "-m", "connect", "-c", "1", "-t", "0.5"},
                           std::chrono::seconds{5})
                    .exit_code == 0)
                return;
            std::this_thread::sleep_for(std::chrono::milliseconds{50});
        }
        FAIL() << "nettool serve did not come up in the server namespace";
    }

    std::optional<netns_lab> lab_;
    std::optional<background_process> server_process_;
    std::string client_, router_, server_;
    std::filesystem::path dir_;  ///< the test's files; removed when it passed
};

}  // namespace nettool::test
