#include "commands.hpp"

// One include and one line of the table per subcommand; the table's order is --help's.
#include "cmd_broadcast.hpp"
#include "cmd_capture.hpp"
#include "cmd_classify.hpp"
#include "cmd_dns.hpp"
#include "cmd_exporter.hpp"
#include "cmd_inspect.hpp"
#include "cmd_link.hpp"
#include "cmd_listen.hpp"
#include "cmd_netmask.hpp"
#include "cmd_serve.hpp"
#include "cmd_tcp.hpp"
#include "cmd_tcp_vs_udp.hpp"
#include "cmd_tls.hpp"
#include "cmd_trace.hpp"
#include "cmd_udp.hpp"
#include "cmd_report.hpp"
#include "cmd_wol.hpp"
#include "files.hpp"

#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>

namespace nettool::cli {

namespace {

struct command {
    std::string_view name;
    void (*setup)(CLI::App&, context&);
};

// The order here is the order --help lists them.
constexpr command commands[] = {
    {"tcp-vs-udp", setup_tcp_vs_udp},
    {"tcp", setup_tcp},
    {"udp", setup_udp},
    {"serve", setup_serve},
    {"link", setup_link},
    {"dns", setup_dns},
    {"trace", setup_trace},
    {"tls", setup_tls},
    {"capture", setup_capture},
    {"inspect", setup_inspect},
    {"classify", setup_classify},
    {"netmask", setup_netmask},
    {"broadcast", setup_broadcast},
    {"wol", setup_wol},
    {"listen", setup_listen},
    {"report", setup_report},
    {"exporter", setup_exporter},
};

// The commands that take --html FILE (issue 17): one option, added here so each command's own
// file needs no change; emit() (and link's output) write the page.
constexpr std::string_view html_commands[] = {"tcp-vs-udp", "tcp", "udp", "dns", "inspect", "trace", "link"};

void add_html_option(CLI::App& app, std::string_view name, context& ctx) {
    if (std::find(std::begin(html_commands), std::end(html_commands), name) == std::end(html_commands)) return;
    const auto subs = app.get_subcommands([&](CLI::App* s) { return s->get_name() == name; });
    if (subs.empty()) return;
    subs.front()->add_option("--html", ctx.html_file,
                    "Also write the report as one self-contained HTML page with plots to FILE (docs/html-reports.md)")
        ->check(file_option());
}

void setup_one(CLI::App& app, context& ctx, const command& c) {
    c.setup(app, ctx);
    add_html_option(app, c.name, ctx);
}

}  // namespace

void setup_all(CLI::App& app, context& ctx, std::string_view only) {
    for (const auto& c : commands)
        if (c.name == only) return setup_one(app, ctx, c);
    for (const auto& c : commands) setup_one(app, ctx, c);
}

}  // namespace nettool::cli
