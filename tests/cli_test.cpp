// The nettool program's contract: help, version, exit codes and one-line errors.
#include "support/process.hpp"
#include "support/files.hpp"

#include <nettool/core/version.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace {

using nettool::test::run_nettool;

using nettool::test::count_lines;

TEST(Cli, VersionPrintsVersionAndExitsZero) {
    auto r = run_nettool({"--version"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, std::string("nettool ") + nettool::version_string + "\n");
}

TEST(Cli, HelpListsExitCodesAndExitsZero) {
    auto r = run_nettool({"--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("Exit status:"), std::string::npos);
    EXPECT_NE(r.out.find("2  usage error"), std::string::npos);
    EXPECT_NE(r.out.find("--json"), std::string::npos);
}

TEST(Cli, UnknownSubcommandIsOneLineAndExitTwo) {
    auto r = run_nettool({"frobnicate"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("unknown subcommand 'frobnicate'"), std::string::npos) << r.err;
}

TEST(Cli, UnknownOptionIsOneLineAndExitTwo) {
    auto r = run_nettool({"--frobnicate"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("--frobnicate"), std::string::npos) << r.err;
}

TEST(Cli, NoSubcommandIsUsageError) {
    auto r = run_nettool({});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("no subcommand"), std::string::npos) << r.err;
}

// ---------------------------------------------------------------------------------------------
// One contract in every subcommand (issue 18): usage errors exit 2, failures 1, one bounded line
// with control bytes escaped.

TEST(CliContract, ControlBytesInAnArgumentAreEscaped) {
    auto r = run_nettool({"tcp", "evil\x1b[31mred\x07\xc2\x9b|\x9b|\nsecond line"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    for (const char c : r.err.substr(0, r.err.size() - 1)) {
        EXPECT_TRUE(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) << "raw control byte in: " << r.err;
    }
    EXPECT_NE(r.err.find("evil\\x1b[31mred\\x07"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("\\u009b|\\x9b|"), std::string::npos) << r.err;  // C1 CSI as UTF-8, and alone
    EXPECT_NE(r.err.find("\\nsecond line"), std::string::npos) << r.err;
}

TEST(CliContract, AHugeArgumentIsCutInTheMiddle) {
    const std::string huge(10000, 'a');
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"tcp", huge + "!"}, {"netmask", huge}, {"dns", "x.example", "--server", huge}, {"--" + huge}}) {
        auto r = run_nettool(args);
        EXPECT_EQ(r.exit_code, 2) << args.front();
        EXPECT_EQ(count_lines(r.err), 1u) << r.err.substr(0, 200);
        EXPECT_LE(r.err.size(), 9 + 480 + 1u) << r.err.substr(0, 200);
        EXPECT_NE(r.err.find(" bytes cut ...]"), std::string::npos) << r.err.substr(0, 200);
    }
}

TEST(CliContract, TheSameMistakeIsTheSameExitCode) {
    // An address that cannot be one: 2 wherever a host is taken.
    for (const auto& args : std::vector<std::vector<std::string>>{{"tcp", "256.1.1.1"},
                                                                  {"udp", "256.1.1.1"},
                                                                  {"dns", "--server", "256.1.1.1", "x.example"},
                                                                  {"tcp-vs-udp", "1.2.3.999"}}) {
        auto r = run_nettool(args, std::chrono::seconds{20});
        EXPECT_EQ(r.exit_code, 2) << args.front() << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1u) << r.err;
        EXPECT_EQ(r.out, "") << args.front();
    }
    // A file named on the command line that does not exist: 2 wherever a file is read.
    for (const auto& args : std::vector<std::vector<std::string>>{{"inspect", "/nonexistent/x.pcap"},
                                                                  {"classify", "-f", "/nonexistent/list"},
                                                                  {"inspect", "/"}}) {
        auto r = run_nettool(args);
        EXPECT_EQ(r.exit_code, 2) << args.front() << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    }
}

}  // namespace
