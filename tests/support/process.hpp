#pragma once
// Runs a program with arguments and collects its exit status, stdout and stderr (test helper).

#include <chrono>
#include <string>
#include <vector>

#include <sys/socket.h>

namespace nettool::test {

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
