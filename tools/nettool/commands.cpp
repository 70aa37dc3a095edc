#include "commands.hpp"

#include "cmd_dns.hpp"

// One include and one call per subcommand, in the order --help lists them.

namespace nettool::cli {

void setup_all(CLI::App& app, context& ctx) {
    setup_dns(app, ctx);
}

}  // namespace nettool::cli
