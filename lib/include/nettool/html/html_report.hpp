#pragma once
// HTML reports (issue 17): one self-contained page that draws one or more runs with Chart.js.
//
// The input is the JSON document a command prints with --json (report::to_json()), never the
// C++ result types, so `nettool CMD --html FILE` and `nettool report RUN.json... -o FILE` take
// one path and a saved run always regenerates the same page. Which plots a run gets follows its
// `command` (and `mode`, `sweep`) fields; docs/html-reports.md lists them. The page embeds the
// runs as given, the chart library (inlined at build time from Debian's libjs-chart.js) and a
// small script; it requests nothing from the network.

#include <nettool/core/export.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

NETTOOL_API_BEGIN
namespace nettool::html {

/// One run to draw: its document and the label its series carry (a file name, "tcp-vs-udp").
struct run_ref {
    const nlohmann::json* document = nullptr;  ///< must not be null; validated by check_run()
    std::string label{};
};

struct page_options {
    std::string title{};  ///< the page's heading; "" gives "nettool report"
};

/// The largest page render() makes for runs of ordinary size: the library is about 200 kB.
inline constexpr std::size_t size_budget_bytes = 2u * 1024u * 1024u;

/// The commands a page can draw.
bool is_drawable_command(std::string_view command) noexcept;

/// Checks that doc is a nettool run this renderer can draw: an object with schema_version 1, a
/// drawable command, and the members the plots read of the right JSON type, every number
/// finite. Throws nettool::error: errc::version_mismatch for another schema_version,
/// errc::malformed otherwise, the message naming the field ("tcp.rr.rtt.cdf[3][0]: not a
/// number"). Members the plots do not read are not checked.
void check_run(const nlohmann::json& doc);

/// Parses text as one JSON document and checks it (check_run). Throws nettool::error
/// (errc::malformed) when it is not JSON, naming the byte offset.
nlohmann::json parse_run(std::string_view text);

/// The page for these runs, side by side: runs of the same command share plots (one series per
/// run, named by its label), other commands get sections of their own. Every run must pass
/// check_run(); render() checks again and throws as it does.
std::string render(std::span<const run_ref> runs, const page_options& options = {});

}  // namespace nettool::html
NETTOOL_API_END
