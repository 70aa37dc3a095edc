#pragma once
// Prometheus as a test's oracle (test helper): curl for HTTP, promtool to lint an exposition,
// a Debian `prometheus` server started for the test (optionally in a network namespace) and
// PromQL through its HTTP API. Shared by the exporter's live tests and the mesh test.

#include "support/process.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace nettool::test {

struct http_answer {
    int status = 0;  ///< 0 when curl got no answer
    std::string body;
};

/// GET (or POST/PUT with an empty body) with curl, 20 s at most; `prefix` runs curl elsewhere
/// ("ip netns exec NS").
inline http_answer http(const std::string& url, const std::vector<std::string>& headers = {},
                        const std::vector<std::string>& prefix = {}, const std::string& method = "GET") {
    std::vector<std::string> argv = prefix;
    for (const auto& a : {"curl", "-s", "-g", "--max-time", "20", "-X"}) argv.emplace_back(a);
    argv.push_back(method);
    if (method != "GET") {
        argv.emplace_back("-d");
        argv.emplace_back("");
    }
    for (const auto& h : headers) {
        argv.emplace_back("-H");
        argv.push_back(h);
    }
    argv.emplace_back("-w");
    argv.emplace_back("\n%{http_code}");
    argv.push_back(url);
    const auto r = run_process(argv, std::chrono::seconds{30});
    http_answer a;
    const auto nl = r.out.rfind('\n');
    if (nl == std::string::npos) return a;
    a.status = std::atoi(r.out.c_str() + nl + 1);
    a.body = r.out.substr(0, nl);
    return a;
}

/// The value of a series in an exposition, spelt exactly as written (name, or name{labels});
/// NaN when absent.
inline double metric_sample(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(series + " ", 0) == 0) return std::strtod(line.c_str() + series.size() + 1, nullptr);
    return std::nan("");
}

/// `promtool check metrics` on an exposition (written to dir/exposition.txt): its exit status
/// and words.
inline process_result promtool_check(const std::string& text, const std::filesystem::path& dir) {
    const auto file = dir / "exposition.txt";
    std::ofstream(file) << text;
    return run_process({"sh", "-c", "promtool check metrics < " + file.string()}, std::chrono::seconds{30});
}

/// Percent-encodes everything but letters, digits, '_' and '.' (a PromQL query in a URL).
inline std::string url_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : s) {
        if (std::isalnum(c) || c == '_' || c == '.') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

/// Whether Debian's prometheus (and promtool) is installed.
inline bool have_prometheus() {
    return run_process({"sh", "-c", "command -v prometheus && command -v promtool"}).exit_code == 0;
}

/// A Prometheus server for the length of a test: its config written to dir/NAME.yml, its TSDB in
/// dir/NAME-data, listening on listen (host:port), run under prefix ("ip netns exec NS"), killed
/// when destroyed. The caller removes dir.
class prometheus_server {
public:
    prometheus_server(const std::filesystem::path& dir, const std::string& name, const std::string& config_yaml,
                      std::string listen, std::vector<std::string> prefix = {})
        : listen_(std::move(listen)), prefix_(std::move(prefix)) {
        const auto config = dir / (name + ".yml");
        std::ofstream(config) << config_yaml;
        std::vector<std::string> argv = prefix_;
        for (const auto& a : {std::string{"prometheus"}, "--config.file=" + config.string(),
                              "--storage.tsdb.path=" + (dir / (name + "-data")).string(),
                              "--web.listen-address=" + listen_, std::string{"--log.level=warn"}})
            argv.push_back(a);
        proc_ = std::make_unique<background_process>(argv);
    }

    /// Waits (up to 20 s) until /-/ready answers 200.
    bool wait_ready() {
        for (int i = 0; i < 100; ++i) {
            if (http(base() + "/-/ready", {}, prefix_).status == 200) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds{200});
        }
        return false;
    }

    /// An instant query's whole answer (the JSON of /api/v1/query); discarded JSON on failure.
    nlohmann::json query_json(const std::string& promql) const {
        const auto a = http(base() + "/api/v1/query?query=" + url_encode(promql), {}, prefix_);
        return nlohmann::json::parse(a.body, nullptr, false);
    }

    /// The first sample of an instant query; NaN when it failed or returned nothing.
    double query(const std::string& promql) const {
        const auto j = query_json(promql);
        if (j.is_discarded() || j.value("status", "") != "success" || j["data"]["result"].empty()) return std::nan("");
        return std::strtod(j["data"]["result"][0]["value"][1].get<std::string>().c_str(), nullptr);
    }

    std::string base() const { return "http://" + listen_; }

private:
    std::string listen_;
    std::vector<std::string> prefix_;
    std::unique_ptr<background_process> proc_;
};

}  // namespace nettool::test
