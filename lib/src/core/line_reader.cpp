#include <nettool/core/line_reader.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nettool {

namespace {

constexpr std::size_t read_chunk = 64 * 1024;

std::error_code os_error(int e) {
    return {e != 0 ? e : EIO, std::system_category()};
}

}  // namespace

line_reader::line_reader(int fd, bool owns_fd, std::string name, line_limits limits)
    : fd_(fd), owns_fd_(owns_fd), name_(std::move(name)), limits_(limits) {}

line_reader::line_reader(line_reader&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      owns_fd_(std::exchange(o.owns_fd_, false)),
      eof_(o.eof_),
      failed_(o.failed_),
      name_(std::move(o.name_)),
      limits_(o.limits_),
      buf_(std::move(o.buf_)),
      text_(o.text_),
      data_(fd_ >= 0 ? buf_.data() : text_.data()),
      begin_(o.begin_),
      end_(o.end_),
      line_(o.line_),
      consumed_(o.consumed_) {}

line_reader& line_reader::operator=(line_reader&& o) noexcept {
    if (this != &o) {
        if (owns_fd_ && fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        owns_fd_ = std::exchange(o.owns_fd_, false);
        eof_ = o.eof_;
        failed_ = o.failed_;
        name_ = std::move(o.name_);
        limits_ = o.limits_;
        buf_ = std::move(o.buf_);
        text_ = o.text_;
        data_ = fd_ >= 0 ? buf_.data() : text_.data();
        begin_ = o.begin_;
        end_ = o.end_;
        line_ = o.line_;
        consumed_ = o.consumed_;
    }
    return *this;
}

line_reader::~line_reader() {
    if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

line_reader line_reader::open(const std::string& path, line_limits limits) {
    if (path == "-") {
        line_reader r{STDIN_FILENO, false, "stdin", limits};
        r.buf_.resize(limits.max_line_bytes + 2 + read_chunk);
        r.data_ = r.buf_.data();
        return r;
    }
    int fd = -1;
    do {
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        const auto ec = os_error(errno);
        throw error(ec, fmt::format("{}: cannot open: {}", path, ec.message()));
    }
    line_reader r{fd, true, path, limits};
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        const auto ec = os_error(EISDIR);
        throw error(ec, fmt::format("{}: cannot open: {}", path, ec.message()));
    }
    r.buf_.resize(limits.max_line_bytes + 2 + read_chunk);
    r.data_ = r.buf_.data();
    return r;
}

line_reader line_reader::from_text(std::span<const std::byte> text, std::string name, line_limits limits) {
    line_reader r{-1, false, std::move(name), limits};
    r.text_ = std::span<const char>{static_cast<const char*>(static_cast<const void*>(text.data())), text.size()};
    r.data_ = r.text_.data();
    r.end_ = text.size();
    r.eof_ = true;
    return r;
}

line_reader line_reader::from_text(std::string_view text, std::string name, line_limits limits) {
    return from_text(std::as_bytes(std::span<const char>{text.data(), text.size()}), std::move(name), limits);
}

void line_reader::fail(errc code, std::string_view what) const {
    throw error(code, fmt::format("{} line {}: {}", name_, line_, what));
}

void line_reader::fail_input(errc code, std::string what) {
    failed_ = true;
    throw error(code, std::move(what));
}

bool line_reader::fill() {
    if (eof_ || fd_ < 0) return false;
    if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    for (;;) {
        const ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
        if (n > 0) {
            end_ += static_cast<std::size_t>(n);
            return true;
        }
        if (n == 0) {
            eof_ = true;
            return false;
        }
        if (errno == EINTR) continue;
        const auto ec = os_error(errno);
        failed_ = true;
        throw error(ec, fmt::format("{}: cannot read: {}", name_, ec.message()));
    }
}

std::optional<std::string_view> line_reader::next() {
    if (failed_) return std::nullopt;
    return next_line();
}

std::optional<std::string_view> line_reader::next(std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return next(); });
}

std::optional<std::string_view> line_reader::next_line() {
    const std::size_t max_line = limits_.max_line_bytes;
    const auto too_long = [&] {
        fail_input(errc::too_large,
                   fmt::format("{} line {}: longer than {} bytes: is this a text file? (lines are at most {} bytes)",
                               name_, line_ + 1, max_line, max_line));
    };
    const auto check_nul = [&](std::size_t from, std::size_t to) {
        if (std::memchr(data_ + from, '\0', to - from) != nullptr)
            fail_input(errc::malformed,
                       fmt::format("{} line {}: a NUL byte: this is not a text file", name_, line_ + 1));
    };
    for (;;) {
        const char* nl = static_cast<const char*>(std::memchr(data_ + begin_, '\n', end_ - begin_));
        std::size_t stop = 0;  // end of the line's text
        std::size_t after = 0; // where the next line starts
        if (nl != nullptr) {
            stop = static_cast<std::size_t>(nl - data_);
            after = stop + 1;
        } else {
            // No terminator in what is buffered: fail early on binary or endless input, else read
            // more or, at the end, take the rest as the last line.
            check_nul(begin_, end_);
            if (end_ - begin_ > max_line + 1) too_long();  // +1: a '\r' still to be dropped
            if (fill()) continue;
            if (begin_ == end_) return std::nullopt;
            stop = end_;
            after = end_;
        }
        check_nul(begin_, stop);
        std::size_t len = stop - begin_;
        if (len > 0 && data_[begin_ + len - 1] == '\r') --len;
        if (len > max_line) too_long();
        if (line_ + 1 > limits_.max_lines)
            fail_input(errc::too_large, fmt::format("{}: more than {} lines: give a shorter file (at most {} lines)",
                                                    name_, limits_.max_lines, limits_.max_lines));
        if (consumed_ + (after - begin_) > limits_.max_bytes)
            fail_input(errc::too_large, fmt::format("{}: more than {} bytes: give a smaller file (at most {} bytes)",
                                                    name_, limits_.max_bytes, limits_.max_bytes));
        ++line_;
        consumed_ += after - begin_;
        const std::string_view line{data_ + begin_, len};
        begin_ = after;
        return line;
    }
}

std::string quoted_excerpt(std::string_view text, std::size_t max) {
    if (text.size() <= max) return fmt::format("'{}'", text);
    return fmt::format("'{}...'", text.substr(0, max));
}

}  // namespace nettool
