#pragma once
// Reading a pcap or pcapng file packet by packet (libpcap, nanosecond timestamps). The one file
// reader: inspect and the on-wire timelines go through it.
//
//   auto f = capture_file::open("run.pcap");          // throws nettool::error
//   captured_packet p;
//   while (f.next(p)) { auto d = decode(f.link_type(), p.data); ... }
//   if (!f.end_note().empty()) ...                    // reading stopped before the end

#include <nettool/core/export.hpp>
#include <nettool/core/error.hpp>
#include <nettool/packet/capture.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

NETTOOL_API_BEGIN
namespace nettool {

class capture_file {
public:
    /// Throws nettool::error: the system error of opening the file (no such file, a directory)
    /// or errc::malformed when libpcap cannot read it as pcap or pcapng (what() says why).
    static capture_file open(const std::string& path);
    static capture_file open(const std::string& path, std::error_code& ec) noexcept;

    /// A reader of nothing: next() is false at once (what open(path, ec) returns on failure).
    capture_file() noexcept;

    capture_file(capture_file&&) noexcept;
    capture_file& operator=(capture_file&&) noexcept;
    ~capture_file();

    int link_type() const noexcept;
    std::uint64_t size() const noexcept;  ///< file size in bytes (0 when unknown)
    std::uint64_t offset() const noexcept;  ///< bytes read so far

    /// The next packet; its bytes stay valid until the following call. False at the end of the
    /// file, or where a damaged record stops reading (end_note() then says why).
    bool next(captured_packet& p) noexcept;
    /// Empty after a clean end of file; else why reading stopped early.
    const std::string& end_note() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace nettool
NETTOOL_API_END
