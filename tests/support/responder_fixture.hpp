#pragma once
// A responder on a free 127.0.0.1 port for the length of one test (probe tests share it).

#include <nettool/probe/responder.hpp>

#include <gtest/gtest.h>

#include <memory>

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
    std::unique_ptr<responder> resp_;
    socket_address target_;
};

}  // namespace nettool::test
