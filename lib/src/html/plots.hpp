#pragma once
// What a page draws, before it is HTML: sections of charts, each chart a title, axes with units,
// one reading and its series. plots.cpp chooses them from the runs' JSON (by command and mode);
// html_report.cpp writes them as a table each and a description page.js hands to Chart.js.

#include "html/json_path.hpp"

#include <array>
#include <string>
#include <vector>

namespace nettool::detail {

/// One line (or set of marks) of an xy chart, or one colour of a bar chart.
struct plot_series {
    std::string label{};
    std::vector<std::array<double, 2>> xy{};  ///< xy charts
    std::vector<double> values{};             ///< bar charts: one per category
    std::string style{"line"};                ///< "line", "step" (a CDF), "marker" (points only)
    bool right_axis = false;                  ///< xy charts: drawn against y2_title, on the right
};

struct plot {
    std::string id{};  ///< the element id; set by the page
    std::string title{};
    std::string x_title{};  ///< with the unit: "latency (us, log scale)"
    std::string y_title{};
    std::string y2_title{};  ///< the right axis, for series with right_axis; empty: none
    std::string reading{};  ///< one sentence that reads the plot
    std::string kind{"xy"};  ///< "xy" or "bar"
    bool x_log = false;
    bool y_log = false;
    bool horizontal = false;  ///< bar charts: categories down the side
    std::vector<std::string> categories{};  ///< bar charts
    std::vector<plot_series> series{};

    std::size_t points() const noexcept;
};

/// One run as the plots see it.
struct labelled_run {
    std::string label{};
    json_node doc;
};

/// A section of the page: the runs of one kind (command and mode) and their plots.
struct plot_section {
    std::string title{};
    std::vector<std::string> run_labels{};
    /// The runs' own readings, prefixed with the run's label when there are several.
    std::vector<std::string> readings{};
    std::vector<plot> plots{};
};

/// The kind of a run: "tcp-vs-udp", "tcp-vs-udp sweep", "tcp rr", "dns timing"...; runs of one
/// kind share a section. Throws (errc::malformed) naming the field when command or mode is not
/// one the page draws.
std::string run_kind(const json_node& doc);

/// The plots of runs of one kind. Reads the documents through json_node: a member of the wrong
/// type throws, naming it.
plot_section build_section(const std::string& kind, const std::vector<labelled_run>& runs);

}  // namespace nettool::detail
