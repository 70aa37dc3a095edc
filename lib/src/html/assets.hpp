#pragma once
// The HTML report's inlined assets, defined in a source generated at configure time
// (cmake/NettoolHtmlAssets.cmake): Chart.js from Debian's libjs-chart.js, page.js and page.css.
// Exported for tests only (they check the page holds Debian's file byte for byte).

#include <nettool/core/export.hpp>

#include <span>
#include <string>
#include <string_view>

NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

/// chart.min.js, whole.
const std::string& chartjs_script();
/// lib/src/html/page.js: draws the charts the page describes and records what it drew.
const std::string& page_script();
/// lib/src/html/page.css.
const std::string& page_style();
/// "Chart.js v3.9.1 (/usr/share/javascript/chart.js/chart.min.js, sha256 ...)".
std::string_view chartjs_origin() noexcept;

}  // namespace nettool::detail
NETTOOL_TESTING_API_END
