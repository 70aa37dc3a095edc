#pragma once
// Writing a pcap file with every write checked (issue 18, "no silent loss").
//
// libpcap's pcap_dump() writes through stdio and reports nothing; a full disk loses packets in
// silence and may leave half a record at the end. pcap_writer writes the same file format (the
// file header is libpcap's own) through write(2) with its own buffer, and keeps track of where
// the last complete record ends. When a write fails (no space left, file too large, I/O error) it
// cuts the file back to that point, so what was written stays a valid pcap file whose last record
// is whole, latches the error and counts the records the file holds.
//
//   std::error_code ec;
//   auto w = pcap_writer::open("run.pcap", DLT_EN10MB, 262144, pcap_writer::precision::nano, ec);
//   w.write(time, bytes, wire_length);      // buffered; false once the file has failed
//   w.flush();                              // now and then: the records reach the file
//   if (!w.close()) report(w.error(), w.written());
//
// Not thread-safe: one thread writes (a capture thread), or callers lock.

#include <nettool/core/export.hpp>
#include <nettool/core/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

class pcap_writer {
public:
    enum class precision { micro, nano };

    pcap_writer() noexcept = default;
    /// Creates (or truncates) path, "-" being standard output, and writes the file header for a
    /// DLT_* link type and snapshot length. Throws nettool::error with the OS's code and
    /// "<path>: <reason>" when the file cannot be created or its header not written.
    static pcap_writer open(const std::string& path, int dlt, int snaplen, precision p);
    static pcap_writer open(const std::string& path, int dlt, int snaplen, precision p,
                            std::error_code& ec) noexcept;
    pcap_writer(pcap_writer&&) noexcept;
    pcap_writer& operator=(pcap_writer&&) noexcept;
    pcap_writer(const pcap_writer&) = delete;
    pcap_writer& operator=(const pcap_writer&) = delete;
    /// Closes without reporting; call close() to learn whether everything arrived.
    ~pcap_writer();

    bool is_open() const noexcept { return fd_ >= 0; }
    /// Adds one record (time since the Unix epoch, the captured bytes, the length on the wire).
    /// Buffered: the record reaches the file at a flush. False once the file has failed; the
    /// record is then dropped.
    bool write(std::chrono::nanoseconds time, std::span<const std::byte> data, std::uint32_t wire_length) noexcept;
    /// Writes out the buffered records; false once the file has failed.
    bool flush() noexcept;
    /// Flushes and closes the file (standard output is flushed, not closed); false when anything
    /// failed since open. Idempotent.
    bool close() noexcept;

    /// The first failure: the OS's code (ENOSPC, EFBIG, EIO...), or empty.
    const std::error_code& error() const noexcept { return error_; }
    /// Complete records in the file: those that reached it and were not cut off.
    std::uint64_t written() const noexcept { return written_; }
    /// Records handed to write() so far, kept or not.
    std::uint64_t offered() const noexcept { return offered_; }
    const std::string& path() const noexcept { return path_; }

private:
    bool fail(int err) noexcept;  // latches err, cuts the file back to the last whole record
    bool write_out(const std::byte* data, std::size_t n, std::size_t& done) noexcept;

    int fd_ = -1;
    bool owns_fd_ = false;
    bool regular_ = false;   // a regular file: it can be cut back with ftruncate
    precision precision_ = precision::nano;
    std::string path_;
    std::vector<std::byte> buf_;  // whole records not yet written
    std::uint64_t buffered_ = 0;  // records in buf_
    std::uint64_t end_ = 0;       // file offset after the last whole record written
    std::uint64_t written_ = 0;
    std::uint64_t offered_ = 0;
    std::error_code error_;
};

}  // namespace nettool
NETTOOL_API_END
