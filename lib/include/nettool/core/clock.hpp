#pragma once
// The one clock nettool measures with: monotonic, nanosecond resolution, never adjusted by NTP.

#include <nettool/core/export.hpp>
#include <chrono>
#include <cstdint>

NETTOOL_API_BEGIN
namespace nettool {

using mono_clock = std::chrono::steady_clock;
static_assert(mono_clock::is_steady);

/// Nanoseconds on the monotonic clock (CLOCK_MONOTONIC on Linux); what goes on the wire as a
/// sender timestamp, comparable only with values from the same host.
inline std::uint64_t mono_now_ns() noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(mono_clock::now().time_since_epoch()).count());
}

/// Measures elapsed time from construction or the last restart().
class stopwatch {
public:
    stopwatch() noexcept : start_(mono_clock::now()) {}
    void restart() noexcept { start_ = mono_clock::now(); }
    std::chrono::nanoseconds elapsed() const noexcept {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(mono_clock::now() - start_);
    }
    mono_clock::time_point started() const noexcept { return start_; }

private:
    mono_clock::time_point start_;
};

/// Converts seconds given on a command line to a duration, saturating instead of overflowing.
inline std::chrono::nanoseconds seconds_to_ns(double s) noexcept {
    if (!(s > 0.0)) return std::chrono::nanoseconds{0};
    if (s > 1e9) s = 1e9;
    return std::chrono::nanoseconds{static_cast<std::int64_t>(s * 1e9)};
}

}  // namespace nettool
NETTOOL_API_END
