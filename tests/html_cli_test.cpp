// `--html FILE` and `nettool report`: files written whole or a clear exit 1, run files that are not
// nettool runs refused with exit 2 and a line naming the file and the field.
#include "support/process.hpp"
#include "support/files.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nettool::test::run_nettool;

const std::string handshake_capture = std::string{NETTOOL_SOURCE_DIR} + "/data/captures/tcp-handshake.pcap";
const std::string sample_run_path = std::string{NETTOOL_SOURCE_DIR} + "/data/runs/tcp-rr.json";

using nettool::test::read_text;

class HtmlCli : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("nettool-html-cli-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path file(const std::string& name, const std::string& text) const {
        const auto p = dir_ / name;
        std::ofstream{p, std::ios::binary} << text;
        return p;
    }
    fs::path dir_;
};

TEST_F(HtmlCli, InspectWritesThePageBesideItsOutput) {
    const auto page = dir_ / "inspect.html";
    const auto r = run_nettool({"inspect", handshake_capture, "--html", page.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("protocol"), std::string::npos);  // the text report still printed
    const auto html = read_text(page);
    EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
    EXPECT_NE(html.find("Protocol hierarchy"), std::string::npos);
    EXPECT_NE(html.find("<title>nettool inspect</title>"), std::string::npos);
}

TEST_F(HtmlCli, AFailedHtmlWriteIsExitOneWithTheReason) {
    const auto r = run_nettool({"inspect", handshake_capture, "--html", "/dev/full"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("nettool: --html /dev/full: no space left on device: 0 of "), std::string::npos) << r.err;
    const auto missing = run_nettool({"inspect", handshake_capture, "--html", (dir_ / "no" / "such" / "dir.html").string()});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("no such file or directory"), std::string::npos) << missing.err;
    const auto empty = run_nettool({"inspect", handshake_capture, "--html", ""});
    EXPECT_EQ(empty.exit_code, 2) << empty.err;
}

TEST_F(HtmlCli, OnlyTheDrawableCommandsTakeHtml) {
    for (const char* c : {"tcp-vs-udp", "tcp", "udp", "dns", "inspect", "trace", "link"}) {
        const auto r = run_nettool({c, "--help"});
        EXPECT_NE(r.out.find("--html"), std::string::npos) << c;
    }
    const auto r = run_nettool({"netmask", "10.0.0.0/8", "--html", (dir_ / "x.html").string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST_F(HtmlCli, ReportRefusesWhatIsNotANettoolRun) {
    const auto out = (dir_ / "out.html").string();
    struct bad {
        std::string text;
        std::string message;
    };
    const std::vector<bad> cases = {
        {"", "not a nettool run it can draw: not JSON (byte 1)"},
        {"hello", "not a nettool run it can draw: not JSON (byte 1)"},
        {"[1, 2]", "not a nettool run it can draw: (document): not an object"},
        {R"({"schema_version": 2, "command": "tcp"})", "schema_version: 2 is not 1"},
        {R"({"schema_version": 1, "command": "netmask"})", "command: 'netmask' is not a command nettool report draws"},
        {R"({"schema_version": 1, "command": "tcp", "mode": "rr", "result": {"rtt": {"count": "x"}}})",
         "result.rtt.count: not a number"},
    };
    for (const auto& c : cases) {
        const auto f = file("run.json", c.text);
        const auto r = run_nettool({"report", f.string(), "-o", out});
        EXPECT_EQ(r.exit_code, 2) << c.text;
        EXPECT_NE(r.err.find("nettool: " + f.string() + ": "), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
        EXPECT_FALSE(fs::exists(out)) << "a page was written for " << c.text;
    }
    const auto missing = run_nettool({"report", (dir_ / "none.json").string(), "-o", out});
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.err.find("none.json: no such file or directory"), std::string::npos) << missing.err;
    const auto directory = run_nettool({"report", dir_.string(), "-o", out});
    EXPECT_EQ(directory.exit_code, 2);
    EXPECT_NE(directory.err.find("is a directory"), std::string::npos) << directory.err;
    const auto no_output = run_nettool({"report", sample_run_path});
    EXPECT_EQ(no_output.exit_code, 2);
    EXPECT_NE(no_output.err.find("--output is required"), std::string::npos) << no_output.err;
}

TEST_F(HtmlCli, ReportWritesThePageOrSaysWhyNot) {
    const auto out = dir_ / "rr.html";
    const auto r = run_nettool({"report", sample_run_path, sample_run_path, "-o", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("nettool report: " + out.string() + ": 2 runs, "), std::string::npos) << r.err;
    const auto html = read_text(out);
    EXPECT_NE(html.find("tcp-rr: TCP rr"), std::string::npos);
    EXPECT_NE(html.find("tcp-rr (2): TCP rr"), std::string::npos);
    const auto full = run_nettool({"report", sample_run_path, "-o", "/dev/full"});
    EXPECT_EQ(full.exit_code, 1);
    EXPECT_NE(full.err.find("nettool: /dev/full: no space left on device"), std::string::npos) << full.err;
    const auto quiet = run_nettool({"-q", "report", sample_run_path, "-o", out.string()});
    EXPECT_EQ(quiet.exit_code, 0);
    EXPECT_EQ(quiet.err, "");
}

}  // namespace
