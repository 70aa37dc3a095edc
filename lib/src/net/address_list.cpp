#include <nettool/net/address_list.hpp>

#include <fmt/format.h>

namespace nettool {

namespace {

std::string_view trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return {};
    const auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

}  // namespace

std::vector<ip_address> read_address_list(line_reader& in) {
    std::vector<ip_address> out;
    while (auto line = in.next()) {
        std::string_view text = *line;
        if (const auto hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
        text = trim(text);
        if (text.empty()) continue;
        const auto ip = ip_address::parse(text);
        if (!ip) in.fail(errc::bad_address, fmt::format("{} is not an IPv4 or IPv6 address", quoted_excerpt(text)));
        out.push_back(*ip);
    }
    return out;
}

std::vector<ip_address> read_address_list(const std::string& path) {
    auto in = line_reader::open(path);
    return read_address_list(in);
}

}  // namespace nettool
