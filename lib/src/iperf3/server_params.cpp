#include "iperf3/server_params.hpp"

#include <nettool/iperf3/control.hpp>
#include <nettool/iperf3/server.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <optional>

namespace nettool::detail {

namespace {

// iperf_api.h's i_errno values for what a server refuses in the parameters.
constexpr std::int32_t ie_duration = 5;     // test duration too long
constexpr std::int32_t ie_numstreams = 6;   // number of parallel streams too large
constexpr std::int32_t ie_blocksize = 7;    // block size too large
constexpr std::int32_t ie_unimp = 13;       // not implemented (SCTP)
constexpr std::int32_t ie_udpblocksize = 20;  // block size invalid
constexpr std::int32_t ie_recvparams = 114;   // unable to receive parameters from client

struct refused {
    std::int32_t code;
    std::string why;
};

[[noreturn]] void bad(std::string why, std::int32_t code = ie_recvparams) {
    throw refused{code, std::move(why)};
}

// An integer field in lo..hi, or nothing when absent. cJSON writes every number as a double; a
// whole double is accepted, a fraction is not.
std::optional<std::uint64_t> integer(const nlohmann::json& doc, const char* name, std::uint64_t lo, std::uint64_t hi,
                                     std::int32_t code = ie_recvparams) {
    const auto it = doc.find(name);
    if (it == doc.end() || it->is_null()) return std::nullopt;
    std::uint64_t v = 0;
    if (it->is_number_unsigned()) {
        v = it->get<std::uint64_t>();
    } else if (it->is_number_integer()) {
        const auto i = it->get<std::int64_t>();
        if (i < 0) bad(fmt::format("\"{}\" is negative ({})", name, i));
        v = static_cast<std::uint64_t>(i);
    } else if (it->is_number_float()) {
        const double d = it->get<double>();
        if (!std::isfinite(d) || d < 0 || d != std::floor(d) || d >= 18446744073709551616.0)
            bad(fmt::format("\"{}\" is not a whole number", name));
        v = static_cast<std::uint64_t>(d);
    } else if (it->is_boolean()) {
        v = it->get<bool>() ? 1 : 0;
    } else {
        bad(fmt::format("\"{}\" is not a number", name));
    }
    if (v < lo || v > hi) bad(fmt::format("\"{}\" is {}, outside {}..{}", name, v, lo, hi), code);
    return v;
}

// A flag: cJSON_AddTrueToObject writes true; some fields are 1. false, 0 or absent is off.
bool flag(const nlohmann::json& doc, const char* name) {
    return integer(doc, name, 0, 1).value_or(0) == 1;
}

std::string text(const nlohmann::json& doc, const char* name, std::size_t max) {
    const auto it = doc.find(name);
    if (it == doc.end() || it->is_null()) return {};
    if (!it->is_string()) bad(fmt::format("\"{}\" is not a string", name));
    auto s = it->get<std::string>();
    if (s.size() > max) bad(fmt::format("\"{}\" is longer than {} bytes", name, max));
    return s;
}

iperf3_params parse(std::span<const std::byte> json) {
    using caps = iperf3_server_caps;
    const auto* p = reinterpret_cast<const char*>(json.data());
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(p, p + json.size());
    } catch (const nlohmann::json::exception&) {
        bad("the parameters are not JSON");
    }
    if (!doc.is_object()) bad("the parameters are not a JSON object");
    iperf3_params r;
    if (flag(doc, "sctp")) bad("SCTP is not supported", ie_unimp);
    r.udp = flag(doc, "udp");
    const bool tcp = flag(doc, "tcp");
    if (tcp && r.udp) bad("both \"tcp\" and \"udp\"");
    const auto max_s = static_cast<std::uint64_t>(caps::max_duration.count());
    r.time_s = static_cast<std::uint32_t>(integer(doc, "time", 0, max_s, ie_duration).value_or(0));
    r.omit_s = static_cast<std::uint32_t>(integer(doc, "omit", 0, max_s, ie_duration).value_or(0));
    if (r.time_s + r.omit_s > max_s) bad(fmt::format("\"time\" and \"omit\" are over {} s", max_s), ie_duration);
    constexpr auto i63 = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    r.num = integer(doc, "num", 0, i63).value_or(0);
    r.blockcount = integer(doc, "blockcount", 0, i63).value_or(0);
    r.parallel = static_cast<unsigned>(integer(doc, "parallel", 1, caps::max_parallel, ie_numstreams).value_or(1));
    r.reverse = flag(doc, "reverse");
    r.bidir = flag(doc, "bidirectional");
    const auto max_len = r.udp ? caps::max_udp_len : caps::max_tcp_len;
    r.len = static_cast<std::uint32_t>(
        integer(doc, "len", r.udp ? 16 : 1, max_len, r.udp ? ie_udpblocksize : ie_blocksize).value_or(r.udp ? 1460 : 128 * 1024));
    r.bandwidth = integer(doc, "bandwidth", 0, i63).value_or(0);
    r.udp_counters_64bit = flag(doc, "udp_counters_64bit");
    r.get_server_output = flag(doc, "get_server_output");
    r.congestion = text(doc, "congestion", 15);  // TCP_CA_NAME_MAX - 1
    r.client_version = text(doc, "client_version", 64);
    // Typed although nettool does not act on them: a client that sends them wrong is not iperf3.
    (void)integer(doc, "MSS", 0, 65535);
    (void)integer(doc, "window", 0, std::numeric_limits<std::int32_t>::max());
    (void)integer(doc, "TOS", 0, 255);
    (void)integer(doc, "pacing_timer", 0, std::numeric_limits<std::int32_t>::max());
    (void)integer(doc, "burst", 0, std::numeric_limits<std::int32_t>::max());
    (void)integer(doc, "fqrate", 0, i63);
    (void)integer(doc, "flowlabel", 0, 0xfffff);
    (void)text(doc, "title", caps::max_params);
    (void)text(doc, "extra_data", caps::max_params);
    (void)text(doc, "authtoken", caps::max_params);
    return r;
}

}  // namespace

iperf3_params parse_iperf3_params(std::span<const std::byte> json, iperf3_params_error& err) noexcept {
    err = {};
    try {
        return parse(json);
    } catch (const refused& e) {
        err.iperf_error = e.code;
        err.why = e.why;
    } catch (const std::exception&) {
        err.iperf_error = ie_recvparams;
        err.why = "the parameters could not be read";
    }
    return {};
}

iperf3_params parse_iperf3_params_message(std::span<const std::byte> message, iperf3_params_error& err) noexcept {
    err = {};
    const auto f = iperf3::parse_frame(message, iperf3_server_caps::max_params);
    switch (f.status) {
        case iperf3::frame_status::ok: return parse_iperf3_params(f.json, err);
        case iperf3::frame_status::truncated: err.why = "the parameters are truncated"; break;
        case iperf3::frame_status::empty: err.why = "the parameters are empty"; break;
        case iperf3::frame_status::too_long:
            err.why = fmt::format("parameters of {} bytes, over the {}-byte limit", f.length,
                                  iperf3_server_caps::max_params);
            break;
    }
    err.iperf_error = ie_recvparams;
    return {};
}

}  // namespace nettool::detail
