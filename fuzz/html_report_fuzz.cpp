// libFuzzer: the JSON-to-HTML path of `nettool report` (nettool/html/html_report.hpp). A run file
// is outside input: parse_run must accept it or throw one nettool::error, and a page drawn from
// an accepted run must hold exactly the page's own four <script> elements, whatever text the
// run carries (no "</script" or "<!--" may leak out of the escaping).
#include <nettool/html/html_report.hpp>

#include <nettool/core/error.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

std::size_t count(const std::string& s, std::string_view what) {
    std::size_t n = 0;
    for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    nlohmann::json doc;
    try {
        doc = nettool::html::parse_run(text);
    } catch (const nettool::error&) {
        return 0;
    }
    const nettool::html::run_ref run{.document = &doc, .label = std::string{text.substr(0, 64)}};
    const std::string page = nettool::html::render(std::span{&run, 1}, {.title = std::string{text.substr(0, 32)}});
    if (count(page, "<script") != 4 || count(page, "</script") != 4) std::abort();
    if (!page.ends_with("</html>\n")) std::abort();
    return 0;
}
