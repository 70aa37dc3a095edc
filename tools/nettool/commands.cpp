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
#include "cmd_wol.hpp"

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
    {"exporter", setup_exporter},
};

}  // namespace

void setup_all(CLI::App& app, context& ctx, std::string_view only) {
    for (const auto& c : commands)
        if (c.name == only) return c.setup(app, ctx);
    for (const auto& c : commands) c.setup(app, ctx);
}

}  // namespace nettool::cli
