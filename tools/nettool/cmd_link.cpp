#include "cmd_link.hpp"

#include "files.hpp"

#include <nettool/core/error.hpp>
#include <nettool/link/emulator.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <memory>

namespace nettool::cli {

namespace {

constexpr const char* link_footer =
    "COMMAND runs in a new network namespace whose only route leads through the emulator to this\n"
    "host; it finds the host's end in $NETTOOL_LINK_HOST (IPv4) and $NETTOOL_LINK_HOST6. Without\n"
    "COMMAND, $SHELL runs. Each impairment applies to both directions; --uplink-X (namespace -> host)\n"
    "and --downlink-X (host -> namespace) set one. Exit status: COMMAND's (128+N when killed by signal N).\n"
    "Example: nettool link --delay 20ms --loss 1% --rate 50mbit --host-command 'nettool serve -p 5001' \\\n"
    "           -- sh -c 'sleep 0.5; nettool tcp $NETTOOL_LINK_HOST:5001 --mode stream'";

void add_impairment(CLI::App* sub, std::array<std::string, 3>& slot, const std::string& name, const std::string& help) {
    sub->add_option("--" + name, slot[0], help + " (both directions)")->group("Impairments");
    sub->add_option("--uplink-" + name, slot[1], help + ", namespace -> host")->group("Impairments (one direction)");
    sub->add_option("--downlink-" + name, slot[2], help + ", host -> namespace")->group("Impairments (one direction)");
}

const std::string& pick(const std::array<std::string, 3>& slot, int direction) {
    return slot[static_cast<std::size_t>(direction)].empty() ? slot[0] : slot[static_cast<std::size_t>(direction)];
}

link::direction_config direction(const impairment_options& o, int dir) {
    link::direction_config c;
    const char* prefix = dir == 1 ? "--uplink-" : dir == 2 ? "--downlink-" : "--";
    // The option as typed: "--uplink-delay" when that one was given, else "--delay".
    auto name = [&](std::string_view n, const std::array<std::string, 3>& slot) {
        return fmt::format("{}{}", slot[static_cast<std::size_t>(dir)].empty() ? "--" : prefix, n);
    };
    if (const auto& v = pick(o.delay, dir); !v.empty()) c.delay = link::parse_delay(v, name("delay", o.delay));
    if (const auto& v = pick(o.jitter, dir); !v.empty()) c.jitter = link::parse_delay(v, name("jitter", o.jitter));
    if (const auto& v = pick(o.distribution, dir); !v.empty())
        c.distribution = link::parse_distribution(v, name("distribution", o.distribution));
    if (const auto& v = pick(o.loss, dir); !v.empty()) c.loss = link::parse_percent(v, name("loss", o.loss));
    if (const auto& v = pick(o.loss_model, dir); !v.empty())
        c.burst_loss = link::parse_loss_model(v, name("loss-model", o.loss_model));
    if (const auto& v = pick(o.reorder, dir); !v.empty())
        c.reorder = link::parse_percent(v, name("reorder", o.reorder));
    if (const auto& v = pick(o.duplicate, dir); !v.empty())
        c.duplicate = link::parse_percent(v, name("duplicate", o.duplicate));
    if (const auto& v = pick(o.corrupt, dir); !v.empty())
        c.corrupt = link::parse_percent(v, name("corrupt", o.corrupt));
    if (const auto& v = pick(o.rate, dir); !v.empty()) c.rate_bps = link::parse_rate(v, name("rate", o.rate));
    if (const auto& v = pick(o.queue, dir); !v.empty()) c.queue = link::parse_queue(v, name("queue", o.queue));
    if (const auto& v = pick(o.trace, dir); !v.empty()) {
        // A trace the user named that is unreadable or malformed is a usage error (exit 2).
        try {
            c.trace_ms = link::load_trace(v);
        } catch (const error& e) {
            throw error(errc::bad_argument, fmt::format("{}: {}", name("trace", o.trace), e.what()));
        }
        if (c.rate_bps != 0)
            throw error(errc::bad_argument, "give --rate or --trace for a direction, not both");
    }
    return c;
}

int status_of(int wstatus) {
    if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
    return exit_failed;
}

// Ends the host command and everything it started (its process group): SIGTERM, then SIGKILL
// after 2 s.
void end_host_command(pid_t pid, bool reaped) {
    if (pid <= 0) return;
    ::kill(-pid, SIGTERM);
    for (int i = 0; i < 200; ++i) {
        // This process is the subreaper of what the host command started: reap them all, or a
        // grandchild's zombie would keep the group alive.
        for (pid_t done; (done = ::waitpid(-1, nullptr, WNOHANG)) > 0;)
            if (done == pid) reaped = true;
        if (reaped && ::kill(-pid, 0) != 0) return;  // the whole group is gone
        ::usleep(10000);
    }
    ::kill(-pid, SIGKILL);
    if (!reaped) ::waitpid(pid, nullptr, 0);
}

}  // namespace

link::link_config impairment_options::to_config() const {
    link::link_config c;
    c.uplink = direction(*this, 1);
    c.downlink = direction(*this, 2);
    c.seed = seed;
    return c;
}

void setup_link(CLI::App& app, context& ctx) {
    auto opt = std::make_shared<link_options>();
    auto* sub = app.add_subcommand(
        "link", "Run COMMAND behind an emulated link (delay, jitter, loss, reordering, rate, queue) to this host");
    sub->footer(link_footer);
    auto& i = opt->impair;
    add_impairment(sub, i.delay, "delay", "One-way delay: 20ms, 250us, 1s");
    add_impairment(sub, i.jitter, "jitter", "Delay variation; never reorders by itself");
    add_impairment(sub, i.distribution, "distribution", "Jitter distribution: uniform, normal, pareto");
    add_impairment(sub, i.loss, "loss", "Random loss in percent: 1%");
    add_impairment(sub, i.loss_model, "loss-model", "Burst loss, Gilbert-Elliott: ge:p,r[,1-h[,1-k]] in percent");
    add_impairment(sub, i.reorder, "reorder", "Percent of packets sent at once, ahead of the delayed ones");
    add_impairment(sub, i.duplicate, "duplicate", "Percent of packets sent twice");
    add_impairment(sub, i.corrupt, "corrupt", "Percent of packets with one bit flipped");
    add_impairment(sub, i.rate, "rate", "Bottleneck rate: 10mbit, 1gbit");
    add_impairment(sub, i.queue, "queue", "Bottleneck queue: droptail:packets=N, droptail:bytes=N, codel");
    add_impairment(sub, i.trace, "trace", "mahimahi delivery trace file (ms timestamps, 1500 B each)");
    sub->add_option("--seed", i.seed, "Seed of every random choice: same seed, same drops")
        ->capture_default_str()
        ->check(number_option(
            {.integer = true, .imin = 0, .imax = std::numeric_limits<std::uint64_t>::max(), .what = "a seed (a whole number)"}));
    sub->add_option("--mtu", opt->mtu, "MTU of the link")->capture_default_str()->check(count_option(1280, 65535, "bytes"));
    sub->add_option("--capture", opt->capture, "Write every packet leaving the emulator to FILE (pcap, raw IP)")
        ->check(file_option());
    sub->add_option("--log", opt->log, "Append one JSON line of counters per second to FILE")->check(file_option());
    sub->add_option("--host-command", opt->host_command,
                    "Run this shell command on the host side first ($NETTOOL_LINK_PEER set); ended after COMMAND");
    sub->add_option("command", opt->command, "COMMAND [ARGS...] after --");
    sub->callback([opt, &ctx] { ctx.exit_status = run_link(*opt, ctx); });
}

int run_link(const link_options& opt, const context& ctx) {
    link::emulator_options eo;
    eo.link = opt.impair.to_config();
    eo.mtu = opt.mtu;
    eo.capture_file = opt.capture;
    std::vector<std::string> command = opt.command;
    if (command.empty()) {
        const char* shell = std::getenv("SHELL");
        command.emplace_back(shell && *shell ? shell : "/bin/sh");
    }
    log_file log;
    if (!opt.log.empty()) {
        if (const int e = log.open(opt.log); e != 0)
            return fail(fmt::format("--log {}: {}", opt.log, os_reason({e, std::system_category()})), exit_failed);
    }

    // Orphans of the host command become this process's children, so ending it can reap them.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1UL);
    // Signals are taken here, by sigtimedwait, before any thread exists to inherit them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    std::unique_ptr<link::emulator> em;
    try {
        em = link::emulator::start(eo);
    } catch (const error& e) {
        // --capture's file could not be created: the OS's reason, as capture -w says it.
        if (!opt.capture.empty() && e.code().category() == std::system_category() &&
            std::string_view{e.what()}.starts_with("--capture"))
            return fail(fmt::format("--capture {}: {}", opt.capture, os_reason(e.code())), exit_failed);
        throw;
    }
    const auto& a = em->addresses();
    if (!ctx.global.quiet)
        fmt::print(stderr,
                   "nettool link: host {} / {} ({}) <-> namespace {} / {} ({}); uplink: {}; downlink: {}\n"
                   "NETTOOL_LINK_PEER={}\n",
                   a.host_v4.to_string(), a.host_v6.to_string(), a.host_interface, a.peer_v4.to_string(),
                   a.peer_v6.to_string(), a.peer_interface, link::describe(eo.link.uplink),
                   link::describe(eo.link.downlink), a.peer_v4.to_string());

    const pid_t host_pid = opt.host_command.empty() ? 0 : em->spawn_on_host(opt.host_command);
    bool host_reaped = false;
    const pid_t child = em->spawn_inside(command);
    int status = exit_failed;
    for (;;) {
        const timespec second{1, 0};
        siginfo_t info{};
        const int sig = ::sigtimedwait(&set, &info, &second);
        if (sig == SIGINT || sig == SIGTERM) {
            ::kill(child, sig);  // COMMAND decides how to end; we end when it has
            continue;
        }
        int wstatus = 0;
        if (::waitpid(child, &wstatus, WNOHANG) == child) {
            status = status_of(wstatus);
            break;
        }
        if (host_pid > 0 && !host_reaped && ::waitpid(host_pid, nullptr, WNOHANG) == host_pid) host_reaped = true;
        if (sig < 0 && log.active()) {
            const auto s = em->snapshot();
            nlohmann::json line = {{"time", std::time(nullptr)}, {"elapsed_s", static_cast<double>(s.elapsed.count()) / 1e9},
                                   {"uplink", s.uplink}, {"downlink", s.downlink}};
            log.append(line.dump() + "\n");  // a failure stops the log; reported when the run ends
        }
    }
    const auto stats = em->stop();
    end_host_command(host_pid, host_reaped);
    const auto rep = link::make_report(eo, a, stats);
    if (ctx.global.json) {
        fmt::print("{}\n", rep.to_json().dump(2));
        flush_stdout();
    } else if (!ctx.global.quiet) {
        fmt::print(stderr, "{}", rep.to_text());
    }
    write_html(ctx, rep);  // --html FILE; a failed write throws: exit 1
    // Output that did not reach its file is exit 1 whatever COMMAND's status: the run's record is
    // incomplete. (The capture file is cut back to its last whole packet, the log to its last
    // whole line.)
    if (stats.capture_failed)
        return fail(fmt::format("--capture {}: {}: {} of {} packets written", opt.capture,
                                os_reason(stats.capture_error), stats.capture_written, stats.capture_offered),
                    exit_failed);
    if (log.failed())
        return fail(fmt::format("--log {}: {}: {} of {} lines written", opt.log, os_reason(log.error()),
                                log.written(), log.offered()),
                    exit_failed);
    return status;
}

}  // namespace nettool::cli
