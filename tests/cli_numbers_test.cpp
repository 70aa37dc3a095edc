// Every number on the command line is validated once, in one place (issue 18): each numeric option
// of each subcommand, fed the values that used to slip through, either ends in exit 2 with one
// line naming the option, or -- where the value means something, like 0 for "no limit" -- runs
// and ends on its own.
//
// Nothing here touches a network beyond loopback: probes aim at 127.0.0.1:1 (refused at once),
// broadcast, wol, capture and listen --ether name an interface that does not exist, so an
// accepted value fails at the interface lookup before anything is sent.
#include "support/process.hpp"
#include "support/responder_fixture.hpp"
#include "support/files.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using nettool::test::run_nettool;

constexpr auto bound = 10s;  // every run, accepted or not, ends well before this
const std::string no_such_interface = "nettool-none0";

using nettool::test::count_lines;

// The values every numeric option is fed; each one broke at least one option before.
const std::vector<std::string>& hostile_values() {
    static const std::vector<std::string> v{"nan",   "inf",  "-1",   "0",  "",  "18446744073709551616",
                                            "1e309", "1e-7", "-inf", "1x", " 5"};
    return v;
}

struct numeric_option {
    std::vector<std::string> base;      ///< subcommand and arguments under which an accepted value ends fast
    std::string option;                 ///< long name, given as --option=VALUE
    std::vector<std::string> accepted;  ///< hostile values that mean something for this option (0: no limit)
};

std::string dns_query_file() {
    static const std::string path = [] {
        const auto p = std::filesystem::temp_directory_path() / "nettool-cli-numbers-queries.txt";
        std::ofstream{p} << "localhost A\n";
        return p.string();
    }();
    return path;
}

std::vector<numeric_option> numeric_options() {
    const std::vector<std::string> tcp{"tcp", "127.0.0.1:1"};
    const std::vector<std::string> udp_short{"udp", "127.0.0.1:1", "--count=3", "--timeout=0.2"};
    const std::vector<std::string> tvu{"tcp-vs-udp", "127.0.0.1:1"};
    const std::vector<std::string> serve{"serve", "--bind=127.0.0.1"};
    const std::vector<std::string> dns{"dns", "localhost", "--server=127.0.0.1:1", "--count=1",
                                       "--timeout=0.2"};
    const std::vector<std::string> dns_load{"dns", "--queries=" + dns_query_file(), "--server=127.0.0.1:1",
                                            "--duration=0.2", "--timeout=0.1"};
    const std::vector<std::string> capture{"capture", "--interface=" + no_such_interface};
    const std::vector<std::string> listen{"listen", "--ether", "--interface=" + no_such_interface};
    const std::vector<std::string> bcast{"broadcast", "--interface=" + no_such_interface, "--udp=9"};
    const std::vector<std::string> bcast_ether{"broadcast", "--interface=" + no_such_interface, "--ether"};
    const std::vector<std::string> wol{"wol", "00:11:22:33:44:55", "--interface=" + no_such_interface,
                                       "--udp"};
    const std::vector<std::string> inspect{"inspect", "/nonexistent/nettool-cli-numbers.pcap"};
    const std::vector<std::string> link{"link", "--delay=bogus"};
    const std::vector<std::string> trace{"trace", "127.0.0.1", "-n", "--max-hops=2",
                                         "--timeout=0.2"};  // fails at the delay once --seed is taken
    const std::vector<std::string> tls{"tls", "127.0.0.1:1", "--timeout=0.2"};
    return {
        {tcp, "count", {}},
        {tcp, "duration", {}},
        {tcp, "size", {}},
        {tcp, "interval", {"0"}},
        {tcp, "timeout", {}},
        {{"tcp", "127.0.0.1:1", "--mode=stream"}, "parallel", {}},
        {udp_short, "count", {}},
        {udp_short, "duration", {}},
        {udp_short, "size", {}},
        {udp_short, "rate", {"0"}},
        {udp_short, "interval", {"0"}},
        {udp_short, "timeout", {}},
        {tvu, "size", {}},
        {tvu, "count", {}},
        {tvu, "duration", {}},
        {serve, "port", {}},
        {serve, "max-sessions", {}},
        {serve, "max-sessions-per-source", {}},
        {serve, "max-session-rate-per-source", {}},
        {dns, "count", {}},
        {dns, "interval", {"0"}},
        {dns, "timeout", {}},
        {dns, "edns-size", {}},
        {dns_load, "duration", {}},
        {dns_load, "concurrency", {}},
        {dns_load, "rate", {"0"}},
        {capture, "count", {"0"}},
        {capture, "duration", {"0"}},
        {capture, "snaplen", {}},
        {capture, "buffer-size", {}},
        {{"listen", "--timeout=0.2"}, "udp", {}},
        {listen, "ethertype", {}},
        {listen, "count", {"0"}},
        {listen, "timeout", {"0"}},
        {{"broadcast", "--interface=" + no_such_interface}, "udp", {}},
        {bcast_ether, "ethertype", {}},
        {bcast, "count", {}},
        {bcast, "interval", {"0"}},
        {bcast, "max-rate", {}},
        {wol, "port", {}},
        {wol, "count", {}},
        {inspect, "max-flows", {}},
        {inspect, "rows", {}},
        {inspect, "dns-port", {}},
        {trace, "port", {}},
        {trace, "first-hop", {}},
        {trace, "max-hops", {}},
        {trace, "queries", {}},
        {trace, "count", {}},
        {trace, "interval", {}},
        {trace, "timeout", {}},
        {trace, "paths", {}},
        {tls, "count", {}},
        {tls, "timeout", {}},
        {link, "seed", {"0"}},
        {link, "mtu", {}},
    };
}

std::string describe(const std::vector<std::string>& args) {
    std::string s = "nettool";
    for (const auto& a : args) s += " '" + a + "'";
    return s;
}

TEST(CliNumbers, EveryNumericOptionRefusesWhatIsNotANumberInRange) {
    for (const auto& o : numeric_options()) {
        for (const auto& value : hostile_values()) {
            // The option under test replaces the base's own setting of it, if any.
            std::vector<std::string> args;
            for (const auto& a : o.base)
                if (a.rfind("--" + o.option + "=", 0) != 0) args.push_back(a);
            // As typed: "--count -1" is a value to CLI11, "--count -inf" would be -i nf.
            if (!value.empty() && value[0] == '-') {
                args.push_back("--" + o.option + "=" + value);
            } else {
                args.push_back("--" + o.option);
                args.push_back(value);
            }
            const auto r = run_nettool(args, bound);
            const auto what = describe(args);
            ASSERT_FALSE(r.timed_out) << what << " did not end within " << bound.count() << " s";
            const bool accepted = std::find(o.accepted.begin(), o.accepted.end(), value) != o.accepted.end();
            if (accepted) {
                // A meaningful value: the run goes on and fails (or succeeds) for its own reasons.
                EXPECT_EQ(r.err.find("--" + o.option + ":"), std::string::npos) << what << ": " << r.err;
                continue;
            }
            EXPECT_EQ(r.exit_code, 2) << what << ": " << r.err;
            EXPECT_EQ(r.out, "") << what;
            EXPECT_EQ(count_lines(r.err), 1u) << what << ": " << r.err;
            EXPECT_NE(r.err.find("--" + o.option + ": "), std::string::npos) << what << ": " << r.err;
            EXPECT_NE(r.err.find("give "), std::string::npos) << what << ": " << r.err;
        }
    }
}

TEST(CliNumbers, MessagesNameTheUnitAndTheRange) {
    const auto r = run_nettool({"tcp", "127.0.0.1:1", "--timeout", "nan"}, bound);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err,
              "nettool: --timeout: 'nan' is not a number of seconds: give 0.001 to 86400 (see --help)\n");

    const auto tiny = run_nettool({"udp", "127.0.0.1:1", "-t", "1e-9"}, bound);
    EXPECT_EQ(tiny.exit_code, 2);
    EXPECT_EQ(tiny.err,
              "nettool: --timeout: '1e-9' is below the minimum of 0.001 seconds: give 0.001 to 86400 (see "
              "--help)\n");

    const auto big = run_nettool({"capture", "-c", "18446744073709551616"}, bound);
    EXPECT_EQ(big.exit_code, 2);
    EXPECT_NE(big.err.find("--count: '18446744073709551616' is above the maximum of"), std::string::npos)
        << big.err;
    EXPECT_NE(big.err.find("packets"), std::string::npos) << big.err;
    EXPECT_NE(big.err.find("or 0 for no limit"), std::string::npos) << big.err;
}

// "--timeout=" is "no value" to CLI11, not an empty one: still one line, exit 2, the range shown.
TEST(CliNumbers, AnEmptyValueAfterEqualsIsAUsageError) {
    for (const auto& o : numeric_options()) {
        std::vector<std::string> args;
        for (const auto& a : o.base)
            if (a.rfind("--" + o.option + "=", 0) != 0) args.push_back(a);
        args.push_back("--" + o.option + "=");
        const auto r = run_nettool(args, bound);
        ASSERT_FALSE(r.timed_out) << describe(args);
        EXPECT_EQ(r.exit_code, 2) << describe(args) << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1u) << describe(args) << ": " << r.err;
        EXPECT_NE(r.err.find("--" + o.option + ": "), std::string::npos) << describe(args) << ": " << r.err;
    }
}

// The command lines of the issue, as a user types them (value as its own word).
TEST(CliNumbers, TheIssuesCommandLinesAreUsageErrors) {
    const std::vector<std::vector<std::string>> cases{
        {"broadcast", "-i", no_such_interface, "--udp", "9", "-c", "2000", "--interval", "inf"},
        {"broadcast", "-i", no_such_interface, "--udp", "9", "-c", "2000", "--interval", "1e20"},
        {"broadcast", "-i", no_such_interface, "--udp", "9", "-c", "2000", "--interval", "1e309"},
        {"broadcast", "-i", no_such_interface, "--udp", "9", "-c", "2000", "--interval",
         "18446744073709551617"},
        {"broadcast", "-i", no_such_interface, "--udp", "9", "-c", "2000", "--max-rate", "inf"},
        {"tcp", "127.0.0.1:1", "-i", "nan"},
        {"capture", "-i", no_such_interface, "-d", "nan"},
        {"capture", "-i", no_such_interface, "-c", ""},
        {"capture", "-i", no_such_interface, "-c", "-1"},
        {"capture", "-i", no_such_interface, "-d", "0.0001"},
        {"udp", "127.0.0.1:1", "-t", "0.0001"},
        {"listen", "--udp", "9", "-t", "0.0001"},
        {"listen", "--udp", "9", "-t", ""},
    };
    for (const auto& args : cases) {
        const auto r = run_nettool(args, bound);
        ASSERT_FALSE(r.timed_out) << describe(args);
        EXPECT_EQ(r.exit_code, 2) << describe(args) << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1u) << describe(args) << ": " << r.err;
        EXPECT_NE(r.err.find("give "), std::string::npos) << describe(args) << ": " << r.err;
    }
}

// The shortest durations that are accepted end on time: 1 ms is 1 ms, not "no limit".
using CliNumbersProbe = nettool::test::responder_fixture;

TEST_F(CliNumbersProbe, OneMillisecondTimeoutsAndDurationsEnd) {
    const auto t = target_.to_string();
    const std::vector<std::vector<std::string>> cases{
        {"udp", t, "--timeout", "0.001", "--count", "200"},
        {"udp", t, "--timeout", "0.001", "--duration", "0.001"},
        {"udp", t, "--mode", "stream", "--duration", "0.001"},
        {"tcp", t, "--timeout", "0.001", "--count", "50"},
        {"tcp", t, "--mode", "stream", "--duration", "0.001"},
        {"tcp", t, "--mode", "connect", "--timeout", "0.001", "--count", "5"},
    };
    for (const auto& args : cases) {
        const auto r = run_nettool(args, bound);
        EXPECT_FALSE(r.timed_out) << describe(args);
        EXPECT_NE(r.exit_code, 2) << describe(args) << ": " << r.err;
    }
}

TEST(CliNumbers, TheShortestDurationsEnd) {
    const auto port = std::to_string(nettool::test::free_port());
    const auto listen = run_nettool({"listen", "--udp", port, "-t", "0.001"}, bound);
    EXPECT_FALSE(listen.timed_out);
    EXPECT_EQ(listen.exit_code, 1) << listen.err;  // nothing received before the timeout
    const auto listen_rounded = run_nettool({"listen", "--udp", port, "-t", "0.0015"}, bound);
    EXPECT_FALSE(listen_rounded.timed_out);
    EXPECT_EQ(listen_rounded.exit_code, 1) << listen_rounded.err;
}

}  // namespace
