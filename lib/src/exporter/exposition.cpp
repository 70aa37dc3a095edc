#include <nettool/exporter/exposition.hpp>

#include <fmt/format.h>

#include <cmath>

namespace nettool::exporter {
namespace {

void append_value(std::string& out, double v) {
    if (std::isnan(v)) out += "NaN";
    else if (std::isinf(v)) out += v > 0 ? "+Inf" : "-Inf";
    else fmt::format_to(std::back_inserter(out), "{}", v);  // shortest form that reads back exactly
}

template <typename Labels>
void append_sample(std::string& out, std::string_view name, const Labels& labels, double value) {
    out += name;
    if (labels.size() != 0) {
        out += '{';
        bool first = true;
        for (const auto& [k, v] : labels) {
            if (!first) out += ',';
            first = false;
            out += k;
            out += "=\"";
            out += escape_label_value(v);
            out += '"';
        }
        out += '}';
    }
    out += ' ';
    append_value(out, value);
    out += '\n';
}

}  // namespace

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string escape_help(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

void latency_buckets::add(const histogram& h) noexcept {
    if (h.count() == 0) return;
    for (std::size_t i = histogram::index_of(h.min()); i <= histogram::index_of(h.max()); ++i) {
        const auto n = h.count_at(i);
        if (n == 0) continue;
        const double mid_s =
            (static_cast<double>(histogram::bucket_low(i)) + static_cast<double>(histogram::bucket_high(i))) / 2e9;
        for (std::size_t b = 0; b < latency_buckets_s.size(); ++b) {
            if (mid_s <= latency_buckets_s[b]) {
                le[b] += n;
                break;
            }
        }
    }
    count += h.count();
    sum_s += static_cast<double>(h.sum()) / 1e9;
}

void latency_buckets::add_seconds(double s) noexcept {
    if (!std::isfinite(s) || s < 0) return;
    for (std::size_t b = 0; b < latency_buckets_s.size(); ++b) {
        if (s <= latency_buckets_s[b]) {
            ++le[b];
            break;
        }
    }
    ++count;
    sum_s += s;
}

void exposition::family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
}

void exposition::sample(std::string_view name, std::initializer_list<label> labels, double value) {
    append_sample(out_, name, labels, value);
}

void exposition::sample(std::string_view name, const std::vector<label>& labels, double value) {
    append_sample(out_, name, labels, value);
}

void exposition::histogram_samples(std::string_view name, const std::vector<label>& labels,
                                   const latency_buckets& b) {
    const std::string bucket = fmt::format("{}_bucket", name);
    std::vector<label> with_le = labels;
    with_le.emplace_back("le", "");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < latency_buckets_s.size(); ++i) {
        cumulative += b.le[i];
        const auto bound = fmt::format("{}", latency_buckets_s[i]);
        with_le.back().second = bound;
        append_sample(out_, bucket, with_le, static_cast<double>(cumulative));
    }
    with_le.back().second = "+Inf";
    append_sample(out_, bucket, with_le, static_cast<double>(b.count));
    append_sample(out_, fmt::format("{}_sum", name), labels, b.sum_s);
    append_sample(out_, fmt::format("{}_count", name), labels, static_cast<double>(b.count));
}

}  // namespace nettool::exporter
