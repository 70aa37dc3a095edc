#pragma once
// A stream test's reporting intervals (about a second each, as iperf3 prints them) and the one
// piece of arithmetic that cuts a running byte count into them. Every stream probe (TCP, UDP,
// and later iperf3) reports through this.

#include <nettool/core/export.hpp>
#include <nettool/core/clock.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

/// One reporting interval of a stream test.
struct stream_interval {
    double start_s = 0;  ///< seconds since the stream started
    double end_s = 0;
    std::uint64_t bytes = 0;
    double bits_per_second = 0;
    /// TCP: segments this host's sending sockets retransmitted in the interval (tcpi_total_retrans
    /// sampled at each boundary); empty when this host sent nothing (a download: only the sender
    /// knows) and for UDP.
    std::optional<std::uint64_t> retransmits{};
    /// UDP stream, when the responder counts per interval (flag_interval_counts): the datagrams
    /// sent in the interval and what became of them at the responder: lost (sent minus the
    /// distinct ones received, whenever they arrived), reordered (arrived after a newer one),
    /// duplicates. Empty otherwise, and past the responder's max_report_intervals-th interval.
    std::optional<std::uint64_t> sent{};
    std::optional<std::uint64_t> lost{};
    std::optional<std::uint64_t> reordered{};
    std::optional<std::uint64_t> duplicates{};
    bool operator==(const stream_interval&) const = default;
};
void to_json(nlohmann::json& j, const stream_interval& i);

/// Called once per interval from the probing thread; must be quick.
using interval_callback = std::function<void(const stream_interval&)>;

/// Which way a stream's bytes flow, seen from the probing host.
enum class stream_direction { upload, download, bidir };
const char* to_string(stream_direction d) noexcept;

/// Cuts a running byte total into intervals: close(now, total) ends the interval that began at
/// the previous close (or at start), appends it to `out` and calls `on_interval`. An interval
/// shorter than 50 ms (the sliver left when a test ends just after a boundary) is dropped.
/// `total_retransmits`, when given, is a running count cut the same way, except that a dropped
/// sliver's retransmissions are added to the interval before it (or carried to the next when
/// there is none), so that the intervals' retransmissions always sum to the last count given.
class interval_meter {
public:
    interval_meter(mono_clock::time_point start, std::vector<stream_interval>& out,
                   const interval_callback& on_interval) noexcept
        : start_(start), from_(start), out_(out), on_interval_(on_interval) {}

    void close(mono_clock::time_point now, std::uint64_t total_bytes,
               std::optional<std::uint64_t> total_retransmits = std::nullopt);
    mono_clock::time_point interval_start() const noexcept { return from_; }

private:
    mono_clock::time_point start_;
    mono_clock::time_point from_;
    std::uint64_t base_ = 0;
    std::uint64_t retransmits_base_ = 0;
    std::vector<stream_interval>& out_;
    const interval_callback& on_interval_;
};

}  // namespace nettool
NETTOOL_API_END
