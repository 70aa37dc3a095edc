#pragma once
// Test helper: a background child process (a capture, a DNS server) with its output in a log
// file; SIGTERM then SIGKILL and reaped when the object goes away, so tests leave nothing running.

#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/process.hpp"

namespace nettool::test {

/// A child process started with fork/exec; SIGTERM and reaped in the destructor.
class child {
public:
    child(const std::vector<std::string>& argv, const std::string& log) { start(argv, log); }
    child() = default;
    void start(const std::vector<std::string>& argv, const std::string& log) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        spawn_options o;
        o.stdout_fd = fd;
        o.stderr_fd = fd;
        pid_ = spawn(argv, o);
        if (fd >= 0) ::close(fd);
    }
    ~child() { stop(); }
    pid_t pid() const { return pid_; }
    /// Waits up to timeout for the child to exit by itself; its status, or -1 if still running.
    int wait_for(std::chrono::milliseconds timeout) {
        for (auto end = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < end;) {
            int st = 0;
            if (pid_ > 0 && ::waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                return status_;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
        }
        return pid_ > 0 ? -1 : status_;
    }
    child(const child&) = delete;
    child& operator=(const child&) = delete;
    /// SIGTERM, then SIGKILL if it has not exited after 5 s. Returns the exit status.
    int stop() {
        if (pid_ <= 0) return status_;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 500; ++i) {
            int st = 0;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                return status_;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        return status_;
    }

private:
    pid_t pid_ = -1;
    int status_ = -1;
};

}  // namespace nettool::test
