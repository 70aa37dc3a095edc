#include "commands.hpp"

#include "cmd_classify.hpp"
#include "cmd_netmask.hpp"

// One include and one call per subcommand, in the order --help lists them.

namespace nettool::cli {

void setup_all(CLI::App& app, context& ctx) {
    setup_classify(app, ctx);
    setup_netmask(app, ctx);
}

}  // namespace nettool::cli
