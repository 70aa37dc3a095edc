#pragma once
// Live packet capture over libpcap, on its own thread, so a probe can capture while it runs.
//
//   capture_options o;
//   o.interface = "lo";
//   o.filter = "port 5201 or port 5202";
//   o.output_file = "/tmp/run.pcap";
//   std::error_code ec; std::string why;
//   auto cap = capture_session::open(o, ec, why);   // privileges, interface, filter checked here
//   cap->start();                                   // capture thread runs
//   ... run the probe ...
//   auto stats = cap->stop();                       // file flushed and closed, counts final
//   auto r = inspect_file(o.output_file, {}, ec, why);
//
// Only this part of nettool (and the file reader in inspect) includes <pcap.h>.

#include <nettool/core/export.hpp>
#include <nettool/core/error.hpp>
#include <nettool/packet/packet.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

NETTOOL_API_BEGIN
namespace nettool {

struct capture_options {
    std::string interface;  ///< empty: the default route's interface, else "lo"
    std::string filter;     ///< BPF filter expression (tcpdump syntax); empty: everything
    int snaplen = 262144;   ///< bytes kept per packet
    bool promiscuous = false;
    bool immediate = true;                  ///< deliver packets as they arrive (no kernel batching)
    int buffer_size = 4 << 20;              ///< kernel capture buffer, bytes
    std::uint64_t max_packets = 0;          ///< stop after this many packets (0: no limit)
    std::chrono::milliseconds duration{0};  ///< stop after this long (0: until stop())
    std::string output_file;                ///< write a pcap file here when not empty
};

struct capture_stats {
    std::uint64_t captured = 0;           ///< packets handed to nettool
    std::uint64_t written = 0;            ///< packets whole in the output file (after stop(): all of them)
    std::uint64_t bytes = 0;              ///< on-wire bytes of those packets
    std::uint64_t received = 0;           ///< libpcap's ps_recv: packets the filter accepted
    std::uint64_t dropped_kernel = 0;     ///< libpcap's ps_drop: dropped for lack of buffer space
    std::uint64_t dropped_interface = 0;  ///< libpcap's ps_ifdrop
    bool operator==(const capture_stats&) const = default;
};

/// One packet as seen by a packet handler; the bytes are valid only during the call.
struct captured_packet {
    std::chrono::nanoseconds time{0};  ///< since the Unix epoch
    bytes_view data;
    std::uint32_t wire_length = 0;
};
/// Called on the capture thread for every packet.
using packet_handler = std::function<void(const captured_packet&)>;

class capture_session {
public:
    /// Opens and activates the interface, compiles and sets the filter, opens the output file.
    /// Throws nettool::error: errc::permission_denied (no CAP_NET_RAW), errc::unknown_interface,
    /// errc::bad_argument (filter does not compile), system errors for the output file; what()
    /// holds libpcap's words. Never returns nullptr.
    static std::unique_ptr<capture_session> open(const capture_options& opts);
    /// The same, setting ec and returning nullptr instead of throwing.
    static std::unique_ptr<capture_session> open(const capture_options& opts, std::error_code& ec) noexcept;
    ~capture_session();
    capture_session(const capture_session&) = delete;
    capture_session& operator=(const capture_session&) = delete;

    const std::string& interface() const noexcept;
    int link_type() const noexcept;

    /// Starts the capture thread; it runs until stop(), the packet limit or the duration.
    void start(packet_handler handler = {});
    /// True until the capture thread has finished (limit reached or stop()).
    bool running() const noexcept;
    /// Blocks until the capture thread finishes by itself (limits) or stop() is called.
    void wait() noexcept;
    /// Stops the thread, flushes and closes the file; returns the final counts. Idempotent.
    capture_stats stop() noexcept;
    /// After stop(): why the output file failed (ENOSPC, EFBIG, EIO...), or empty. A failed file
    /// ends the capture early; it is cut back to its last whole record, so it stays a valid pcap
    /// file holding stats().written packets.
    const std::error_code& output_error() const noexcept;
    /// Counts so far (thread-safe).
    capture_stats stats() const noexcept;

private:
    struct impl;
    explicit capture_session(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

/// The interface the IPv4 default route uses (/proc/net/route), else "lo".
std::string default_capture_interface();

/// One line per packet in the spirit of `tcpdump -n`:
/// "12:00:01.123456 IP 127.0.0.1.5000 > 127.0.0.1.6000: UDP, length 64".
std::string packet_line(std::chrono::nanoseconds time, const decoded_packet& p, std::uint32_t wire_length);

}  // namespace nettool
NETTOOL_API_END
