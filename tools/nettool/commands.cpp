#include "commands.hpp"

#include "cmd_broadcast.hpp"
#include "cmd_classify.hpp"
#include "cmd_listen.hpp"
#include "cmd_netmask.hpp"
#include "cmd_wol.hpp"

// One include and one call per subcommand, in the order --help lists them.

namespace nettool::cli {

void setup_all(CLI::App& app, context& ctx) {
    setup_classify(app, ctx);
    setup_netmask(app, ctx);
    setup_broadcast(app, ctx);
    setup_wol(app, ctx);
    setup_listen(app, ctx);
}

}  // namespace nettool::cli
