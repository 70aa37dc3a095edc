#include "commands.hpp"

#include "cmd_capture.hpp"
#include "cmd_inspect.hpp"

// One include and one call per subcommand, in the order --help lists them.

namespace nettool::cli {

void setup_all(CLI::App& app, context& ctx) {
    setup_capture(app, ctx);
    setup_inspect(app, ctx);
}

}  // namespace nettool::cli
