#include <nettool/exporter/config.hpp>

#include <nettool/core/error.hpp>
#include <nettool/dns/dns_timer.hpp>
#include <nettool/net/endpoint.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

namespace nettool::exporter {
namespace {

[[noreturn]] void refuse(const YAML::Mark& at, const std::string& what) {
    // yaml-cpp counts lines from 0; editors from 1. A node without a position (-1) says so.
    if (at.line < 0) throw error(errc::bad_argument, what);
    throw error(errc::bad_argument, fmt::format("line {}: {}", at.line + 1, what));
}

std::string scalar(const YAML::Node& n, const std::string& key) {
    if (!n.IsScalar()) refuse(n.Mark(), fmt::format("'{}' must be a single value", key));
    return n.Scalar();
}

std::uint64_t whole(const YAML::Node& n, const std::string& key, std::uint64_t min, std::uint64_t max) {
    const auto text = scalar(n, key);
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max)
        refuse(n.Mark(), fmt::format("'{}' is '{}': give a whole number from {} to {}", key, text, min, max));
    return v;
}

// "250ms", "1s", "1.5s", "2m", or a bare number of seconds: Prometheus's spelling and a plain one.
std::chrono::milliseconds duration(const YAML::Node& n, const std::string& key, std::chrono::milliseconds min,
                                   std::chrono::milliseconds max) {
    const auto text = scalar(n, key);
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    const std::string_view unit{end, static_cast<std::size_t>(text.data() + text.size() - end)};
    double scale = 0;
    if (unit.empty() || unit == "s") scale = 1000;
    else if (unit == "ms") scale = 1;
    else if (unit == "m") scale = 60'000;
    const double ms = v * scale;
    if (ec != std::errc{} || scale == 0 || !std::isfinite(ms) || ms < static_cast<double>(min.count()) ||
        ms > static_cast<double>(max.count()))
        refuse(n.Mark(), fmt::format("'{}' is '{}': give a duration from {} ms to {} s, as 500ms, 1s or 2m", key,
                                     text, min.count(), max.count() / 1000));
    return std::chrono::milliseconds{static_cast<std::int64_t>(std::ceil(ms))};
}

void only_keys(const YAML::Node& map, std::initializer_list<std::string_view> known, const std::string& what) {
    for (const auto& kv : map) {
        const auto key = kv.first.Scalar();
        bool ok = false;
        for (const auto k : known) ok = ok || key == k;
        if (!ok) {
            std::string list;
            for (const auto k : known) list += fmt::format("{}{}", list.empty() ? "" : ", ", k);
            refuse(kv.first.Mark(), fmt::format("unknown key '{}' in {}: the keys are {}", key, what, list));
        }
    }
}

constexpr std::string_view prober_list = "tcp_connect, tcp_rr, udp_rr, dns, tls or trace";

// The keys that belong to some probers only, and those probers.
struct owned_key {
    std::string_view key;
    std::array<prober, 2> owners;
    std::size_t n = 1;
};
constexpr owned_key owned_keys[] = {
    {"size", {prober::tcp_rr, prober::udp_rr}, 2},
    {"query_name", {prober::dns}},
    {"query_type", {prober::dns}},
    {"server_name", {prober::tls}},
    {"ca_file", {prober::tls}},
    {"insecure_skip_verify", {prober::tls}},
    {"tls_version", {prober::tls}},
    {"protocol", {prober::trace}},
    {"max_hops", {prober::trace}},
};

bool boolean(const YAML::Node& n, const std::string& key) {
    const auto text = scalar(n, key);
    if (text == "true") return true;
    if (text == "false") return false;
    refuse(n.Mark(), fmt::format("'{}' is '{}': give true or false", key, text));
}

module_config parse_module(const std::string& name, const YAML::Node& n, const module_config* base) {
    if (!n.IsMap()) refuse(n.Mark(), fmt::format("module '{}' must be a map of settings", name));
    only_keys(n,
              {"prober", "count", "size", "timeout", "query_name", "query_type", "server_name", "ca_file",
               "insecure_skip_verify", "tls_version", "protocol", "max_hops"},
              fmt::format("module '{}'", name));
    module_config m;
    if (base) m = *base;
    m.name = name;
    if (const auto p = n["prober"]) {
        const auto text = scalar(p, "prober");
        if (text == "tcp_connect") m.kind = prober::tcp_connect;
        else if (text == "tcp_rr") m.kind = prober::tcp_rr;
        else if (text == "udp_rr") m.kind = prober::udp_rr;
        else if (text == "dns") m.kind = prober::dns;
        else if (text == "tls") m.kind = prober::tls;
        else if (text == "trace") m.kind = prober::trace;
        else refuse(p.Mark(), fmt::format("prober '{}' is not one nettool has: {}", text, prober_list));
    } else if (!base) {
        refuse(n.Mark(), fmt::format("module '{}' needs a prober: {}", name, prober_list));
    }
    for (const auto& k : owned_keys) {
        const auto v = n[std::string{k.key}];
        if (!v) continue;
        bool ok = false;
        std::string list;
        for (std::size_t i = 0; i < k.n; ++i) {
            const auto o = k.owners[i];
            ok = ok || o == m.kind;
            list += fmt::format("{}{}", list.empty() ? "" : " and ", prober_name(o));
        }
        if (!ok)
            refuse(v.Mark(), fmt::format("'{}' applies to {} modules; module '{}' is {}", k.key, list, name,
                                         prober_name(m.kind)));
    }
    const std::uint64_t max_count = m.kind == prober::tls     ? config_caps::max_tls_count
                                    : m.kind == prober::trace ? config_caps::max_trace_count
                                                              : config_caps::max_count;
    if (const auto v = n["count"]) m.count = whole(v, "count", 1, max_count);
    if (m.count > max_count)  // a built-in's count, kept when its prober changed
        refuse(n.Mark(), fmt::format("module '{}': a {} module's count is at most {}; set 'count'", name,
                                     prober_name(m.kind), max_count));
    if (const auto v = n["size"]) m.size = static_cast<std::uint32_t>(whole(v, "size", 32, config_caps::max_size));
    if (const auto v = n["timeout"]) m.timeout = duration(v, "timeout", std::chrono::milliseconds{1}, config_caps::max_timeout);
    if (const auto v = n["query_name"]) {
        m.query_name = scalar(v, "query_name");
        if (const auto ec = validate_dns_name(m.query_name))
            refuse(v.Mark(), fmt::format("query_name '{}': {}", m.query_name, ec.message()));
    }
    if (const auto v = n["query_type"]) {
        const auto t = parse_dns_type(scalar(v, "query_type"));
        if (!t) refuse(v.Mark(), fmt::format("query_type '{}' is not a DNS type (A, AAAA, MX, TYPE65...)", v.Scalar()));
        m.query_type = *t;
    }
    if (const auto v = n["server_name"]) {
        m.server_name = scalar(v, "server_name");
        const bool letters = std::all_of(m.server_name.begin(), m.server_name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
        });
        if (!letters || m.server_name.size() > 253 || validate_dns_name(m.server_name))
            refuse(v.Mark(), fmt::format("server_name '{}' is not a host name", m.server_name));
    }
    if (const auto v = n["ca_file"]) {
        m.ca_file = scalar(v, "ca_file");
        std::error_code ec;
        if (m.ca_file.empty() || m.ca_file.size() > 4096 || !std::filesystem::is_regular_file(m.ca_file, ec))
            refuse(v.Mark(), fmt::format("ca_file '{}' is not a file: give a PEM file of CA certificates", m.ca_file));
    }
    if (const auto v = n["insecure_skip_verify"]) m.insecure_skip_verify = boolean(v, "insecure_skip_verify");
    if (const auto v = n["tls_version"]) {
        const auto text = scalar(v, "tls_version");
        if (text == "any") m.tls_version = tls_versions::any;
        else if (text == "1.2" || text == "TLS1.2") m.tls_version = tls_versions::tls1_2;
        else if (text == "1.3" || text == "TLS1.3") m.tls_version = tls_versions::tls1_3;
        else refuse(v.Mark(), fmt::format("tls_version '{}' is not one of any, 1.2 or 1.3", text));
    }
    if (const auto v = n["protocol"]) {
        const auto text = scalar(v, "protocol");
        if (text == "udp") m.trace_protocol = trace_protocols::udp;
        else if (text == "icmp") m.trace_protocol = trace_protocols::icmp;
        else if (text == "tcp") m.trace_protocol = trace_protocols::tcp;
        else refuse(v.Mark(), fmt::format("protocol '{}' is not one of udp, icmp or tcp", text));
    }
    if (const auto v = n["max_hops"])
        m.max_hops = static_cast<unsigned>(whole(v, "max_hops", 1, config_caps::max_trace_hops));
    return m;
}

}  // namespace

std::string_view prober_name(prober p) noexcept {
    switch (p) {
        case prober::tcp_connect: return "tcp_connect";
        case prober::tcp_rr: return "tcp_rr";
        case prober::udp_rr: return "udp_rr";
        case prober::dns: return "dns";
        case prober::tls: return "tls";
        case prober::trace: return "trace";
    }
    return "?";
}

std::map<std::string, module_config> builtin_modules() {
    std::map<std::string, module_config> m;
    m["tcp_connect"] = {.name = "tcp_connect", .kind = prober::tcp_connect, .count = 1};
    m["tcp_rr"] = {.name = "tcp_rr", .kind = prober::tcp_rr, .count = 10};
    m["udp_rr"] = {.name = "udp_rr", .kind = prober::udp_rr, .count = 10};
    m["dns"] = {.name = "dns", .kind = prober::dns, .count = 1};
    m["tls"] = {.name = "tls", .kind = prober::tls, .count = 1};
    m["trace"] = {.name = "trace", .kind = prober::trace, .count = 1};
    return m;
}

config parse_config(std::string_view yaml) {
    if (yaml.size() > config_caps::max_file_bytes)
        throw error(errc::too_large, fmt::format("the config is {} bytes; at most {} are read", yaml.size(),
                                                 config_caps::max_file_bytes));
    YAML::Node root;
    try {
        root = YAML::Load(std::string{yaml});
    } catch (const YAML::Exception& e) {
        refuse(e.mark, fmt::format("not YAML: {}", e.msg));
    }
    config c;
    c.modules = builtin_modules();
    if (root.IsNull()) return c;
    if (!root.IsMap()) refuse(root.Mark(), "the config must be a map with 'modules' and 'targets'");
    try {
        only_keys(root, {"modules", "targets"}, "the config");
        if (const auto mods = root["modules"]) {
            if (!mods.IsMap()) refuse(mods.Mark(), "'modules' must be a map from a module's name to its settings");
            for (const auto& kv : mods) {
                const auto name = kv.first.Scalar();
                if (name.empty() || name.size() > 64)
                    refuse(kv.first.Mark(), "a module's name must be 1 to 64 characters");
                const auto it = c.modules.find(name);
                c.modules[name] = parse_module(name, kv.second, it == c.modules.end() ? nullptr : &it->second);
                if (c.modules.size() > config_caps::max_modules)
                    refuse(kv.first.Mark(), fmt::format("more than {} modules", config_caps::max_modules));
            }
        }
        std::set<std::pair<std::string, std::string>> seen;
        if (const auto targets = root["targets"]) {
            if (!targets.IsSequence()) refuse(targets.Mark(), "'targets' must be a list");
            for (const auto& t : targets) {
                if (c.targets.size() == config_caps::max_targets)
                    refuse(t.Mark(), fmt::format("more than {} targets", config_caps::max_targets));
                if (!t.IsMap()) refuse(t.Mark(), "a target must be a map with 'target', 'module' and 'interval'");
                only_keys(t, {"target", "module", "interval"}, "a target");
                target_config tc;
                const auto addr = t["target"];
                if (!addr) refuse(t.Mark(), "a target needs 'target: HOST[:PORT]'");
                tc.name = scalar(addr, "target");
                std::error_code ec;
                parse_host_port(tc.name, 1, ec);
                if (ec || tc.name.size() > 255)
                    refuse(addr.Mark(), fmt::format("target '{}' is not HOST[:PORT]", tc.name));
                const auto mod = t["module"];
                if (!mod) refuse(t.Mark(), fmt::format("target '{}' needs a module", tc.name));
                tc.module = scalar(mod, "module");
                if (c.modules.count(tc.module) == 0)
                    refuse(mod.Mark(), fmt::format("module '{}' is not defined (built in: tcp_connect, tcp_rr, udp_rr, dns, tls, trace)",
                                                   tc.module));
                if (const auto iv = t["interval"])
                    tc.interval = duration(iv, "interval", config_caps::min_interval, config_caps::max_interval);
                if (!seen.emplace(tc.name, tc.module).second)
                    refuse(t.Mark(), fmt::format("target '{}' with module '{}' is listed twice", tc.name, tc.module));
                c.targets.push_back(std::move(tc));
            }
        }
    } catch (const YAML::Exception& e) {
        refuse(e.mark, e.msg);
    }
    return c;
}

config read_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw error(errc::bad_argument, fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    std::string text;
    text.resize(config_caps::max_file_bytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad()) throw error(errc::bad_argument, fmt::format("{}: read failed", path));
    try {
        return parse_config(text);
    } catch (const error& e) {
        throw error(e.code(), fmt::format("{}: {}", path, e.what()));
    }
}

}  // namespace nettool::exporter
