// nettool: the command-line shell over libnettool. This file only wires subcommands together;
// each lives in its own cmd_<name>.{hpp,cpp}.

#include "cli.hpp"
#include "commands.hpp"
#include "files.hpp"

#include <nettool/core/version.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <system_error>

namespace {

constexpr const char* exit_codes_help =
    "Exit status:\n"
    "  0  success\n"
    "  1  the measured thing failed (unreachable, timed out, nothing received)\n"
    "  2  usage error (bad host syntax, bad CIDR, unknown option or subcommand)\n";

// The top level takes only flags, so the first word that is not a flag names the subcommand.
// Returns the index of that word, or argc when there is none.
int subcommand_index(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (argv[i][0] != '-') return i;
    }
    return argc;
}

// Parses the command line, which runs the chosen command; returns the exit status.
// A write to stdout that threw leaves its code in stdout_ec for the one report of it.
int run(CLI::App& app, int argc, char** argv, const nettool::cli::context& ctx, std::error_code& stdout_ec) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::RequiredError& e) {
        if (app.get_subcommands().empty()) {
            return nettool::cli::fail("no subcommand given (run 'nettool --help' for the list)",
                                      nettool::cli::exit_usage);
        }
        return nettool::cli::fail(fmt::format("{} (see --help)", e.what()), nettool::cli::exit_usage);
    } catch (const CLI::ParseError& e) {
        return nettool::cli::fail(fmt::format("{} (see --help)", e.what()), nettool::cli::exit_usage);
    } catch (const std::system_error& e) {  // nettool::error and what the standard library throws
        // fmt::print throws when stdout cannot take the report: say so as stdout_complete() does.
        if (std::ferror(stdout) != 0) {
            stdout_ec = e.code();
            return nettool::cli::exit_failed;
        }
        return nettool::cli::fail(e.what(), nettool::is_usage_error(e.code()) ? nettool::cli::exit_usage
                                                                              : nettool::cli::exit_failed);
    } catch (const std::exception& e) {
        return nettool::cli::fail(fmt::format("internal error: {}", e.what()), nettool::cli::exit_failed);
    } catch (...) {
        return nettool::cli::fail("internal error: unknown exception", nettool::cli::exit_failed);
    }
    return ctx.exit_status;
}

}  // namespace

int main(int argc, char** argv) {
    // A peer that closes mid-write must not kill us; writes report EPIPE instead.
    std::signal(SIGPIPE, SIG_IGN);
    // Nor may a file size limit (ulimit -f): the write fails with EFBIG and the writer says so,
    // keeping the file whole up to its last record.
    std::signal(SIGXFSZ, SIG_IGN);

    nettool::cli::context ctx;
    CLI::App app{
        "nettool: measure TCP and UDP, time DNS, classify addresses, capture and inspect "
        "traffic.\nStart with 'nettool tcp-vs-udp'.",
        "nettool"};
    app.footer(exit_codes_help);
    app.set_version_flag("--version", fmt::format("nettool {}", nettool::version_string));
    app.add_flag("--json", ctx.global.json, "Print one JSON document on stdout and nothing else");
    app.add_flag("-q,--quiet", ctx.global.quiet, "No progress or interval lines, only the result");
    app.require_subcommand(1);
    app.fallthrough();  // global flags are accepted after the subcommand too

    const int sub = subcommand_index(argc, argv);
    nettool::cli::setup_all(app, ctx, sub < argc ? std::string_view{argv[sub]} : std::string_view{});

    // CLI11 would report a missing subcommand before an unknown option or word; name the real
    // mistake instead.
    for (int i = 1; i < sub; ++i) {
        const std::string flag{argv[i]};
        if (app.get_option_no_throw(flag.substr(0, flag.find('='))) == nullptr) {
            return nettool::cli::fail(fmt::format("unknown option '{}' (run 'nettool --help')", flag),
                                      nettool::cli::exit_usage);
        }
    }
    if (sub < argc) {
        const std::string word{argv[sub]};
        const auto subs = app.get_subcommands([&](CLI::App* s) { return s->check_name(word); });
        if (subs.empty()) {
            return nettool::cli::fail(
                fmt::format("unknown subcommand '{}' (run 'nettool --help' for the list)", word),
                nettool::cli::exit_usage);
        }
    }

    std::error_code stdout_ec;
    const int status = run(app, argc, argv, ctx, stdout_ec);
    // The one check of stdout (issue 18, "no silent loss"): a report redirected to a full disk or
    // a closed pipe is exit 1 with the reason, not a success.
    if (!nettool::cli::stdout_complete(stdout_ec)) return nettool::cli::exit_failed;
    return status;
}
