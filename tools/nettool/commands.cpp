#include "commands.hpp"

// One include and one call per subcommand, in the order --help lists them.
#include "cmd_broadcast.hpp"
#include "cmd_capture.hpp"
#include "cmd_classify.hpp"
#include "cmd_dns.hpp"
#include "cmd_inspect.hpp"
#include "cmd_link.hpp"
#include "cmd_listen.hpp"
#include "cmd_netmask.hpp"
#include "cmd_serve.hpp"
#include "cmd_tcp.hpp"
#include "cmd_tcp_vs_udp.hpp"
#include "cmd_trace.hpp"
#include "cmd_udp.hpp"
#include "cmd_wol.hpp"

namespace nettool::cli {

void setup_all(CLI::App& app, context& ctx) {
    setup_tcp_vs_udp(app, ctx);
    setup_tcp(app, ctx);
    setup_udp(app, ctx);
    setup_serve(app, ctx);
    setup_link(app, ctx);
    setup_dns(app, ctx);
    setup_trace(app, ctx);
    setup_capture(app, ctx);
    setup_inspect(app, ctx);
    setup_classify(app, ctx);
    setup_netmask(app, ctx);
    setup_broadcast(app, ctx);
    setup_wol(app, ctx);
    setup_listen(app, ctx);
}

}  // namespace nettool::cli
