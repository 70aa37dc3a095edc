#include <nettool/iperf3/control.hpp>

#include <nettool/core/cursor.hpp>
#include <nettool/core/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <random>

namespace nettool::iperf3 {

std::string state_name(std::int8_t value) {
    switch (value) {
        case 1: return "TEST_START";
        case 2: return "TEST_RUNNING";
        case 3: return "RESULT_REQUEST";
        case 4: return "TEST_END";
        case 5: return "STREAM_BEGIN";
        case 6: return "STREAM_RUNNING";
        case 7: return "STREAM_END";
        case 8: return "ALL_STREAMS_END";
        case 9: return "PARAM_EXCHANGE";
        case 10: return "CREATE_STREAMS";
        case 11: return "SERVER_TERMINATE";
        case 12: return "CLIENT_TERMINATE";
        case 13: return "EXCHANGE_RESULTS";
        case 14: return "DISPLAY_RESULTS";
        case 15: return "IPERF_START";
        case 16: return "IPERF_DONE";
        case -1: return "ACCESS_DENIED";
        case -2: return "SERVER_ERROR";
        default: return fmt::format("state {}", value);
    }
}

std::optional<state> parse_state(std::uint8_t byte) noexcept {
    const auto v = static_cast<std::int8_t>(byte);
    if ((v >= 1 && v <= 16) || v == -1 || v == -2) return static_cast<state>(v);
    return std::nullopt;
}

std::string make_cookie() {
    static constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    std::random_device rd;
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    std::string c(cookie_size - 1, 'a');
    for (auto& ch : c) ch = alphabet[pick(rd)];
    c.push_back('\0');
    return c;
}

frame parse_frame(std::span<const std::byte> data, std::uint32_t cap) noexcept {
    frame f;
    cursor c{data};
    const std::uint32_t len = c.u32();
    if (!c.ok()) return f;
    f.length = len;
    if (len == 0) {
        f.status = frame_status::empty;
        return f;
    }
    if (len > cap) {
        f.status = frame_status::too_long;
        return f;
    }
    const auto body = c.take(len);
    if (!c.ok()) return f;
    f.status = frame_status::ok;
    f.json = body;
    f.consumed = c.offset();
    return f;
}

std::optional<server_error_codes> parse_server_error(std::span<const std::byte> data) noexcept {
    cursor c{data};
    server_error_codes e;
    e.iperf_error = static_cast<std::int32_t>(c.u32());
    if (!c.ok()) return std::nullopt;
    const auto sys = c.u32();
    if (c.ok()) e.sys_errno = static_cast<std::int32_t>(sys);
    return e;
}

std::string describe_iperf_error(std::int32_t code) {
    // iperf_error.c's words for the codes a server sends in SERVER_ERROR (the others are the
    // client's own failures).
    switch (code) {
        case 5: return "test duration too long";
        case 6: return "number of parallel streams too large";
        case 7: return "block size too large";
        case 8: return "socket buffer size too large";
        case 10: return "TCP MSS too large";
        case 13: return "not implemented";
        case 20: return "block size invalid";
        case 100: return "unable to create a new test";
        case 101: return "test initialization failed";
        case 104: return "unable to accept connection from client";
        case 106: return "unable to receive cookie at server";
        case 108: return "unable to read from the control socket";
        case 109: return "control socket has closed unexpectedly";
        case 110: return "received an unknown control message";
        case 112: return "unable to receive control message";
        case 114: return "unable to receive parameters from client";
        case 115: return "unable to package results";
        case 116: return "unable to send results";
        case 117: return "unable to receive results";
        case 119: return "the client has terminated";
        case 120: return "the server has terminated";
        case 121: return "the server is busy running a test";
        case 122: return "unable to set TCP NODELAY";
        case 123: return "unable to set TCP MSS";
        case 124: return "unable to set socket buffer size";
        case 130: return "unable to set socket window size";
        case 131: return "protocol does not exist";
        case 134: return "unable to set TCP_CONGESTION";
        case 140: return "unable to set socket pacing";
        case 142: return "test authorization failed";
        case 200: return "unable to create a new stream";
        case 201: return "unable to initialize stream";
        case 204: return "unable to accept stream connection";
        case 206: return "unable to read from stream socket";
        case 207: return "stream has closed unexpectedly";
        case 208: return "stream has an invalid id";
        default: return fmt::format("iperf3 error {}", code);
    }
}

namespace {

[[noreturn]] void bad(std::string_view what) {
    throw error(errc::malformed, fmt::format("iperf3 server sent malformed results: {}", what));
}

const nlohmann::json& field(const nlohmann::json& obj, const char* name) {
    const auto it = obj.find(name);
    if (it == obj.end()) bad(fmt::format("no \"{}\"", name));
    return *it;
}

double real(const nlohmann::json& obj, const char* name, double lo, double hi) {
    const auto& v = field(obj, name);
    if (!v.is_number()) bad(fmt::format("\"{}\" is not a number", name));
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < lo || d > hi) bad(fmt::format("\"{}\" is out of range", name));
    return d;
}

// A counter: a non-negative integer up to 2^64-1. iperf3 3.12 writes -1 ("none") through
// cJSON's unsigned print as 18446744073709551615; a literal -1 means the same.
std::optional<std::uint64_t> counter(const nlohmann::json& obj, const char* name) {
    const auto& v = field(obj, name);
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        if (u == std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
        return u;
    }
    if (v.is_number_integer()) {
        const auto i = v.get<std::int64_t>();
        if (i == -1) return std::nullopt;
        if (i < 0) bad(fmt::format("\"{}\" is negative", name));
        return static_cast<std::uint64_t>(i);
    }
    if (v.is_number_float()) {
        // cJSON prints integers past 2^53 in %1.17g: accept whole, non-negative values in range.
        const double d = v.get<double>();
        if (!std::isfinite(d) || d < 0 || d != std::floor(d) || d >= 18446744073709551616.0)
            bad(fmt::format("\"{}\" is not a counter", name));
        return static_cast<std::uint64_t>(d);
    }
    bad(fmt::format("\"{}\" is not a number", name));
}

std::uint64_t count(const nlohmann::json& obj, const char* name) {
    return counter(obj, name).value_or(0);
}

}  // namespace

peer_results parse_results(std::span<const std::byte> json) {
    const auto* p = reinterpret_cast<const char*>(json.data());
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(p, p + json.size());
    } catch (const nlohmann::json::exception&) {
        bad("not JSON");
    }
    if (!doc.is_object()) bad("not a JSON object");
    peer_results r;
    r.cpu_util_total = real(doc, "cpu_util_total", 0, 1e6);
    r.cpu_util_user = real(doc, "cpu_util_user", 0, 1e6);
    r.cpu_util_system = real(doc, "cpu_util_system", 0, 1e6);
    r.sender_has_retransmits = counter(doc, "sender_has_retransmits").value_or(0) == 1;
    if (const auto it = doc.find("congestion_used"); it != doc.end()) {
        if (!it->is_string()) bad("\"congestion_used\" is not a string");
        r.congestion_used = it->get<std::string>();
        if (r.congestion_used.size() > 64) bad("\"congestion_used\" is too long");
    }
    const auto& streams = field(doc, "streams");
    if (!streams.is_array()) bad("\"streams\" is not an array");
    if (streams.size() > 256) bad("more than 256 streams");
    r.streams.reserve(streams.size());
    for (const auto& s : streams) {
        if (!s.is_object()) bad("a stream is not an object");
        stream_report sr;
        const auto id = counter(s, "id");
        if (!id || *id == 0 || *id > 1000) bad("a stream's \"id\" is out of range");
        sr.id = static_cast<std::int64_t>(*id);
        sr.bytes = count(s, "bytes");
        sr.retransmits = counter(s, "retransmits");
        sr.jitter_s = real(s, "jitter", 0, 1e6);
        sr.errors = count(s, "errors");
        sr.packets = count(s, "packets");
        sr.start_time_s = real(s, "start_time", 0, 1e9);
        sr.end_time_s = real(s, "end_time", 0, 1e9);
        r.streams.push_back(sr);
    }
    return r;
}

std::string results_json(const peer_results& r) {
    auto streams = nlohmann::json::array();
    for (const auto& s : r.streams) {
        // -1 as cJSON prints it from 3.12's unsigned view of a "none" counter.
        const std::int64_t retr = s.retransmits ? static_cast<std::int64_t>(*s.retransmits) : -1;
        streams.push_back({{"id", s.id},
                           {"bytes", s.bytes},
                           {"retransmits", retr},
                           {"jitter", s.jitter_s},
                           {"errors", s.errors},
                           {"packets", s.packets},
                           {"start_time", s.start_time_s},
                           {"end_time", s.end_time_s}});
    }
    const nlohmann::json j = {
        {"cpu_util_total", r.cpu_util_total},   {"cpu_util_user", r.cpu_util_user},
        {"cpu_util_system", r.cpu_util_system}, {"sender_has_retransmits", r.sender_has_retransmits ? 1 : 0},
        {"congestion_used", r.congestion_used}, {"streams", std::move(streams)}};
    return j.dump();
}

void to_json(nlohmann::json& j, const stream_report& s) {
    j = {{"id", s.id},           {"bytes", s.bytes},          {"jitter_s", s.jitter_s}, {"errors", s.errors},
         {"packets", s.packets}, {"start_s", s.start_time_s}, {"end_s", s.end_time_s}};
    j["retransmits"] = s.retransmits ? nlohmann::json(*s.retransmits) : nlohmann::json(nullptr);
}

void to_json(nlohmann::json& j, const peer_results& r) {
    j = {{"cpu_util_total", r.cpu_util_total},   {"cpu_util_user", r.cpu_util_user},
         {"cpu_util_system", r.cpu_util_system}, {"sender_has_retransmits", r.sender_has_retransmits},
         {"congestion_used", r.congestion_used}, {"streams", r.streams}};
}

}  // namespace nettool::iperf3
