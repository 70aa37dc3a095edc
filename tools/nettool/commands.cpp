#include "commands.hpp"

// One include and one call per subcommand, in the order --help lists them.

namespace nettool::cli {

void setup_all(CLI::App& app, context& ctx) {
    (void)app;
    (void)ctx;
}

}  // namespace nettool::cli
