// The committed data/ folder used for real:
// - every capture of data/captures (recorded by data/make-captures.sh) inspected by the nettool
//   under test, text and JSON, from the source directory, and compared with its golden files
//   (data/captures/NAME.inspect.txt line by line, NAME.inspect.json as parsed documents);
// - every capture cut inside a record: inspected without a crash, exit status 0, what came
//   before the cut counted and a note saying reading stopped early (docs/inspect.md);
// - data/dns query files in load mode against a dnsmasq holding the records they name;
// - data/prefixes address lists through classify --file, and in a namespace lab with known
//   routes, each address of lab.txt gets the kind its comment names.
//
// Nothing in inspect's output is normalised: it depends only on the file (no elapsed time, no
// absolute path when given a relative one, times printed in UTC from the packets). Goldens change
// only through data/regenerate-golden.sh.
#include "support/netns_lab.hpp"
#include "support/process.hpp"
#include "support/files.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nettool::test::process_result;
using nettool::test::run_nettool;
using nettool::test::run_process;

const fs::path source_dir{NETTOOL_SOURCE_DIR};

constexpr const char* regenerate_hint =
    "If this change of output is intended, run data/regenerate-golden.sh, read its diff and commit "
    "the golden files with the change; if not, nettool inspect changed behaviour.";

using nettool::test::read_text;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string clip(std::string s, std::size_t n = 300) {
    if (s.size() > n) s = s.substr(0, n) + "...";
    return s;
}

// "" when equal; else the golden's name, the first differing line (1-based), expected and actual.
std::string first_line_difference(const std::string& golden, const std::string& expected,
                                  const std::string& actual) {
    const auto e = lines_of(expected);
    const auto a = lines_of(actual);
    for (std::size_t i = 0; i < std::max(e.size(), a.size()); ++i) {
        if (i < e.size() && i < a.size() && e[i] == a[i]) continue;
        return fmt::format("{} line {} differs\n  expected: {}\n  actual:   {}\n{}", golden, i + 1,
                           i < e.size() ? e[i] : "(end of file)", i < a.size() ? a[i] : "(end of output)",
                           regenerate_hint);
    }
    if (expected != actual)  // same lines, different line ends
        return fmt::format("{}: same lines, different final newline\n{}", golden, regenerate_hint);
    return {};
}

// "" when equal; else the first differing JSON pointer with both values.
std::string first_json_difference(const std::string& golden, const nlohmann::json& expected,
                                  const nlohmann::json& actual) {
    if (expected == actual) return {};
    const auto patch = nlohmann::json::diff(expected, actual);
    const auto path = patch.at(0).at("path").get<std::string>();
    const nlohmann::json::json_pointer ptr{path};
    return fmt::format("{}: first differing JSON pointer '{}' ({})\n  expected: {}\n  actual:   {}\n{}",
                       golden, path, patch.at(0).at("op").get<std::string>(),
                       expected.contains(ptr) ? clip(expected.at(ptr).dump()) : "(absent)",
                       actual.contains(ptr) ? clip(actual.at(ptr).dump()) : "(absent)", regenerate_hint);
}

// Every capture of data/captures, relative to the source directory ("data/captures/x.pcap").
std::vector<std::string> capture_files() {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(source_dir / "data" / "captures", ec)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng"))
            files.push_back((fs::path{"data"} / "captures" / e.path().filename()).string());
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::string golden_path(const std::string& capture, const char* kind) {
    return (fs::path{capture}.parent_path() / fs::path{capture}.stem()).string() + ".inspect." + kind;
}

// nettool inspect run the way data/regenerate-golden.sh runs it: from the source directory, on
// the relative path.
process_result inspect_from_source_dir(const std::string& capture, bool json) {
    std::vector<std::string> argv{"env", "-C", NETTOOL_SOURCE_DIR, NETTOOL_BIN, "inspect", capture};
    if (json) argv.emplace_back("--json");
    return run_process(argv, 60s);
}

TEST(GoldenData, CapturesArePresentAndNoGoldenIsOrphaned) {
    const auto captures = capture_files();
    ASSERT_FALSE(captures.empty()) << "no captures in " << (source_dir / "data" / "captures");
    const std::set<std::string> names(captures.begin(), captures.end());
    for (const auto& e : fs::directory_iterator(source_dir / "data" / "captures")) {
        const auto name = e.path().filename().string();
        for (const char* suffix : {".inspect.txt", ".inspect.json"}) {
            const std::string s{suffix};
            if (name.size() <= s.size() || name.compare(name.size() - s.size(), s.size(), s) != 0) continue;
            const auto stem = "data/captures/" + name.substr(0, name.size() - s.size());
            EXPECT_TRUE(names.count(stem + ".pcap") || names.count(stem + ".pcapng"))
                << "data/captures/" << name << " has no capture: delete it or restore the capture";
        }
    }
}

class GoldenCapture : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenCapture, InspectTextMatchesGolden) {
    const auto& capture = GetParam();
    const auto golden = golden_path(capture, "txt");
    ASSERT_TRUE(fs::exists(source_dir / golden))
        << capture << " has no golden file " << golden
        << ": a new capture needs its goldens; run data/regenerate-golden.sh and commit them";
    const auto r = inspect_from_source_dir(capture, false);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    const auto diff = first_line_difference(golden, read_text(source_dir / golden), r.out);
    EXPECT_TRUE(diff.empty()) << diff;
}

TEST_P(GoldenCapture, InspectJsonMatchesGolden) {
    const auto& capture = GetParam();
    const auto golden = golden_path(capture, "json");
    ASSERT_TRUE(fs::exists(source_dir / golden))
        << capture << " has no golden file " << golden
        << ": a new capture needs its goldens; run data/regenerate-golden.sh and commit them";
    const auto r = inspect_from_source_dir(capture, true);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto expected = nlohmann::json::parse(read_text(source_dir / golden), nullptr, false);
    ASSERT_FALSE(expected.is_discarded()) << golden << " is not valid JSON";
    const auto actual = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(actual.is_discarded())
        << "nettool inspect --json " << capture << " printed no JSON document";
    const auto diff = first_json_difference(golden, expected, actual);
    EXPECT_TRUE(diff.empty()) << diff;
}

// The offsets of a classic pcap file's records (header start, captured length); nullopt when the
// file is not classic pcap (pcapng).
struct record_span {
    std::size_t offset = 0;
    std::uint32_t caplen = 0;
};
std::optional<std::vector<record_span>> pcap_records(const std::string& bytes) {
    if (bytes.size() < 24) return std::nullopt;
    auto u32 = [&](std::size_t at, bool swap) {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            const auto b = static_cast<std::uint8_t>(bytes[at + static_cast<std::size_t>(swap ? 3 - i : i)]);
            v |= static_cast<std::uint32_t>(b) << (8 * i);
        }
        return v;
    };
    const auto magic = u32(0, false);
    bool swap = false;
    if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
        swap = false;
    else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
        swap = true;
    else
        return std::nullopt;
    std::vector<record_span> records;
    std::size_t at = 24;
    while (at + 16 <= bytes.size()) {
        const auto caplen = u32(at + 8, swap);
        if (at + 16 + caplen > bytes.size()) break;
        records.push_back({at, caplen});
        at += 16 + caplen;
    }
    return records;
}

TEST_P(GoldenCapture, CutInsideARecordStillInspects) {
    const auto& capture = GetParam();
    const auto bytes = read_text(source_dir / capture);
    const auto records = pcap_records(bytes);
    if (!records) GTEST_SKIP() << capture << " is not classic pcap; the cut walks pcap records";
    ASSERT_GE(records->size(), 2u) << capture;
    const auto golden =
        nlohmann::json::parse(read_text(source_dir / golden_path(capture, "json")), nullptr, false);
    if (!golden.is_discarded()) {
        EXPECT_EQ(golden["packets"], records->size()) << "the golden disagrees with the file";
    }

    const std::size_t k = records->size() / 2;  // the record cut; k records come before it
    const auto& rec = (*records)[k];
    const std::pair<const char*, std::size_t> cuts[] = {
        {"inside the record header", rec.offset + 8},
        {"inside the packet bytes", rec.offset + 16 + std::max<std::uint32_t>(rec.caplen / 2, 1)},
    };
    const auto path = fs::temp_directory_path() / fmt::format("nettool-golden-{}-cut-{}", ::getpid(),
                                                              fs::path{capture}.filename().string());
    for (const auto& [where, length] : cuts) {
        SCOPED_TRACE(fmt::format("{} cut {} (at byte {} of {})", capture, where, length, bytes.size()));
        {
            std::ofstream out{path, std::ios::binary | std::ios::trunc};
            out.write(bytes.data(), static_cast<std::streamsize>(length));
        }
        const auto j = run_nettool({"inspect", path.string(), "--json"});
        ASSERT_FALSE(j.timed_out);
        ASSERT_EQ(j.exit_code, 0) << j.err;  // docs/inspect.md: a file ending inside a record is read
        const auto doc = nlohmann::json::parse(j.out, nullptr, false);
        ASSERT_FALSE(doc.is_discarded()) << j.out;
        EXPECT_EQ(doc["packets"], k);
        ASSERT_FALSE(doc["notes"].empty()) << j.out;
        EXPECT_NE(doc["notes"].back().get<std::string>().find("reading stopped early"), std::string::npos)
            << doc["notes"];
        const auto t = run_nettool({"inspect", path.string()});
        EXPECT_EQ(t.exit_code, 0) << t.err;
        EXPECT_NE(t.out.find("reading stopped early"), std::string::npos) << t.out;
    }
    fs::remove(path);
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
    auto name = fs::path{info.param}.stem().string();
    for (auto& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return name;
}

INSTANTIATE_TEST_SUITE_P(Captures, GoldenCapture, ::testing::ValuesIn(capture_files()), test_name);

// ---------------------------------------------------------------------------------------------
// data/dns: a query file in load mode against dnsmasq holding exactly the records it names

struct file_query {
    std::string name;
    std::string type;
};

// The non-comment lines of a dnsperf-style query file ('#' or ';' starts a comment).
std::vector<file_query> query_lines(const fs::path& file) {
    std::vector<file_query> out;
    for (auto line : lines_of(read_text(file))) {
        if (const auto c = line.find_first_of("#;"); c != std::string::npos) line.erase(c);
        std::istringstream words{line};
        file_query q;
        if (!(words >> q.name)) continue;
        if (!(words >> q.type)) q.type = "A";
        std::transform(q.type.begin(), q.type.end(), q.type.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        out.push_back(q);
    }
    return out;
}

TEST(GoldenData, DnsQueryFileAnsweredInLoadMode) {
    if (run_process({"sh", "-c", "command -v dnsmasq"}).exit_code != 0) GTEST_SKIP() << "needs dnsmasq";
    const auto port = nettool::test::free_port();
    ASSERT_NE(port, 0);
    const auto server = "127.0.0.1:" + std::to_string(port);
    // The records of data/make-captures.sh (and of the comment at the top of the query file).
    nettool::test::background_process dnsmasq{
        {"dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=" + std::to_string(port),
         "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
         "--local=/example.test/", "--host-record=www.example.test,198.51.100.80,2001:db8:1::80",
         "--mx-host=example.test,mail.example.test,10", "--host-record=mail.example.test,198.51.100.25",
         "--txt-record=txt.example.test,v=nettool sample record"}};
    bool up = false;
    for (int i = 0; i < 50 && !up; ++i) {
        up = run_nettool({"dns", "www.example.test", "--server", server, "--count", "1", "--timeout", "0.2"})
                 .exit_code == 0;
        if (!up) std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(up) << "dnsmasq did not answer on " << server;

    for (const auto& entry : fs::directory_iterator(source_dir / "data" / "dns")) {
        const auto file = entry.path();
        SCOPED_TRACE(file.string());
        const auto queries = query_lines(file);
        ASSERT_FALSE(queries.empty());

        // Each line on its own: NOERROR with at least one record of the asked type.
        for (const auto& q : queries) {
            const auto r =
                run_nettool({"dns", q.name, "--type", q.type, "--server", server, "--count", "1", "--json"});
            ASSERT_EQ(r.exit_code, 0) << q.name << " " << q.type << ": " << r.err;
            const auto resp = nlohmann::json::parse(r.out)["servers"][0]["response"];
            EXPECT_EQ(resp["rcode"], "NOERROR") << q.name << " " << q.type;
            bool has_type = false;
            for (const auto& rr : resp["answer"])
                has_type =
                    has_type || rr.get<std::string>().find("\tIN\t" + q.type + "\t") != std::string::npos;
            EXPECT_TRUE(has_type) << q.name << " " << q.type << ": " << resp["answer"];
        }

        // The whole file in load mode: every line read, every query sent at least once (queries go
        // round-robin through the file), every one answered NOERROR, none lost.
        const auto r =
            run_nettool({"dns", "--queries", file.string(), "--server", server, "--duration", "0.3", "--rate",
                         "1000", "--concurrency", "4", "--timeout", "1", "--json"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto j = nlohmann::json::parse(r.out);
        EXPECT_EQ(j["queries_in_file"], queries.size());
        const auto& l = j["load"];
        EXPECT_GE(l["sent"].get<std::uint64_t>(), queries.size()) << l;
        EXPECT_EQ(l["answered"], l["sent"]) << l;
        EXPECT_EQ(l["lost"], 0) << l;
        EXPECT_EQ(l["rcodes"], (nlohmann::json{{"NOERROR", l["answered"]}})) << l;
    }
}

// ---------------------------------------------------------------------------------------------
// data/prefixes: address lists for classify --file

// The addresses of a classify --file list and the comment of each line ('#' starts a comment).
std::vector<std::pair<std::string, std::string>> address_lines(const fs::path& file) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto line : lines_of(read_text(file))) {
        std::string comment;
        if (const auto c = line.find('#'); c != std::string::npos) {
            comment = line.substr(c + 1);
            line.erase(c);
        }
        std::istringstream words{line};
        std::string address;
        if (words >> address) out.emplace_back(address, comment);
    }
    return out;
}

TEST(GoldenData, ClassifyFileClassifiesEveryLine) {
    const std::set<std::string> kinds{"loopback", "self", "local", "remote", "unreachable"};
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(source_dir / "data" / "prefixes")) {
        const auto file = entry.path();
        SCOPED_TRACE(file.string());
        ++files;
        const auto lines = address_lines(file);
        ASSERT_FALSE(lines.empty());
        const auto r = run_nettool({"--json", "classify", "--file", file.string()});
        // 0, or 1 when some address is unreachable from this host (documented); never 2.
        ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << " " << r.err;
        const auto j = nlohmann::json::parse(r.out);
        ASSERT_EQ(j["count"], lines.size());
        ASSERT_EQ(j["results"].size(), lines.size());
        for (std::size_t i = 0; i < lines.size(); ++i) {
            EXPECT_EQ(j["results"][i]["address"], lines[i].first) << "line " << i;
            EXPECT_TRUE(kinds.count(j["results"][i]["kind"].get<std::string>())) << j["results"][i];
        }
    }
    EXPECT_GT(files, 0u);
}

TEST(GoldenData, ClassifyLabListGetsTheKindsItsCommentsName) {
    if (!nettool::test::is_root()) GTEST_SKIP() << "needs root to build the network namespace lab";
    nettool::test::netns_lab lab{"gd"};
    const auto ns = lab.add_namespace("c");
    const auto peer = lab.add_namespace("p");
    ASSERT_FALSE(ns.empty());
    ASSERT_FALSE(peer.empty());
    ASSERT_TRUE(lab.veth(ns, "lab0", peer, "lab1")) << lab.errors();
    ASSERT_TRUE(lab.ip(ns, {"addr", "add", "198.51.100.1/24", "dev", "lab0"})) << lab.errors();
    ASSERT_TRUE(lab.ip(ns, {"addr", "add", "2001:db8:1::1/64", "dev", "lab0", "nodad"})) << lab.errors();
    ASSERT_TRUE(lab.ip(ns, {"route", "add", "203.0.113.0/24", "via", "198.51.100.254"})) << lab.errors();
    ASSERT_TRUE(lab.ip(ns, {"-6", "route", "add", "2001:db8:2::/48", "via", "2001:db8:1::fe"}))
        << lab.errors();

    const auto file = source_dir / "data" / "prefixes" / "lab.txt";
    const auto lines = address_lines(file);
    ASSERT_FALSE(lines.empty());
    const auto r = lab.exec(ns, {NETTOOL_BIN, "--json", "classify", "--file", file.string()});
    EXPECT_EQ(r.exit_code, 1) << "lab.txt lists unreachable addresses: exit status 1. " << r.err;
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["results"].size(), lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::istringstream words{lines[i].second};
        std::string expected;
        words >> expected;
        if (!expected.empty() && expected.back() == ':') expected.pop_back();
        EXPECT_EQ(j["results"][i]["address"], lines[i].first);
        EXPECT_EQ(j["results"][i]["kind"], expected) << lines[i].first << ": " << j["results"][i];
    }
}

}  // namespace
