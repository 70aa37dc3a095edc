// classify --pcap: the endpoints of a capture's conversations, through the bulk classifier.
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>

namespace {

using nettool::test::run_nettool;

const std::string bgp_capture = std::string{NETTOOL_CORPUS_DIR} + "/tcpdump-tests/bgp-bgpsec.pcap";

TEST(ClassifyPcap, ClassifiesEveryConversationEndpointOnce) {
    if (!std::filesystem::exists(bgp_capture)) GTEST_SKIP() << "corpus capture missing: " << bgp_capture;
    auto insp = run_nettool({"--json", "inspect", bgp_capture});
    ASSERT_EQ(insp.exit_code, 0) << insp.err;
    std::set<std::string> endpoints;
    const auto inspected = nlohmann::json::parse(insp.out);
    for (const auto& c : inspected["conversations"]) {
        endpoints.insert(c["address_a"].get<std::string>());
        endpoints.insert(c["address_b"].get<std::string>());
    }
    ASSERT_GE(endpoints.size(), 2u);

    auto r = run_nettool({"--json", "classify", "--pcap", bgp_capture});
    ASSERT_LE(r.exit_code, 1) << r.err;  // 1 only when some endpoint is unreachable from here
    const auto results = nlohmann::json::parse(r.out)["results"];
    std::set<std::string> classified;
    for (const auto& x : results) classified.insert(x["address"].get<std::string>());
    EXPECT_EQ(classified, endpoints);
    EXPECT_EQ(results.size(), endpoints.size());  // each address once

    // Same answers as classifying the addresses by name.
    std::vector<std::string> args{"--json", "classify", "--no-explain"};
    args.insert(args.end(), endpoints.begin(), endpoints.end());
    auto direct = run_nettool(args);
    std::map<std::string, std::string> kind;
    const auto direct_json = nlohmann::json::parse(direct.out);
    for (const auto& x : direct_json["results"]) kind[x["address"]] = x["kind"];
    for (const auto& x : results) EXPECT_EQ(x["kind"], kind[x["address"].get<std::string>()]) << x.dump();
}

TEST(ClassifyPcap, MissingAndNonCaptureFilesAreOneLineErrors) {
    auto r = run_nettool({"classify", "--pcap", "/nonexistent/nettool.pcap"});
    EXPECT_EQ(r.exit_code, 2);  // a missing input file is the user's mistake, as in inspect
    EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
    r = run_nettool({"classify", "--pcap", std::string{NETTOOL_SOURCE_DIR} + "/README.md"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("not a pcap"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

}  // namespace
