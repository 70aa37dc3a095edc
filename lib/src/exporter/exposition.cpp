#include <nettool/exporter/exposition.hpp>

#include <fmt/format.h>

#include <array>
#include <cmath>

namespace nettool::exporter {
namespace {

void append_value(std::string& out, double v) {
    if (std::isnan(v)) out += "NaN";
    else if (std::isinf(v)) out += v > 0 ? "+Inf" : "-Inf";
    else fmt::format_to(std::back_inserter(out), "{}", v);  // shortest form that reads back exactly
}

// escape_label_value, appended in place: no string per label of every sample of a scrape.
void append_escaped(std::string& out, std::string_view v) {
    for (const char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
}

// The bounds as the le label spells them, formatted once.
const std::array<std::string, latency_buckets_s.size()>& bound_texts() {
    static const auto texts = [] {
        std::array<std::string, latency_buckets_s.size()> t;
        for (std::size_t i = 0; i < t.size(); ++i) t[i] = fmt::format("{}", latency_buckets_s[i]);
        return t;
    }();
    return texts;
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
            append_escaped(out, v);
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
    append_escaped(out, v);
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
    // name_bucket, name_sum, name_count in one buffer; the suffix is cut and replaced in place.
    suffixed_.assign(name);
    suffixed_ += "_bucket";
    with_le_.assign(labels.begin(), labels.end());
    with_le_.emplace_back("le", "");
    const auto& bounds = bound_texts();
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < latency_buckets_s.size(); ++i) {
        cumulative += b.le[i];
        with_le_.back().second = bounds[i];
        append_sample(out_, suffixed_, with_le_, static_cast<double>(cumulative));
    }
    with_le_.back().second = "+Inf";
    append_sample(out_, suffixed_, with_le_, static_cast<double>(b.count));
    suffixed_.resize(name.size());
    suffixed_ += "_sum";
    append_sample(out_, suffixed_, labels, b.sum_s);
    suffixed_.resize(name.size());
    suffixed_ += "_count";
    append_sample(out_, suffixed_, labels, static_cast<double>(b.count));
}

}  // namespace nettool::exporter
