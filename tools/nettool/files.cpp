#include "files.hpp"

#include "cli.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nettool::cli {

CLI::Validator file_option() {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            if (s.empty()) return "an empty value is not a file name: give a path";
            return {};
        },
        "FILE");
}

std::string os_reason(const std::error_code& ec) {
    std::string m = ec.message();
    if (!m.empty() && m[0] >= 'A' && m[0] <= 'Z' && (m.size() < 2 || !(m[1] >= 'A' && m[1] <= 'Z')))
        m[0] = static_cast<char>(m[0] - 'A' + 'a');
    return m;
}

namespace {
std::atomic<int> g_stdout_errno{0};
}  // namespace

void note_stdout_error(int err) noexcept {
    int none = 0;
    g_stdout_errno.compare_exchange_strong(none, err != 0 ? err : EIO);
}

bool flush_stdout() noexcept {
    errno = 0;
    if (std::fflush(stdout) == 0) return true;
    note_stdout_error(errno);
    return false;
}

bool write_stdout(std::string_view text) noexcept {
    errno = 0;
    if (std::fwrite(text.data(), 1, text.size(), stdout) == text.size()) return true;
    note_stdout_error(errno);
    return false;
}

bool stdout_complete(std::error_code known) noexcept {
    if (!known && g_stdout_errno.load() != 0) known = std::error_code{g_stdout_errno.load(), std::system_category()};
    errno = 0;
    const bool flushed = std::fflush(stdout) == 0;
    const int e = errno;
    if (flushed && std::ferror(stdout) == 0 && !known) return true;
    // fflush's errno says why; an error latched by an earlier write has left no errno behind.
    const std::error_code ec = !flushed && e != 0 ? std::error_code{e, std::system_category()}
                               : known            ? known
                                                  : std::error_code{EIO, std::system_category()};
    std::clearerr(stdout);
    // A reader that closed the pipe (`nettool capture | head`) took what it wanted: like a tool
    // that SIGPIPE ends, nettool stops writing and says nothing of it.
    if (ec.value() == EPIPE && (ec.category() == std::system_category() || ec.category() == std::generic_category())) {
        return true;
    }
    try {
        fail(fmt::format("stdout: {}", os_reason(ec)), exit_failed);
    } catch (...) {
    }
    return false;
}

log_file::~log_file() {
    if (fd_ >= 0) ::close(fd_);
}

int log_file::open(const std::string& path) noexcept {
    do {
        fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0666);
    } while (fd_ < 0 && errno == EINTR);
    return fd_ < 0 ? errno : 0;
}

bool log_file::append(std::string_view text) noexcept {
    ++offered_;
    if (!active()) return false;
    struct stat st {};
    const bool regular = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            error_ = std::error_code{n < 0 ? errno : EIO, std::system_category()};
            // Cut off the part of the line that did get in (allowed on a full disk, and under
            // RLIMIT_FSIZE).
            if (regular && done > 0) {
                [[maybe_unused]] const int rc = ::ftruncate(fd_, st.st_size);
            }
            return false;
        }
    }
    ++written_;
    return true;
}

}  // namespace nettool::cli
