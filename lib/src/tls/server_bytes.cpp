#include "tls/server_bytes.hpp"

#include <nettool/core/cursor.hpp>

#include <fmt/format.h>

#include <string_view>

namespace nettool::detail {

bool looks_like_tls_record(std::span<const std::byte> data) noexcept {
    cursor c{data};
    const auto type = c.u8();
    const auto major = c.u8();
    c.u8();  // minor: 0 (SSL 3.0) to 4; a ClientHello may say 1 whatever it offers
    return c.ok() && type >= 20 && type <= 24 && major == 3;
}

namespace {

bool take_text(cursor& c, std::string_view text) noexcept {
    for (char ch : text)
        if (c.u8() != static_cast<std::uint8_t>(ch)) return false;
    return c.ok();
}

}  // namespace

std::optional<int> parse_http_status(std::span<const std::byte> data) noexcept {
    cursor c{data};
    if (!take_text(c, "HTTP/1.")) return std::nullopt;
    const auto minor = c.u8();
    if (!c.ok() || (minor != '0' && minor != '1') || c.u8() != ' ') return std::nullopt;
    int code = 0;
    for (int i = 0; i < 3; ++i) {
        const auto d = c.u8();
        if (!c.ok() || d < '0' || d > '9') return std::nullopt;
        code = code * 10 + (d - '0');
    }
    if (code < 100 || code > 599) return std::nullopt;
    return code;
}

std::string quote_bytes(std::span<const std::byte> data, std::size_t max_bytes) {
    std::string out;
    cursor c{data.first(std::min(data.size(), max_bytes))};
    while (!c.empty()) {
        const auto b = c.u8();
        if (b >= 0x20 && b < 0x7f && b != '\\')
            out += static_cast<char>(b);
        else
            out += fmt::format("\\x{:02x}", b);
    }
    if (data.size() > max_bytes) out += "...";
    return out;
}

}  // namespace nettool::detail
