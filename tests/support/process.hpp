#pragma once
// Runs a program with arguments and collects its exit status, stdout and stderr (test helper).

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

namespace nettool::test {

/// How a spawned child starts: every descriptor and limit is decided before fork. A descriptor
/// of -1 means /dev/null. The caller keeps (and closes) the descriptors it passes.
struct spawn_options {
    int stdin_fd = -1;
    int stdout_fd = -1;
    int stderr_fd = -1;
    std::vector<std::pair<int, rlim_t>> limits{};  ///< setrlimit(resource, {n, n}) in the child
    bool close_other_fds = false;                  ///< close 3..1023 (RLIMIT_NOFILE counts numbers)
    bool die_with_parent = false;                  ///< PR_SET_PDEATHSIG SIGKILL
};

/// The one way tests start a program: fork, then in the child only async-signal-safe calls
/// (dup2, setrlimit, signal, execvp), with SIGPIPE back at its default. The test process has
/// threads (servers under test), and under ASan an allocation in the child can wait forever on
/// a lock one of them held at the fork, so argv is built before it. Returns the child's pid, or
/// -1 (errno set) when fork failed. A child that cannot exec exits 127.
pid_t spawn(const std::vector<std::string>& argv, const spawn_options& o = {});

struct process_result {
    int exit_code = -1;  ///< exit status, or 128+signal when killed by a signal
    std::string out;
    std::string err;
    bool timed_out = false;
};

/// Runs argv (argv[0] is a path) with stdin closed; kills it after timeout.
process_result run_process(const std::vector<std::string>& argv,
                           std::chrono::seconds timeout = std::chrono::seconds{60});

/// Runs the nettool binary under test with args.
process_result run_nettool(const std::vector<std::string>& args,
                           std::chrono::seconds timeout = std::chrono::seconds{60});

/// True when the test runs as root (network namespaces, raw sockets, capture).
bool is_root();

/// True when `tool` is a program on PATH.
bool have_tool(const char* tool);

}  // namespace nettool::test

namespace nettool::test {

/// A program running in the background for the length of a test; killed (SIGKILL) if still
/// running when destroyed, so nothing outlives the test.
class background_process {
public:
    explicit background_process(const std::vector<std::string>& argv);
    ~background_process();
    background_process(const background_process&) = delete;
    background_process& operator=(const background_process&) = delete;

    bool running() const noexcept { return pid_ > 0; }
    /// Sends sig, waits up to timeout, and returns the exit status and what it printed.
    process_result stop(int sig, std::chrono::seconds timeout = std::chrono::seconds{10});

private:
    int pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
};

/// Runs a shell command line (for ip/nft set-up in tests); returns its exit status.
int sh(const std::string& command);

/// A free TCP (or, with SOCK_DGRAM, UDP) port on 127.0.0.1 (bound, read, closed: free unless
/// someone races us). A free UDP port answers a datagram with an ICMP port unreachable.
std::uint16_t free_port(int type = SOCK_STREAM);

}  // namespace nettool::test
