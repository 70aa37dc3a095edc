// The nettool program's contract: help, version, exit codes and one-line errors.
#include "support/process.hpp"

#include <nettool/core/version.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <algorithm>

namespace {

using nettool::test::run_nettool;

std::size_t lines(const std::string& s) {
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

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
    EXPECT_EQ(lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("unknown subcommand 'frobnicate'"), std::string::npos) << r.err;
}

TEST(Cli, UnknownOptionIsOneLineAndExitTwo) {
    auto r = run_nettool({"--frobnicate"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("--frobnicate"), std::string::npos) << r.err;
}

TEST(Cli, NoSubcommandIsUsageError) {
    auto r = run_nettool({});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("no subcommand"), std::string::npos) << r.err;
}

}  // namespace
