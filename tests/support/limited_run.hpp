#pragma once
// Test helper: runs a program with chosen stdin/stdout files and resource limits, and measures
// what it cost: exit status, stderr, peak memory (the child's own ru_maxrss, from wait4) and
// time. For the "bounded input" and "no silent loss" tests of issue 18: endless input must end
// quickly in bounded memory; a full disk (RLIMIT_FSIZE, /dev/full) must be reported.

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/process.hpp"
#include "support/sanitizer.hpp"


namespace nettool::test {

struct limited_options {
    std::string stdin_path = "/dev/null";
    std::string stdout_path = "/dev/null";
    std::optional<rlim_t> file_size_limit{};  ///< RLIMIT_FSIZE in bytes (SIGXFSZ left at its default)
    std::chrono::milliseconds timeout{20'000};
};

struct limited_result {
    int exit_code = -1;  ///< exit status, or 128+signal
    std::string err;
    long max_rss_kib = 0;
    std::chrono::milliseconds elapsed{0};
    bool timed_out = false;
};

/// A child started with fork/exec under limited_options; wait() collects it (killed at the
/// timeout). The destructor kills and reaps a child that was not waited for.
class limited_child {
public:
    limited_child(const std::vector<std::string>& argv, const limited_options& o) : opt_(o) {
        int err_pipe[2];
        if (::pipe2(err_pipe, O_CLOEXEC) != 0) return;
        const int in = ::open(o.stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
        const int out = ::open(o.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        spawn_options so;
        so.stdin_fd = in;
        so.stdout_fd = out;
        so.stderr_fd = err_pipe[1];
        if (o.file_size_limit) so.limits.emplace_back(RLIMIT_FSIZE, *o.file_size_limit);
        // A guard for the machine when the code under test is the old, unbounded one (ASan
        // reserves terabytes of address space for its shadow, so not there).
        if (!instrumented) so.limits.emplace_back(RLIMIT_AS, rlim_t{1} << 30);
        started_ = std::chrono::steady_clock::now();
        if (in >= 0 && out >= 0) pid_ = spawn(argv, so);
        for (const int fd : {in, out})
            if (fd >= 0) ::close(fd);
        if (pid_ < 0) {
            ::close(err_pipe[0]);
            ::close(err_pipe[1]);
            result_.exit_code = 126;
            result_.err = "cannot open " + o.stdin_path + " or " + o.stdout_path + ", or fork failed";
            return;
        }
        ::close(err_pipe[1]);
        err_fd_ = err_pipe[0];
    }
    ~limited_child() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (err_fd_ >= 0) ::close(err_fd_);
    }
    limited_child(const limited_child&) = delete;
    limited_child& operator=(const limited_child&) = delete;

    bool exited() {
        if (pid_ <= 0) return true;
        drain(0);
        int st = 0;
        rusage ru{};
        if (::wait4(pid_, &st, WNOHANG, &ru) == pid_) {
            finish(st, ru);
            return true;
        }
        return false;
    }

    limited_result wait() {
        const auto deadline = started_ + opt_.timeout;
        while (pid_ > 0) {
            if (exited()) break;
            if (std::chrono::steady_clock::now() >= deadline) {
                result_.timed_out = true;
                ::kill(pid_, SIGKILL);
            }
            drain(20);
        }
        for (int i = 0; i < 50 && err_fd_ >= 0; ++i) drain(20);  // what is left after the exit
        return result_;
    }

private:
    void drain(int timeout_ms) {
        if (err_fd_ < 0) {
            if (timeout_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds{timeout_ms});
            return;
        }
        pollfd p{err_fd_, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0) return;
        char buf[4096];
        const ssize_t n = ::read(err_fd_, buf, sizeof buf);
        if (n > 0) {
            if (result_.err.size() < (1U << 20)) result_.err.append(buf, static_cast<std::size_t>(n));
        } else {
            ::close(err_fd_);
            err_fd_ = -1;
        }
    }
    void finish(int st, const rusage& ru) {
        pid_ = -1;
        result_.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        result_.max_rss_kib = ru.ru_maxrss;
        result_.elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
    }

    limited_options opt_;
    pid_t pid_ = -1;
    int err_fd_ = -1;
    std::chrono::steady_clock::time_point started_;
    limited_result result_;
};

inline limited_result run_limited(const std::vector<std::string>& argv, const limited_options& o = {}) {
    limited_child c{argv, o};
    return c.wait();
}

}  // namespace nettool::test
