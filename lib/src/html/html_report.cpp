// The page: the runs as given, one section per kind of run, each plot a heading, a reading, a
// canvas and a table of its numbers; Chart.js and page.js inlined at the end. Everything that
// came from a run reaches the page escaped: HTML text through html_escape, JSON inside <script>
// through script_json.
#include <nettool/html/html_report.hpp>

#include "html/assets.hpp"
#include "html/plots.hpp"

#include <nettool/core/error.hpp>
#include <nettool/core/report.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace nettool::html {

namespace {

using detail::json_node;
using detail::plot;

/// Deepest nesting a run may have: nettool's documents are about 6 deep; far deeper is not a
/// run, and would cost stack to copy, print and free.
constexpr int max_depth = 64;

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

/// JSON that can sit inside <script>: no '<', '>' or '&' survives (each becomes its \u escape,
/// which JSON.parse reads back), so no "</script>" or "<!--" can end or bend the element.
/// Invalid UTF-8 becomes U+FFFD rather than an exception.
std::string script_json(const nlohmann::json& j) {
    const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '<': out += "\\u003c"; break;
        case '>': out += "\\u003e"; break;
        case '&': out += "\\u0026"; break;
        default: out += c;
        }
    }
    return out;
}

std::string number_cell(double v) { return fmt::format("{:.6g}", v); }

void write_table(std::string& out, const plot& p) {
    out += "<details><summary>The numbers behind this plot</summary><table>\n<tr>";
    if (p.kind == "bar") {
        out += fmt::format("<th>{}</th>", html_escape(p.x_title));
        for (const auto& s : p.series) out += fmt::format("<th>{} ({})</th>", html_escape(s.label), html_escape(p.y_title));
        out += "</tr>\n";
        for (std::size_t i = 0; i < p.categories.size(); ++i) {
            out += fmt::format("<tr><td>{}</td>", html_escape(p.categories[i]));
            for (const auto& s : p.series)
                out += fmt::format("<td>{}</td>", i < s.values.size() ? number_cell(s.values[i]) : "");
            out += "</tr>\n";
        }
    } else {
        // With a right axis, the value column says which unit each series is in.
        const std::string y_head = p.y2_title.empty()
                                       ? p.y_title
                                       : fmt::format("{}; series on the right axis: {}", p.y_title, p.y2_title);
        out += fmt::format("<th>series</th><th>{}</th><th>{}</th></tr>\n", html_escape(p.x_title),
                           html_escape(y_head));
        for (const auto& s : p.series)
            for (const auto& pt : s.xy)
                out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", html_escape(s.label),
                                   number_cell(pt[0]), number_cell(pt[1]));
    }
    out += "</table></details>\n";
}

nlohmann::json chart_spec(const plot& p) {
    auto series = nlohmann::json::array();
    for (const auto& s : p.series) {
        nlohmann::json j{{"label", s.label}, {"style", s.style}};
        if (p.kind == "bar") {
            j["values"] = s.values;
        } else {
            j["xy"] = s.xy;
            if (s.right_axis && !p.y2_title.empty()) j["right_axis"] = true;
        }
        series.push_back(std::move(j));
    }
    return {{"id", p.id},           {"title", p.title},     {"x_title", p.x_title},
            {"y_title", p.y_title}, {"y2_title", p.y2_title}, {"kind", p.kind}, {"x_log", p.x_log},
            {"y_log", p.y_log},     {"horizontal", p.horizontal}, {"categories", p.categories},
            {"series", std::move(series)}};
}

void check_schema(const json_node& d) {
    d.require_object();
    const auto sv = d.at("schema_version");
    if (!sv.raw().is_number_integer()) sv.fail("not an integer");
    if (sv.raw().get<std::int64_t>() != json_schema_version)
        throw error(errc::version_mismatch,
                    fmt::format("schema_version: {} is not {}, the layout this nettool reads", sv.raw().dump(),
                                json_schema_version));
}

}  // namespace

bool is_drawable_command(std::string_view command) noexcept {
    for (std::string_view c : {"tcp-vs-udp", "tcp", "udp", "dns", "inspect", "trace", "link"})
        if (c == command) return true;
    return false;
}

void check_run(const nlohmann::json& doc) {
    const json_node d{doc, ""};
    check_schema(d);
    const auto kind = detail::run_kind(d);
    detail::build_section(kind, {detail::labelled_run{.label = "run", .doc = d}});
}

nlohmann::json parse_run(std::string_view text) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text, [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
            if (depth > max_depth)
                throw error(errc::malformed, fmt::format("nested deeper than {} levels: not a nettool run", max_depth));
            return true;
        });
    } catch (const nlohmann::json::parse_error& e) {
        throw error(errc::malformed, fmt::format("not JSON (byte {}): {}", e.byte,
                                                 std::string_view{e.what()}.substr(std::string_view{e.what()}.find(' ') + 1)));
    } catch (const nlohmann::json::exception& e) {
        // A number too large for a double (out_of_range 406), found by html_report_fuzz.
        throw error(errc::malformed,
                    fmt::format("not JSON nettool reads: {}", std::string_view{e.what()}.substr(std::string_view{e.what()}.find(' ') + 1)));
    }
    check_run(doc);
    return doc;
}

std::string render(std::span<const run_ref> runs, const page_options& options) {
    if (runs.empty()) throw error(errc::bad_argument, "no run to draw");
    // Labels unique, so that series of different runs never share a name.
    std::vector<std::string> labels;
    std::map<std::string, int> seen;
    for (const auto& r : runs) {
        std::string l = r.label.empty() ? std::string{"run"} : r.label;
        if (const int n = ++seen[l]; n > 1) l = fmt::format("{} ({})", l, n);
        labels.push_back(std::move(l));
    }
    // Runs grouped by kind, kinds in the order they first appear.
    std::vector<std::string> kinds;
    std::map<std::string, std::vector<detail::labelled_run>> by_kind;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        if (runs[i].document == nullptr) throw error(errc::bad_argument, "run without a document");
        const json_node d{*runs[i].document, ""};
        check_schema(d);
        const auto kind = detail::run_kind(d);
        if (!by_kind.contains(kind)) kinds.push_back(kind);
        by_kind[kind].push_back({.label = labels[i], .doc = d});
    }

    const std::string title = options.title.empty() ? std::string{"nettool report"} : options.title;
    std::string out;
    out.reserve(detail::chartjs_script().size() + 64 * 1024);
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    // Nothing may be fetched: no default source, only the inline script and style.
    out += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
           "style-src 'unsafe-inline'\">\n";
    out += fmt::format("<title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n", html_escape(title),
                       detail::page_style());
    out += fmt::format("<h1>{}</h1>\n<p class=\"meta\">{} run{}: {}. Plots drawn by {}, inlined: this page loads "
                       "nothing from the network. The runs' JSON documents are in the page "
                       "(script#nettool-runs): <code>nettool report</code> redraws it from them.</p>\n",
                       html_escape(title), runs.size(), runs.size() == 1 ? "" : "s",
                       html_escape(fmt::format("{}", fmt::join(labels, ", "))),
                       html_escape(std::string{detail::chartjs_origin().substr(0, detail::chartjs_origin().find(" ("))}));

    auto specs = nlohmann::json::array();
    int chart_no = 0;
    for (const auto& kind : kinds) {
        auto sec = detail::build_section(kind, by_kind[kind]);
        out += fmt::format("<section>\n<h2>{}</h2>\n", html_escape(sec.title));
        if (sec.run_labels.size() > 1)
            out += fmt::format("<p class=\"meta\">Runs side by side: {}.</p>\n",
                               html_escape(fmt::format("{}", fmt::join(sec.run_labels, ", "))));
        if (!sec.readings.empty()) {
            out += "<ul class=\"readings\">\n";
            for (const auto& r : sec.readings) out += fmt::format("<li>{}</li>\n", html_escape(r));
            out += "</ul>\n";
        }
        if (sec.plots.empty()) out += "<p>Nothing in these runs to plot.</p>\n";
        for (auto& p : sec.plots) {
            p.id = fmt::format("chart-{}", ++chart_no);
            out += fmt::format("<div class=\"chart\" id=\"{}\" data-points=\"{}\">\n<h3>{}</h3>\n<p class=\"reading\">{}</p>\n"
                               "<div class=\"canvas\"><canvas role=\"img\" aria-label=\"{}\"></canvas></div>\n",
                               p.id, p.points(), html_escape(p.title), html_escape(p.reading), html_escape(p.title));
            write_table(out, p);
            out += "</div>\n";
            specs.push_back(chart_spec(p));
        }
        out += "</section>\n";
    }

    auto embedded = nlohmann::json::array();
    for (std::size_t i = 0; i < runs.size(); ++i) embedded.push_back({{"label", labels[i]}, {"run", *runs[i].document}});
    out += fmt::format("<script type=\"application/json\" id=\"nettool-runs\">{}</script>\n", script_json(embedded));
    out += fmt::format("<script type=\"application/json\" id=\"nettool-charts\">{}</script>\n", script_json(specs));
    out += fmt::format("<!-- {} -->\n<script>\n", html_escape(std::string{detail::chartjs_origin()}));
    out += detail::chartjs_script();
    out += "\n</script>\n<script>\n";
    out += detail::page_script();
    out += "\n</script>\n</body>\n</html>\n";
    return out;
}

}  // namespace nettool::html
