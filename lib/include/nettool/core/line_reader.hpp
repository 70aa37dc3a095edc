#pragma once
// The one reader for text files a user names: address lists (classify -f), dnsperf query files
// (dns --queries), resolv.conf, mahimahi traces. Every such file goes through it, so every one
// has the same three limits and the same errors.
//
// It streams: one buffer of at most max_line_bytes plus a read's worth is held, never the whole
// file, so /dev/zero, /dev/urandom or an endless pipe end in an error after a bounded read
// instead of growing until memory runs out. A line ends at "\n"; one '\r' before it (CRLF) or at
// the end of the file is dropped; the last line needs no "\n". A NUL byte anywhere is an error
// (binary input is not a list of anything).
//
//   auto in = line_reader::open(path, {.max_lines = 10'000});
//   while (auto line = in.next()) use(*line, in.line_number());
//
// Errors are nettool::error whose what() names the file and, for a bad line, its number:
//   "q.txt line 1: a NUL byte: this is not a text file"
//   "q.txt line 7: longer than 4096 bytes: is this a text file? (lines are at most 4096 bytes)"
//   "q.txt: more than 1000000 lines: give a shorter file (at most 1000000 lines)"
//   "q.txt: cannot open: No such file or directory"

#include <nettool/core/export.hpp>
#include <nettool/core/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

/// How much of a text file line_reader accepts; anything past a limit is an error, not ignored.
struct line_limits {
    std::size_t max_line_bytes = 4096;        ///< bytes per line, without its "\n" or "\r\n"
    std::uint64_t max_lines = 1'000'000;      ///< lines per file, blank and comment lines included
    std::uint64_t max_bytes = 64ULL << 20;    ///< bytes per file (64 MiB), terminators included
    bool operator==(const line_limits&) const = default;
};

class line_reader {
public:
    /// Opens path for reading; "-" is standard input (named "stdin" in messages). Throws
    /// nettool::error carrying the OS's code (ENOENT, EACCES, EISDIR...) and
    /// "<path>: cannot open: <reason>".
    static line_reader open(const std::string& path, line_limits limits = {});
    /// Reads text that is already in memory (fuzzers, tests, parsers of strings); `name` is what
    /// messages call it. The bytes must outlive the reader.
    static line_reader from_text(std::span<const std::byte> text, std::string name, line_limits limits = {});
    static line_reader from_text(std::string_view text, std::string name, line_limits limits = {});

    line_reader(line_reader&&) noexcept;
    line_reader& operator=(line_reader&&) noexcept;
    line_reader(const line_reader&) = delete;
    line_reader& operator=(const line_reader&) = delete;
    ~line_reader();

    /// The next line without its terminator, valid until the next call; nullopt at the end.
    /// Throws nettool::error: errc::too_large (a line, the line count or the size over its
    /// limit), errc::malformed (a NUL byte), or the OS's code when reading fails. After an error
    /// every call returns nullopt.
    std::optional<std::string_view> next();
    /// The same, setting ec instead of throwing (nullopt with ec set).
    std::optional<std::string_view> next(std::error_code& ec) noexcept;

    /// 1-based number of the line next() returned last (0 before the first).
    std::uint64_t line_number() const noexcept { return line_; }
    /// The file's name as messages give it: the path, or "stdin".
    const std::string& name() const noexcept { return name_; }
    const line_limits& limits() const noexcept { return limits_; }
    /// Throws nettool::error(code, "<name> line <n>: <what>"): how a parser reports a bad line,
    /// so every file's errors read alike.
    [[noreturn]] void fail(errc code, std::string_view what) const;

private:
    line_reader(int fd, bool owns_fd, std::string name, line_limits limits);
    std::optional<std::string_view> next_line();
    bool fill();  // reads more into buf_; false at the end of the input
    [[noreturn]] void fail_input(errc code, std::string what);

    int fd_ = -1;  // -1: reading memory
    bool owns_fd_ = false;
    bool eof_ = false;
    bool failed_ = false;
    std::string name_;
    line_limits limits_;
    std::vector<char> buf_;                 // file mode: the unread bytes live in [begin_, end_)
    std::span<const char> text_;            // memory mode: the whole text
    const char* data_ = nullptr;            // the bytes being split: buf_.data() or text_.data()
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::uint64_t line_ = 0;
    std::uint64_t consumed_ = 0;  // bytes of the lines returned so far, terminators included
};

/// A line's text for an error message: quoted, cut to max bytes with "..." when longer, so a
/// 4 kB line of garbage does not become a 4 kB message.
std::string quoted_excerpt(std::string_view text, std::size_t max = 60);

}  // namespace nettool
NETTOOL_API_END
