#pragma once
// Reading what the routing oracles print, for the tests on the route lab (route_lab_test.cpp,
// trace_live_test.cpp): traceroute's hop lines and mtr's --json hubs.

#include "support/route_lab.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace nettool::test {

inline const char* family_flag(ip_family f) {
    return f == ip_family::v4 ? "-4" : "-6";
}
inline const char* family_name(ip_family f) {
    return f == ip_family::v4 ? "IPv4" : "IPv6";
}

inline bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// The first address (or "*") of each hop line of "traceroute -n -q 1", in order.
inline std::vector<std::string> traceroute_hops(const std::string& out) {
    static const std::regex hop_line(R"(^\s*(\d+)\s+(\S+))");
    std::vector<std::string> hops;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (std::regex_search(line, m, hop_line)) hops.push_back(m[2]);
    }
    return hops;
}

struct mtr_hub {
    int count = 0;
    std::string host;
    int sent = 0;
    int answered = 0;
};

// The hubs of "mtr --json"; nullopt when the output does not parse.
inline std::optional<std::vector<mtr_hub>> mtr_hubs(const std::string& out) {
    const auto j = nlohmann::json::parse(out, nullptr, false);
    if (j.is_discarded() || !j.contains("report") || !j["report"].contains("hubs")) return std::nullopt;
    std::vector<mtr_hub> hubs;
    for (const auto& h : j["report"]["hubs"]) {
        mtr_hub hub{.count = h.at("count").get<int>(),
                    .host = h.at("host").get<std::string>(),
                    .sent = h.at("Snt").get<int>()};
        // mtr reports a loss percentage; the answers are what it did not lose.
        hub.answered = static_cast<int>(std::lround(hub.sent * (1.0 - h.at("Loss%").get<double>() / 100.0)));
        hubs.push_back(hub);
    }
    return hubs;
}

}  // namespace nettool::test
