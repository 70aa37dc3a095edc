#include "commands.hpp"

// One include and one call per subcommand, in the order --help lists them.
#include "cmd_capture.hpp"
#include "cmd_inspect.hpp"
#include "cmd_serve.hpp"
#include "cmd_tcp.hpp"
#include "cmd_tcp_vs_udp.hpp"
#include "cmd_udp.hpp"

namespace nettool::cli {

void setup_all(CLI::App& app, context& ctx) {
    setup_tcp_vs_udp(app, ctx);
    setup_tcp(app, ctx);
    setup_udp(app, ctx);
    setup_serve(app, ctx);
    setup_capture(app, ctx);
    setup_inspect(app, ctx);
}

}  // namespace nettool::cli
