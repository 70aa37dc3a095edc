#pragma once
// Runs a program with arguments and collects its exit status, stdout and stderr (test helper).

#include <chrono>
#include <string>
#include <vector>

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

}  // namespace nettool::test
