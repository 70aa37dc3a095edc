#include <nettool/packet/pcap_writer.hpp>

#include <fmt/format.h>
#include "packet/pcap_api.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nettool {

namespace {

constexpr std::size_t record_header_size = 16;  // ts_sec, ts_frac, caplen, len: 4 bytes each, host order
constexpr std::size_t flush_at = 64 * 1024;     // buffered bytes that trigger a write

// The 24-byte file header exactly as libpcap writes it for this link type, snapshot length and
// precision (magic, version, the DLT_ to LINKTYPE_ mapping), rendered into memory.
std::vector<std::byte> file_header(int dlt, int snaplen, pcap_writer::precision p) {
    std::unique_ptr<pcap_t, void (*)(pcap_t*)> dead{
        detail::pcap().open_dead_with_tstamp_precision(
            dlt, snaplen, p == pcap_writer::precision::nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO),
        detail::pcap().close};
    if (!dead) throw nettool::error(errc::bad_argument, fmt::format("link type {}: libpcap cannot write it", dlt));
    char* mem = nullptr;
    std::size_t size = 0;
    std::FILE* f = ::open_memstream(&mem, &size);
    if (f == nullptr) throw nettool::error(std::error_code{errno, std::system_category()}, "rendering a pcap file header");
    pcap_dumper_t* d = detail::pcap().dump_fopen(dead.get(), f);
    if (d == nullptr) {
        std::fclose(f);
        std::free(mem);
        throw nettool::error(errc::bad_argument, fmt::format("link type {}: libpcap cannot write it", dlt));
    }
    detail::pcap().dump_close(d);  // flushes and closes f: mem holds the header
    std::vector<std::byte> out(size);
    if (size > 0) std::memcpy(out.data(), mem, size);
    std::free(mem);
    return out;
}

void put_u32(std::vector<std::byte>& out, std::uint32_t v) {
    std::byte b[4];
    std::memcpy(b, &v, 4);  // host order, as pcap_dump writes it
    out.insert(out.end(), b, b + 4);
}

}  // namespace

pcap_writer pcap_writer::open(const std::string& path, int dlt, int snaplen, precision p) {
    if (path.empty()) throw nettool::error(errc::bad_argument, "an empty file name: give a path for the pcap file");
    const auto header = file_header(dlt, snaplen, p);
    pcap_writer w;
    w.path_ = path;
    w.precision_ = p;
    if (path == "-") {
        w.fd_ = STDOUT_FILENO;
    } else {
        do {
            w.fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666);
        } while (w.fd_ < 0 && errno == EINTR);
        if (w.fd_ < 0) {
            const std::error_code ec{errno, std::system_category()};
            throw nettool::error(ec, fmt::format("{}: {}", path, ec.message()));
        }
        w.owns_fd_ = true;
    }
    struct stat st {};
    w.regular_ = ::fstat(w.fd_, &st) == 0 && S_ISREG(st.st_mode);
    if (w.regular_) {
        const off_t at = ::lseek(w.fd_, 0, SEEK_CUR);
        w.end_ = at > 0 ? static_cast<std::uint64_t>(at) : 0;
    }
    w.buf_.reserve(flush_at + record_header_size + static_cast<std::size_t>(snaplen > 0 ? snaplen : 0));
    std::size_t done = 0;
    if (!w.write_out(header.data(), header.size(), done)) {
        const int e = errno != 0 ? errno : EIO;
        // Not even the header: leave no partial header behind.
        if (w.regular_) {
            [[maybe_unused]] const int rc = ::ftruncate(w.fd_, static_cast<off_t>(w.end_));
        }
        const std::error_code ec{e, std::system_category()};
        throw nettool::error(ec, fmt::format("{}: {}", path, ec.message()));
    }
    w.end_ += header.size();
    return w;
}

pcap_writer pcap_writer::open(const std::string& path, int dlt, int snaplen, precision p,
                              std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return open(path, dlt, snaplen, p); });
}

pcap_writer::pcap_writer(pcap_writer&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      owns_fd_(std::exchange(o.owns_fd_, false)),
      regular_(o.regular_),
      precision_(o.precision_),
      path_(std::move(o.path_)),
      buf_(std::move(o.buf_)),
      buffered_(std::exchange(o.buffered_, 0)),
      end_(o.end_),
      written_(o.written_),
      offered_(o.offered_),
      error_(o.error_) {}

pcap_writer& pcap_writer::operator=(pcap_writer&& o) noexcept {
    if (this != &o) {
        close();
        fd_ = std::exchange(o.fd_, -1);
        owns_fd_ = std::exchange(o.owns_fd_, false);
        regular_ = o.regular_;
        precision_ = o.precision_;
        path_ = std::move(o.path_);
        buf_ = std::move(o.buf_);
        buffered_ = std::exchange(o.buffered_, 0);
        end_ = o.end_;
        written_ = o.written_;
        offered_ = o.offered_;
        error_ = o.error_;
    }
    return *this;
}

pcap_writer::~pcap_writer() {
    close();
}

bool pcap_writer::write(std::chrono::nanoseconds time, std::span<const std::byte> data,
                        std::uint32_t wire_length) noexcept {
    ++offered_;
    if (fd_ < 0 || error_) return false;
    const auto ns = time.count();
    const auto sec = static_cast<std::uint32_t>(ns / 1'000'000'000);
    const auto sub = ns % 1'000'000'000;
    const auto frac = static_cast<std::uint32_t>(precision_ == precision::nano ? sub : sub / 1000);
    try {
        put_u32(buf_, sec);
        put_u32(buf_, frac);
        put_u32(buf_, static_cast<std::uint32_t>(data.size()));
        put_u32(buf_, wire_length);
        buf_.insert(buf_.end(), data.begin(), data.end());
    } catch (...) {  // no memory for the buffer: the record is lost, and said to be
        return fail(ENOMEM);
    }
    ++buffered_;
    if (buf_.size() >= flush_at) return flush();
    return true;
}

bool pcap_writer::write_out(const std::byte* data, std::size_t n, std::size_t& done) noexcept {
    done = 0;
    errno = 0;
    while (done < n) {
        const ssize_t w = ::write(fd_, data + done, n - done);
        if (w > 0) {
            done += static_cast<std::size_t>(w);
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else {
            if (w == 0) errno = EIO;
            return false;
        }
    }
    return true;
}

bool pcap_writer::flush() noexcept {
    if (fd_ < 0 || error_) return false;
    if (buf_.empty()) return true;
    std::size_t done = 0;
    if (write_out(buf_.data(), buf_.size(), done)) {
        end_ += buf_.size();
        written_ += buffered_;
        buf_.clear();
        buffered_ = 0;
        return true;
    }
    const int e = errno != 0 ? errno : EIO;
    // Count the records that reached the file whole; cut off the one that did not.
    std::size_t whole = 0;
    while (whole + record_header_size <= done) {
        std::uint32_t caplen = 0;
        std::memcpy(&caplen, buf_.data() + whole + 8, 4);
        const std::size_t rec = record_header_size + caplen;
        if (whole + rec > done) break;
        whole += rec;
        ++written_;
    }
    end_ += whole;
    buf_.clear();
    buffered_ = 0;
    return fail(e);
}

bool pcap_writer::fail(int err) noexcept {
    if (!error_) error_ = std::error_code{err, std::system_category()};
    // Cutting a file shorter is allowed even past RLIMIT_FSIZE or on a full disk; a pipe or a
    // device cannot be cut, and whatever part of a record reached it stays.
    if (regular_ && fd_ >= 0) {
        [[maybe_unused]] const int rc = ::ftruncate(fd_, static_cast<off_t>(end_));
    }
    return false;
}

bool pcap_writer::close() noexcept {
    if (fd_ < 0) return !error_;
    flush();
    if (owns_fd_ && ::close(fd_) != 0 && !error_) error_ = std::error_code{errno, std::system_category()};
    fd_ = -1;
    owns_fd_ = false;
    return !error_;
}

}  // namespace nettool
