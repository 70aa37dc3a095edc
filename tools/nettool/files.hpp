#pragma once
// Files named on the command line. Input files are read through the library's line_reader
// (bounded: nettool/core/line_reader.hpp); a file that cannot be opened, is not text or is not of
// the expected kind is a usage error (exit 2), the same in every subcommand. Output files are
// written through checked writers; a write that fails (full disk, read-only target) is exit 1
// with the reason and what was kept.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace nettool::cli {

/// For every option that names a file: an empty value is a usage error ("--write: an empty value
/// is not a file name: give a path"), never "no file" or standard output in disguise.
CLI::Validator file_option();

/// Flushes stdout and checks that everything written to it arrived; false (and one line on
/// stderr, "nettool: stdout: no space left on device") when it did not. main() calls it once,
/// after the command ran, so a report redirected to a full disk is not a silent success. A
/// closed pipe (EPIPE: the reader of `| head` has what it wanted) is not reported.
/// `known` is the code of a failed write already seen (fmt::print throws), used when the flush
/// itself has nothing left to say.
bool stdout_complete(std::error_code known = {}) noexcept;

/// fflush(stdout), keeping the reason of a failure for stdout_complete(); false on failure.
/// Every flush of stdout goes through it: glibc drops what it could not write, so a later flush
/// would succeed and the reason be lost.
bool flush_stdout() noexcept;
/// fwrite to stdout, the same way.
bool write_stdout(std::string_view text) noexcept;

/// Records why a write to stdout failed (errno) where the writer cannot report it itself (a
/// capture thread's packet lines); stdout_complete() then gives that reason.
void note_stdout_error(int err) noexcept;

/// The OS's reason in the words of nettool's messages: "no space left on device".
std::string os_reason(const std::error_code& ec);

/// A text file lines are appended to (link --log), every write checked: a line that does not
/// reach the file whole is cut off again, so the file ends on a whole line; the first failure
/// stops the log and is kept for the one message at the end.
class log_file {
public:
    log_file() = default;
    log_file(const log_file&) = delete;
    log_file& operator=(const log_file&) = delete;
    ~log_file();
    /// Opens path for appending (created if missing); returns 0 or the errno.
    int open(const std::string& path) noexcept;
    /// Appends text (whole lines, with their "\n"); false once the file has failed.
    bool append(std::string_view text) noexcept;
    /// Open and not failed: appending still makes sense.
    bool active() const noexcept { return fd_ >= 0 && !error_; }
    bool failed() const noexcept { return static_cast<bool>(error_); }
    const std::error_code& error() const noexcept { return error_; }
    std::uint64_t written() const noexcept { return written_; }  ///< appends that reached the file
    std::uint64_t offered() const noexcept { return offered_; }  ///< appends asked for

private:
    int fd_ = -1;
    std::error_code error_;
    std::uint64_t written_ = 0;
    std::uint64_t offered_ = 0;
};

}  // namespace nettool::cli
