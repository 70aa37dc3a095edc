#pragma once
// Typed, path-naming reads of a run's JSON document: every read the plots make of an outside
// document goes through node, so a wrong type or a missing member is one nettool::error
// (errc::malformed) naming the field, "tcp.rr.rtt.cdf[3][0]: not a number", never a crash and
// never a silently empty plot.

#include <nettool/core/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nettool::detail {

class json_node {
public:
    json_node(const nlohmann::json& j, std::string path) : j_(&j), path_(std::move(path)) {}

    const std::string& path() const noexcept { return path_; }
    const nlohmann::json& raw() const noexcept { return *j_; }

    [[noreturn]] void fail(std::string_view what) const {
        throw error(errc::malformed, fmt::format("{}: {}", path_.empty() ? "(document)" : path_, what));
    }

    /// A member that must be there (not null).
    json_node at(std::string_view key) const {
        auto n = find(key);
        if (!n) child_path_fail(key, "missing");
        return *n;
    }
    /// A member that may be absent or null; present, it is returned for typed reads.
    std::optional<json_node> find(std::string_view key) const {
        if (!j_->is_object()) fail("not an object");
        const auto it = j_->find(key);
        if (it == j_->end() || it->is_null()) return std::nullopt;
        return json_node{*it, child_path(key)};
    }
    bool has(std::string_view key) const { return find(key).has_value(); }

    double number() const {
        if (!j_->is_number()) fail("not a number");
        const double v = j_->get<double>();
        if (!std::isfinite(v)) fail("not a finite number");
        return v;
    }
    double number(std::string_view key) const { return at(key).number(); }
    /// 0 when absent or null.
    double number_or(std::string_view key, double fallback) const {
        auto n = find(key);
        return n ? n->number() : fallback;
    }
    std::string text() const {
        if (!j_->is_string()) fail("not a string");
        return j_->get<std::string>();
    }
    std::string text(std::string_view key) const { return at(key).text(); }
    std::string text_or(std::string_view key, std::string fallback) const {
        auto n = find(key);
        return n ? n->text() : fallback;
    }
    bool boolean_or(std::string_view key, bool fallback) const {
        auto n = find(key);
        if (!n) return fallback;
        if (!n->j_->is_boolean()) n->fail("not true or false");
        return n->j_->get<bool>();
    }
    std::vector<json_node> items() const {
        if (!j_->is_array()) fail("not an array");
        std::vector<json_node> out;
        out.reserve(j_->size());
        for (std::size_t i = 0; i < j_->size(); ++i) out.emplace_back((*j_)[i], fmt::format("{}[{}]", path_, i));
        return out;
    }
    void require_object() const {
        if (!j_->is_object()) fail("not an object");
    }

private:
    std::string child_path(std::string_view key) const {
        return path_.empty() ? std::string{key} : fmt::format("{}.{}", path_, key);
    }
    [[noreturn]] void child_path_fail(std::string_view key, std::string_view what) const {
        throw error(errc::malformed, fmt::format("{}: {}", child_path(key), what));
    }

    const nlohmann::json* j_;
    std::string path_;
};

}  // namespace nettool::detail
