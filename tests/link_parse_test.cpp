#include <nettool/link/impairment.hpp>
#include "support/files.hpp"
#include "support/bytes.hpp"

#include <nettool/core/error.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cmath>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
namespace link = nettool::link;

using nettool::test::text_bytes;

/// Runs f, expects a nettool::error with `code`, returns its sentence.
template <typename F>
std::string error_of(F&& f, nettool::errc code = nettool::errc::bad_argument) {
    try {
        f();
    } catch (const nettool::error& e) {
        EXPECT_EQ(e.code(), make_error_code(code)) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "no error thrown";
    return {};
}

/// A file that removes itself.
using nettool::test::temp_file;

TEST(LinkParse, Rates) {
    EXPECT_EQ(link::parse_rate("10mbit"), 10'000'000u);
    EXPECT_EQ(link::parse_rate("1gbit"), 1'000'000'000u);
    EXPECT_EQ(link::parse_rate("500kbit"), 500'000u);
    EXPECT_EQ(link::parse_rate("1.5Mbit"), 1'500'000u);
    EXPECT_EQ(link::parse_rate("100mbps"), 800'000'000u);  // bytes per second, as tc
    EXPECT_EQ(link::parse_rate("1kbit"), 1'000u);
    EXPECT_EQ(link::parse_rate("1000bit"), 1'000u);
    EXPECT_EQ(link::parse_rate("400gbit"), 400'000'000'000u);
    EXPECT_EQ(link::parse_rate("50GBPS"), 400'000'000'000u);
    EXPECT_EQ(link::parse_rate("2.5e3kbit"), 2'500'000u);
}

TEST(LinkParse, BadRates) {
    for (const char* bad :
         {"", "-10mbit", "0mbit", "800bit", "401gbit", "nan", "NaNmbit", "inf", "infmbit", "10zbit", "10",
          "10mbit junk", "10 mbit", "mbit", "1e400mbit", "1.2.3mbit", "0x10mbit"}) {
        const auto what = error_of([&] { (void)link::parse_rate(bad); });
        EXPECT_NE(what.find("--rate"), std::string::npos) << what;
        if (*bad) {
            EXPECT_NE(what.find(std::string{"'"} + bad + "'"), std::string::npos) << what;
        }
    }
    EXPECT_EQ(error_of([] { (void)link::parse_rate("401gbit"); }),
              "--rate: '401gbit' is out of range: give 1kbit to 400gbit");
    EXPECT_NE(error_of([] { (void)link::parse_rate("10zbit"); }).find("unknown unit 'zbit'"),
              std::string::npos);
}

TEST(LinkParse, Percentages) {
    EXPECT_DOUBLE_EQ(link::parse_percent("1%"), 0.01);
    EXPECT_DOUBLE_EQ(link::parse_percent("0.5%"), 0.005);
    EXPECT_DOUBLE_EQ(link::parse_percent("1"), 0.01);
    EXPECT_DOUBLE_EQ(link::parse_percent("0"), 0.0);
    EXPECT_DOUBLE_EQ(link::parse_percent("100%"), 1.0);
}

TEST(LinkParse, BadPercentages) {
    EXPECT_EQ(error_of([] { (void)link::parse_percent("150%"); }),
              "--loss: '150%' is out of range: give 0 to 100%");
    for (const char* bad :
         {"", "-1%", "150%", "100.0001", "nan", "nan%", "inf", "-inf%", "1%%", "1 %", "abc", "1%x", "%"}) {
        const auto what = error_of([&] { (void)link::parse_percent(bad); });
        EXPECT_NE(what.find("0 to 100"), std::string::npos) << bad << ": " << what;
    }
}

TEST(LinkParse, Delays) {
    EXPECT_EQ(link::parse_delay("20ms"), 20ms);
    EXPECT_EQ(link::parse_delay("20"), 20ms);
    EXPECT_EQ(link::parse_delay("1.5ms"), 1500us);
    EXPECT_EQ(link::parse_delay("250us"), 250us);
    EXPECT_EQ(link::parse_delay("1s"), 1s);
    EXPECT_EQ(link::parse_delay("0"), 0ns);
    EXPECT_EQ(link::parse_delay("60s"), 60s);
    EXPECT_EQ(link::parse_delay("1e3ms"), 1s);
    EXPECT_EQ(link::parse_delay("100ns"), 100ns);
}

TEST(LinkParse, BadDelays) {
    EXPECT_EQ(error_of([] { (void)link::parse_delay("61s"); }),
              "--delay: '61s' is out of range: give 0 to 60s");
    for (const char* bad :
         {"", "-1ms", "60.001s", "nan", "nanms", "inf", "infs", "10parsec", "10ms junk", "ms", "1e400"}) {
        const auto what = error_of([&] { (void)link::parse_delay(bad); });
        EXPECT_NE(what.find("--delay"), std::string::npos) << what;
    }
}

TEST(LinkParse, LossModels) {
    const auto ge = link::parse_loss_model("ge:1%,30%");
    EXPECT_EQ(ge, (link::gilbert_elliott{.p = 0.01, .r = 0.30, .loss_in_bad = 1.0, .loss_in_good = 0.0}));
    const auto full = link::parse_loss_model("ge:1,30,80,2");
    EXPECT_DOUBLE_EQ(full.loss_in_bad, 0.80);
    EXPECT_DOUBLE_EQ(full.loss_in_good, 0.02);
    for (const char* bad :
         {"", "ge:", "ge:1%", "gemodel", "ge:1%,200%", "ge:1,2,3,4,5", "ge:1,,3", "ge:nan,1", "ge:1,30,"}) {
        (void)error_of([&] { (void)link::parse_loss_model(bad); });
    }
}

TEST(LinkParse, Queues) {
    const auto dt = link::parse_queue("droptail:packets=100");
    EXPECT_EQ(dt.discipline, link::queue_discipline::droptail);
    EXPECT_EQ(dt.max_packets, 100u);
    EXPECT_EQ(link::parse_queue("droptail:bytes=150000").max_bytes, 150000u);
    EXPECT_EQ(link::parse_queue("droptail"), link::queue_config{});
    const auto codel = link::parse_queue("codel:target=2ms,interval=50ms,packets=1000");
    EXPECT_EQ(codel.discipline, link::queue_discipline::codel);
    EXPECT_EQ(codel.codel_target, 2ms);
    EXPECT_EQ(codel.codel_interval, 50ms);
    EXPECT_EQ(codel.max_packets, 1000u);
    EXPECT_EQ(link::parse_queue("codel").codel_target, 5ms);
    for (const char* bad : {"", "red", "droptail:packets=0", "droptail:packets=-1", "droptail:packets=1x",
                            "codel:target=0ms", "codel:target=nan", "droptail:target=5ms", "codel:foo=1",
                            "droptail:packets", "droptail:", "codel:interval=61s"}) {
        (void)error_of([&] { (void)link::parse_queue(bad); });
    }
}

TEST(LinkParse, Distributions) {
    EXPECT_EQ(link::parse_distribution("uniform"), link::jitter_distribution::uniform);
    EXPECT_EQ(link::parse_distribution("normal"), link::jitter_distribution::normal);
    EXPECT_EQ(link::parse_distribution("pareto"), link::jitter_distribution::pareto);
    EXPECT_EQ(error_of([] { (void)link::parse_distribution("gauss"); }),
              "--distribution: 'gauss' is not a distribution: give uniform, normal or pareto");
}

TEST(LinkParse, Traces) {
    using v = std::vector<std::uint32_t>;
    EXPECT_EQ(link::parse_trace(text_bytes("1\n2\n3\n")), (v{1, 2, 3}));
    EXPECT_EQ(link::parse_trace(text_bytes("1\n2\n3")), (v{1, 2, 3}));  // no final newline
    EXPECT_EQ(link::parse_trace(text_bytes("0\r\n5\r\n5\r\n10\r\n")), (v{0, 5, 5, 10}));
    EXPECT_EQ(link::parse_trace(text_bytes("4294967295\n")), (v{4294967295u}));
}

TEST(LinkParse, BadTraces) {
    using nettool::errc;
    auto what = [](std::string_view text) {
        return error_of([&] { (void)link::parse_trace(text_bytes(text)); }, errc::malformed);
    };
    EXPECT_NE(what("1\n3\n2\n").find("line 3"), std::string::npos);
    EXPECT_NE(what("").find("empty"), std::string::npos);
    EXPECT_NE(what("\n").find("line 1"), std::string::npos);
    EXPECT_NE(what("1\n\n2\n").find("line 2"), std::string::npos);
    EXPECT_NE(what("1\nabc\n").find("line 2: 'abc'"), std::string::npos);
    EXPECT_NE(what("1\n-2\n").find("line 2"), std::string::npos);
    EXPECT_NE(what(" 1\n").find("line 1"), std::string::npos);
    EXPECT_NE(what("1.5\n").find("line 1"), std::string::npos);
    EXPECT_NE(what("1\r2\n").find("line 1"), std::string::npos);
    EXPECT_NE(what("0\n0\n").find("line 2"), std::string::npos);  // period 0
    EXPECT_NE(what("1\n4294967296\n").find("line 2"), std::string::npos);
    EXPECT_NE(what(std::string_view{"1\n\0\n", 4}).find("line 2"), std::string::npos);

    std::error_code ec;
    const auto none = link::parse_trace(text_bytes("5\n3\n"), ec);
    EXPECT_EQ(ec, make_error_code(errc::malformed));
    EXPECT_TRUE(none.empty());
    const auto some = link::parse_trace(text_bytes("3\n5\n"), ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(some.size(), 2u);
}

TEST(LinkParse, TraceLineCap) {
    std::string big;
    big.reserve(20'000'002);
    for (int i = 0; i < 10'000'000; ++i) big += "1\n";
    EXPECT_EQ(link::parse_trace(text_bytes(big)).size(), 10'000'000u);
    big += "1\n";
    const auto what = error_of([&] { (void)link::parse_trace(text_bytes(big)); }, nettool::errc::malformed);
    EXPECT_NE(what.find("line 10000001"), std::string::npos) << what;
}

TEST(LinkParse, TraceTruncationSweep) {
    const std::string_view valid = "0\n5\r\n10\n10\n12\n20\n25\n1000\n4000000000";
    for (std::size_t n = 0; n <= valid.size(); ++n) {
        std::error_code ec;
        const auto trace = link::parse_trace(text_bytes(valid.substr(0, n)), ec);
        if (ec) {
            ASSERT_EQ(ec, make_error_code(nettool::errc::malformed)) << n;
            ASSERT_TRUE(trace.empty());
            continue;
        }
        ASSERT_FALSE(trace.empty()) << n;
        ASSERT_TRUE(std::is_sorted(trace.begin(), trace.end())) << n;
        ASSERT_NE(trace.back(), 0u) << n;
    }
    EXPECT_EQ(link::parse_trace(text_bytes(valid)).back(), 4000000000u);
}

TEST(LinkParse, LoadTrace) {
    temp_file f("5\n10\n");
    EXPECT_EQ(link::load_trace(f.path()), (std::vector<std::uint32_t>{5, 10}));
    temp_file bad("5\nx\n");
    const auto what = error_of([&] { (void)link::load_trace(bad.path()); }, nettool::errc::malformed);
    EXPECT_NE(what.find(bad.path()), std::string::npos);
    EXPECT_NE(what.find("line 2"), std::string::npos);
    try {
        (void)link::load_trace("/nonexistent/nettool.trace");
        ADD_FAILURE() << "no error";
    } catch (const nettool::error& e) {
        EXPECT_EQ(e.code(), std::error_code(ENOENT, std::system_category()));
        EXPECT_NE(std::string{e.what()}.find("/nonexistent/nettool.trace"), std::string::npos);
    }
}

TEST(LinkParse, LinkSpec) {
    const auto c = link::parse_link_spec(
        "delay=20ms,jitter=2ms,loss=1%,rate=50mbit,queue=codel,reorder=1%,duplicate=1%,corrupt=1%,"
        "distribution=normal,seed=7");
    EXPECT_EQ(c.uplink, c.downlink);
    EXPECT_EQ(c.seed, 7u);
    EXPECT_EQ(c.uplink.delay, 20ms);
    EXPECT_EQ(c.uplink.jitter, 2ms);
    EXPECT_EQ(c.uplink.distribution, link::jitter_distribution::normal);
    EXPECT_DOUBLE_EQ(c.uplink.loss, 0.01);
    EXPECT_DOUBLE_EQ(c.uplink.reorder, 0.01);
    EXPECT_DOUBLE_EQ(c.uplink.duplicate, 0.01);
    EXPECT_DOUBLE_EQ(c.uplink.corrupt, 0.01);
    EXPECT_EQ(c.uplink.rate_bps, 50'000'000u);
    EXPECT_EQ(c.uplink.queue.discipline, link::queue_discipline::codel);
    EXPECT_EQ(link::describe(c.uplink),
              "delay 20 ms +- 2 ms (normal), loss 1%, reorder 1%, duplicate 1%, corrupt 1%, rate 50 Mbit/s "
              "(codel)");
}

TEST(LinkParse, LinkSpecDirectionsAndCommasInValues) {
    // The up-/down- keys win over the plain ones, whatever the order.
    for (const char* spec : {"delay=10ms,up-delay=30ms", "up-delay=30ms,delay=10ms"}) {
        const auto c = link::parse_link_spec(spec);
        EXPECT_EQ(c.uplink.delay, 30ms) << spec;
        EXPECT_EQ(c.downlink.delay, 10ms) << spec;
    }
    const auto c = link::parse_link_spec(
        "loss-model=ge:1%,30%,delay=5ms,queue=codel:target=2ms,interval=50ms,packets=100,down-rate=1mbit,"
        "up-queue=droptail:packets=10,bytes=20000");
    ASSERT_TRUE(c.uplink.burst_loss);
    EXPECT_DOUBLE_EQ(c.uplink.burst_loss->r, 0.30);
    EXPECT_EQ(c.downlink.burst_loss, c.uplink.burst_loss);
    EXPECT_EQ(c.uplink.delay, 5ms);
    EXPECT_EQ(c.downlink.queue.codel_target, 2ms);
    EXPECT_EQ(c.downlink.queue.codel_interval, 50ms);
    EXPECT_EQ(c.downlink.queue.max_packets, 100u);
    EXPECT_EQ(c.uplink.queue.discipline, link::queue_discipline::droptail);
    EXPECT_EQ(c.uplink.queue.max_packets, 10u);
    EXPECT_EQ(c.uplink.queue.max_bytes, 20000u);
    EXPECT_EQ(c.downlink.rate_bps, 1'000'000u);
    EXPECT_EQ(c.uplink.rate_bps, 0u);
    EXPECT_EQ(c.seed, 1u);

    temp_file trace("5\n10\n");
    const auto t = link::parse_link_spec("up-trace=" + trace.path() + ",down-rate=2mbit");
    EXPECT_EQ(t.uplink.trace_ms, (std::vector<std::uint32_t>{5, 10}));
    EXPECT_TRUE(t.downlink.trace_ms.empty());
    EXPECT_EQ(link::describe(t.uplink), "trace 2 opportunities per 10 ms (droptail)");
}

TEST(LinkParse, BadLinkSpecs) {
    EXPECT_NE(error_of([] { (void)link::parse_link_spec("delya=1ms"); }).find("unknown key 'delya'"),
              std::string::npos);
    EXPECT_NE(error_of([] { (void)link::parse_link_spec("delay=1ms,up-seed=3"); }).find("'up-seed'"),
              std::string::npos);
    EXPECT_EQ(error_of([] { (void)link::parse_link_spec("delay=5ms,loss=150%"); }),
              "--link loss: '150%' is out of range: give 0 to 100%");
    EXPECT_NE(error_of([] { (void)link::parse_link_spec("up-loss=nan"); }).find("--link up-loss"),
              std::string::npos);
    EXPECT_NE(error_of([] { (void)link::parse_link_spec("delay=20ms,delay=30ms"); }).find("twice"),
              std::string::npos);
    EXPECT_NE(error_of([] { (void)link::parse_link_spec("queue=codel:target=5ms,delya=3"); }).find("'delya'"),
              std::string::npos);
    temp_file trace("5\n10\n");
    EXPECT_NE(
        error_of([&] { (void)link::parse_link_spec("rate=1mbit,up-trace=" + trace.path()); }).find("uplink"),
        std::string::npos);
    for (const char* bad : {"", "delay", "delay=", ",", "delay=1ms,", "seed=-1", "seed=x", "rate=10",
                            "distribution=gauss", "trace="}) {
        (void)error_of([&] { (void)link::parse_link_spec(bad); });
    }
    EXPECT_THROW((void)link::parse_link_spec("trace=/nonexistent/x.trace"), nettool::error);
}

TEST(LinkParse, Describe) {
    EXPECT_EQ(link::describe({}), "no impairment");
    link::direction_config c;
    c.delay = 20ms;
    c.loss = 0.01;
    c.rate_bps = 50'000'000;
    c.queue.discipline = link::queue_discipline::codel;
    EXPECT_EQ(link::describe(c), "delay 20 ms, loss 1%, rate 50 Mbit/s (codel)");
    c.burst_loss = link::gilbert_elliott{.p = 0.01, .r = 0.3, .loss_in_bad = 1, .loss_in_good = 0};
    c.rate_bps = 1'500'000'000;
    c.queue.discipline = link::queue_discipline::droptail;
    c.queue.max_packets = 100;
    EXPECT_EQ(link::describe(c),
              "delay 20 ms, burst loss ge 1%/30%/100%/0%, rate 1.5 Gbit/s (droptail 100 packets)");
}

}  // namespace
