#include "cli.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <unistd.h>

namespace nettool::cli {

int fail(std::string_view what, const std::error_code& ec) {
    fmt::print(stderr, "nettool: {}: {}\n", what, ec.message());
    return is_usage_error(ec) ? exit_usage : exit_failed;
}

int fail(std::string_view message, int code) {
    fmt::print(stderr, "nettool: {}\n", message);
    return code;
}

void emit(const context& ctx, const report& r) {
    if (ctx.global.json) {
        fmt::print("{}\n", r.to_json().dump(2));
    } else {
        fmt::print("{}", r.to_text());
    }
    std::fflush(stdout);
}

bool want_progress(const context& ctx) {
    return !ctx.global.json && !ctx.global.quiet && ::isatty(STDERR_FILENO) == 1;
}

}  // namespace nettool::cli
