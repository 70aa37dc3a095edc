#pragma once
// What one direction of an emulated link does to the packets that cross it, and the parsers of
// the option values that describe it (netem's and mahimahi's vocabulary).
//
// A packet crossing one direction meets, in order: random or burst loss, duplication,
// corruption, the bottleneck queue (droptail or CoDel) in front of a rate limit or a mahimahi
// delivery trace, then the propagation delay with its jitter. A reordered packet skips the
// delay, as netem's `reorder` sends it at once.

#include <nettool/core/export.hpp>
#include <nettool/core/histogram.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool::link {

enum class jitter_distribution { uniform, normal, pareto };

/// netem's `loss gemodel p r 1-h 1-k`: p = P(good -> bad), r = P(bad -> good), 1-h = P(loss | bad),
/// 1-k = P(loss | good). All probabilities in [0, 1].
struct gilbert_elliott {
    double p = 0.0;
    double r = 1.0;
    double loss_in_bad = 1.0;   ///< 1-h
    double loss_in_good = 0.0;  ///< 1-k
    bool operator==(const gilbert_elliott&) const = default;
};

enum class queue_discipline { droptail, codel };

struct queue_config {
    queue_discipline discipline = queue_discipline::droptail;
    std::uint64_t max_packets = 0;  ///< 0: no limit on packets (the byte limit or the default cap applies)
    std::uint64_t max_bytes = 0;    ///< 0: no limit on bytes
    std::chrono::nanoseconds codel_target{std::chrono::milliseconds{5}};      ///< RFC 8289 TARGET
    std::chrono::nanoseconds codel_interval{std::chrono::milliseconds{100}};  ///< RFC 8289 INTERVAL
    bool operator==(const queue_config&) const = default;
};

/// One direction of the link. Probabilities are fractions in [0, 1] (the parsers take percent).
struct direction_config {
    std::chrono::nanoseconds delay{0};   ///< one-way propagation delay
    std::chrono::nanoseconds jitter{0};  ///< spread of the delay (uniform: +-jitter; normal/pareto: sigma)
    jitter_distribution distribution = jitter_distribution::uniform;
    double loss = 0.0;                              ///< random (Bernoulli) loss
    std::optional<gilbert_elliott> burst_loss;      ///< replaces `loss` when set
    double reorder = 0.0;    ///< fraction of packets sent at once, skipping the delay
    double duplicate = 0.0;  ///< fraction of packets sent twice
    double corrupt = 0.0;    ///< fraction of packets with one random bit flipped
    std::uint64_t rate_bps = 0;              ///< bottleneck rate in bit/s; 0: none
    std::vector<std::uint32_t> trace_ms;     ///< mahimahi delivery trace; empty: none (excludes rate_bps)
    queue_config queue;
    bool operator==(const direction_config&) const = default;
};

struct link_config {
    direction_config uplink;    ///< from the namespace (COMMAND's side) toward the host
    direction_config downlink;  ///< from the host toward the namespace
    std::uint64_t seed = 1;     ///< every random choice derives from it: same seed, same run
    bool operator==(const link_config&) const = default;
};

/// What one direction did. Every packet offered is counted once in `in` and ends in exactly
/// one of: out (including duplicates' originals), one drop cause, or still queued.
struct direction_stats {
    std::uint64_t in = 0;
    std::uint64_t out = 0;  ///< packets released, duplicates included
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t dropped_random = 0;      ///< random loss
    std::uint64_t dropped_burst = 0;       ///< Gilbert-Elliott loss
    std::uint64_t dropped_queue_full = 0;  ///< droptail (or CoDel's hard limit) overflow
    std::uint64_t dropped_codel = 0;       ///< dropped by CoDel's control law
    std::uint64_t dropped_no_buffer = 0;   ///< the emulator's own packet pool was full
    std::uint64_t dropped_too_big = 0;     ///< larger than the pool's slot size
    std::uint64_t duplicated = 0;
    std::uint64_t reordered = 0;
    std::uint64_t corrupted = 0;
    histogram queue_delay;  ///< time spent in the bottleneck queue, per released packet
    std::uint64_t dropped() const noexcept {
        return dropped_random + dropped_burst + dropped_queue_full + dropped_codel + dropped_no_buffer +
               dropped_too_big;
    }
};

/// One direction's engine: packets go in with offer(), come out with pop() when due. Holds
/// every packet in a pool of fixed-size slots allocated once; offer() and pop() never allocate.
/// Not thread-safe: one forwarding loop owns one pipe.
class pipe {
public:
    static constexpr std::size_t default_slot_size = 2048;  ///< fits a 1500-byte MTU packet
    static constexpr std::size_t default_slots = 16384;

    pipe(const direction_config& config, std::uint64_t seed, std::size_t slot_size = default_slot_size,
         std::size_t slots = default_slots);
    ~pipe();
    pipe(pipe&&) noexcept;
    pipe& operator=(pipe&&) noexcept;

    /// A packet arrives at `now` (monotonic). It is copied into the pool or dropped.
    void offer(std::span<const std::byte> packet, std::chrono::steady_clock::time_point now) noexcept;

    /// The next packet due at or before `now`, or nullopt. The span stays valid until the next
    /// call of offer() or pop().
    std::optional<std::span<const std::byte>> pop(std::chrono::steady_clock::time_point now) noexcept;

    /// When the next packet becomes due (nullopt: nothing held). The loop sleeps until then.
    std::optional<std::chrono::steady_clock::time_point> next_due() const noexcept;

    const direction_stats& stats() const noexcept;
    std::size_t held() const noexcept;  ///< packets in the queue and in flight

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// Parsers of option values. Each throws nettool::error (errc::bad_argument, a usage error) with a
// sentence naming `option` (the option the caller parses for: --reorder, --uplink-delay...) and
// the offending text; the error_code twins set ec instead.

/// "10mbit", "1gbit", "500kbit", "1.5Mbit", "800kbit", "100mbps" (bytes: x8). Range 1 kbit/s..400 Gbit/s;
/// the unit is required (a bare number is refused, tc would read it as bit/s).
std::uint64_t parse_rate(std::string_view text, std::string_view option = "--rate");
/// "1%", "0.5%", "1" (percent). Range 0..100; returns a fraction.
double parse_percent(std::string_view text, std::string_view option = "--loss");
/// "20ms", "20", "1.5ms", "250us", "1s" (a bare number is milliseconds). Range 0..60 s.
std::chrono::nanoseconds parse_delay(std::string_view text, std::string_view option = "--delay");
/// "ge:p,r[,1-h[,1-k]]" with each value in percent, as netem's `gemodel`.
gilbert_elliott parse_loss_model(std::string_view text, std::string_view option = "--loss-model");
/// "droptail:packets=N", "droptail:bytes=N", "codel", "codel:target=5ms,interval=100ms[,packets=N]".
queue_config parse_queue(std::string_view text, std::string_view option = "--queue");
/// "uniform" | "normal" | "pareto".
jitter_distribution parse_distribution(std::string_view text, std::string_view option = "--distribution");
/// A mahimahi trace: one non-decreasing millisecond timestamp per line, at least one line
/// with a non-zero last timestamp. Goes through the bounded line reader (core/line_reader.hpp);
/// a decreasing timestamp, an empty trace, a non-number, a NUL byte or over 10 million lines is
/// errc::malformed with the line number; a line over 64 bytes is errc::too_large.
std::vector<std::uint32_t> parse_trace(std::span<const std::byte> text);
std::vector<std::uint32_t> parse_trace(std::span<const std::byte> text, std::error_code& ec) noexcept;
/// Reads and parses a trace file, streamed (never held whole in memory); errors name the file.
std::vector<std::uint32_t> load_trace(const std::string& path);
/// "delay=20ms,jitter=2ms,loss=1%,rate=50mbit,queue=codel,reorder=1%,duplicate=1%,corrupt=1%,
/// distribution=normal,loss-model=ge:..,trace=FILE" applied to both directions; keys may be
/// prefixed "up-" or "down-" for one direction; "seed=N". Used by `--link` of the probes.
/// The values of loss-model and queue keep their own commas ("loss-model=ge:1%,30%,
/// queue=codel:target=5ms,interval=100ms,delay=20ms"): a piece that does not start with a known
/// KEY= continues the previous item when that is a loss-model or queue. Unprefixed keys apply
/// first, then the up-/down- ones, whatever the order; an unknown or repeated key is an error.
link_config parse_link_spec(std::string_view text);

/// One line for a report: "delay 20 ms, loss 1%, rate 50 Mbit/s (codel)" or "no impairment".
std::string describe(const direction_config& config);

}  // namespace nettool::link
NETTOOL_API_END
