#include <nettool/exporter/config.hpp>

#include <nettool/core/error.hpp>
#include <nettool/dns/dns_timer.hpp>
#include <nettool/net/endpoint.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cmath>
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

module_config parse_module(const std::string& name, const YAML::Node& n, const module_config* base) {
    if (!n.IsMap()) refuse(n.Mark(), fmt::format("module '{}' must be a map of settings", name));
    only_keys(n, {"prober", "count", "size", "timeout", "query_name", "query_type"}, fmt::format("module '{}'", name));
    module_config m;
    if (base) m = *base;
    m.name = name;
    if (const auto p = n["prober"]) {
        const auto text = scalar(p, "prober");
        if (text == "tcp_connect") m.kind = prober::tcp_connect;
        else if (text == "tcp_rr") m.kind = prober::tcp_rr;
        else if (text == "udp_rr") m.kind = prober::udp_rr;
        else if (text == "dns") m.kind = prober::dns;
        else refuse(p.Mark(), fmt::format("prober '{}' is not one nettool has: tcp_connect, tcp_rr, udp_rr or dns", text));
    } else if (!base) {
        refuse(n.Mark(), fmt::format("module '{}' needs a prober: tcp_connect, tcp_rr, udp_rr or dns", name));
    }
    if (const auto v = n["count"]) m.count = whole(v, "count", 1, config_caps::max_count);
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
    return m;
}

}  // namespace

std::string_view prober_name(prober p) noexcept {
    switch (p) {
        case prober::tcp_connect: return "tcp_connect";
        case prober::tcp_rr: return "tcp_rr";
        case prober::udp_rr: return "udp_rr";
        case prober::dns: return "dns";
    }
    return "?";
}

std::map<std::string, module_config> builtin_modules() {
    std::map<std::string, module_config> m;
    m["tcp_connect"] = {.name = "tcp_connect", .kind = prober::tcp_connect, .count = 1};
    m["tcp_rr"] = {.name = "tcp_rr", .kind = prober::tcp_rr, .count = 10};
    m["udp_rr"] = {.name = "udp_rr", .kind = prober::udp_rr, .count = 10};
    m["dns"] = {.name = "dns", .kind = prober::dns, .count = 1};
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
                    refuse(mod.Mark(), fmt::format("module '{}' is not defined (built in: tcp_connect, tcp_rr, udp_rr, dns)",
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
