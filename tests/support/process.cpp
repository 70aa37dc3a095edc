#include "support/process.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nettool::test {

pid_t spawn(const std::vector<std::string>& argv, const spawn_options& o) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (o.die_with_parent) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(126);
        }
        const int fds[3] = {o.stdin_fd, o.stdout_fd, o.stderr_fd};
        for (int i = 0; i < 3; ++i)
            if (::dup2(fds[i] >= 0 ? fds[i] : devnull, i) < 0) ::_exit(126);
        if (o.close_other_fds)
            for (int fd = 3; fd < 1024; ++fd) ::close(fd);
        for (const auto& [resource, n] : o.limits) {
            const rlimit lim{n, n};
            if (::setrlimit(resource, &lim) != 0) ::_exit(126);
        }
        ::signal(SIGPIPE, SIG_DFL);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    if (devnull >= 0) ::close(devnull);
    return pid;
}

namespace {

struct spawned {
    pid_t pid = -1;
    int out = -1;
    int err = -1;
};

// Spawns argv with stdout and stderr on fresh pipes.
spawned spawn_piped(const std::vector<std::string>& argv) {
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) return {};
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        return {};
    }
    spawn_options o;
    o.stdout_fd = out_pipe[1];
    o.stderr_fd = err_pipe[1];
    const pid_t pid = spawn(argv, o);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (pid < 0) {
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        return {};
    }
    return {pid, out_pipe[0], err_pipe[0]};
}

}  // namespace

process_result run_process(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
    process_result r;
    const auto child = spawn_piped(argv);
    if (child.pid < 0) return r;
    const pid_t pid = child.pid;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::array<pollfd, 2> fds{{{child.out, POLLIN, 0}, {child.err, POLLIN, 0}}};
    int open_fds = 2;
    char buf[65536];
    while (open_fds > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            r.timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) < 0 && errno != EINTR) break;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            } else {
                (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) ::close(f.fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status))
        r.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        r.exit_code = 128 + WTERMSIG(status);
    return r;
}

process_result run_nettool(const std::vector<std::string>& args, std::chrono::seconds timeout) {
    std::vector<std::string> argv{NETTOOL_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, timeout);
}

bool is_root() {
    return ::geteuid() == 0;
}

}  // namespace nettool::test

#include <cstdlib>
#include <netinet/in.h>
#include <sys/socket.h>

namespace nettool::test {

background_process::background_process(const std::vector<std::string>& argv) {
    const auto child = spawn_piped(argv);
    pid_ = child.pid;
    out_fd_ = child.out;
    err_fd_ = child.err;
}

background_process::~background_process() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
}

process_result background_process::stop(int sig, std::chrono::seconds timeout) {
    process_result r;
    if (pid_ <= 0) return r;
    ::kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            r.timed_out = true;
            break;
        }
        ::usleep(10'000);
    }
    pid_ = -1;
    if (WIFEXITED(status))
        r.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        r.exit_code = 128 + WTERMSIG(status);
    char buf[65536];
    for (auto [fd, dst] : {std::pair{out_fd_, &r.out}, std::pair{err_fd_, &r.err}}) {
        ::fcntl(fd, F_SETFL, O_NONBLOCK);
        for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) dst->append(buf, static_cast<std::size_t>(n));
    }
    return r;
}

int sh(const std::string& command) {
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::uint16_t free_port(int type) {
    const int fd = ::socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

bool have_tool(const char* tool) {
    return run_process({"sh", "-c", std::string{"command -v "} + tool + " >/dev/null"}).exit_code == 0;
}

}  // namespace nettool::test
