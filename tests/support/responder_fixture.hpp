#pragma once
// A responder on a free 127.0.0.1 port for the length of one test (probe tests share it).

#include <nettool/probe/responder.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

namespace nettool::test {

class responder_fixture : public ::testing::Test {
protected:
    void SetUp() override {
        responder_config cfg;
        cfg.bind_address = "127.0.0.1";
        cfg.port = 0;
        std::error_code ec;
        resp_ = responder::start(cfg, ec);
        ASSERT_TRUE(resp_) << ec.message();
        target_ = resp_->local_endpoint();
    }
    /// The responder's count of UDP replies once it reaches `want` (or after 2 s): it counts a
    /// reply when sendmmsg returns, and on loopback the client can hold the reply before that.
    std::uint64_t settled_udp_replies(std::uint64_t want) const {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{2};
        auto n = resp_->stats().udp_replies;
        while (n < want && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds{1});
            n = resp_->stats().udp_replies;
        }
        return n;
    }

    std::unique_ptr<responder> resp_;
    socket_address target_;
};

}  // namespace nettool::test
