#include <nettool/probe/tcp_probe.hpp>

#include <nettool/core/error.hpp>
#include <nettool/core/report.hpp>

#include "probe/stream_loop.hpp"
#include "probe/session.hpp"
#include "net/socket.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <latch>
#include <memory>
#include <mutex>
#include <fstream>
#include <thread>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nettool {

using namespace std::chrono_literals;

void connect_failures::count(const std::error_code& ec) noexcept {
    if (ec == std::errc::connection_refused)
        ++refused;
    else if (ec == errc::timed_out || ec == std::errc::timed_out)
        ++timed_out;
    else if (ec == std::errc::network_unreachable || ec == std::errc::host_unreachable)
        ++unreachable;
    else
        ++other;
}

double tcp_connect_result::connects_per_second() const noexcept {
    const double s = std::chrono::duration<double>(elapsed).count();
    return s > 0 ? static_cast<double>(established) / s : 0.0;
}

namespace {

// What /proc/sys/net/ipv4/tcp_available_congestion_control lists, for an error message.
std::string available_congestion_controls() {
    std::ifstream in("/proc/sys/net/ipv4/tcp_available_congestion_control");
    std::string line;
    std::getline(in, line);
    return line.empty() ? std::string{"unknown"} : line;
}

void pause_for(std::chrono::nanoseconds d) {
    if (d > 0ns) std::this_thread::sleep_for(d);
}

}  // namespace

tcp_connect_result tcp_connect_probe(const socket_address& target, const tcp_connect_options& opt) {
    tcp_connect_result r;
    r.target = target;
    if (opt.warm_up) {
        std::error_code ec;
        r.warmed_up = static_cast<bool>(detail::tcp_connect_blocking(target, opt.timeout, ec));
    }
    double rtt_sum = 0;
    const stopwatch total;
    for (std::uint64_t i = 0; i < opt.count; ++i) {
        if (i > 0) pause_for(opt.interval);
        ++r.attempts;
        std::error_code ec;
        std::chrono::nanoseconds handshake{0};
        auto fd = detail::tcp_connect_blocking(target, opt.timeout, ec, &handshake);
        if (ec) {
            r.failures.count(ec);
            continue;
        }
        if (++r.established == 1) {
            r.first_connect = handshake;
            r.first_local = detail::local_address(fd.get());
        }
        r.connect_time.record(handshake);
        detail::sample(r.kernel, detail::read_tcp_info(fd.get()), rtt_sum);
    }
    r.elapsed = total.elapsed();
    return r;
}

tcp_rr_result tcp_rr_probe(const socket_address& target, const tcp_rr_options& opt) {
    tcp_rr_result r;
    r.target = target;
    if (opt.size < 1 || opt.size > proto::max_tcp_message) {
        r.error = fmt::format("message size {} B is outside 1..{} B", opt.size, proto::max_tcp_message);
        return r;
    }
    const stopwatch total;
    if (opt.warm_up) {
        auto w = opt;
        w.count = 1;
        w.duration = 0ns;
        w.warm_up = false;
        const auto warm = tcp_rr_probe(target, w);
        if (!warm.error.empty()) {
            r.error = warm.error;
            r.elapsed = total.elapsed();
            return r;
        }
        r.warmed_up = true;
    }
    // [hello | request]: the first request goes out with the session hello, in one segment.
    std::vector<std::byte> first(proto::hello_size + opt.size), resp(opt.size);
    const auto req = std::span{first}.subspan(proto::hello_size);
    for (std::size_t i = 0; i < req.size(); ++i) req[i] = static_cast<std::byte>(i * 7 + 1);
    const std::uint64_t zero = 0;
    std::memcpy(req.data(), &zero, std::min<std::size_t>(sizeof zero, req.size()));
    std::error_code ec;
    auto s = detail::open_session(target, {proto::mode::echo, opt.size, 0}, mono_clock::now() + opt.timeout, ec,
                                  r.error, first);
    if (ec) {
        r.elapsed = total.elapsed();
        return r;
    }
    r.connect_time = s.connect_time;
    r.local = s.local;
    detail::make_blocking(s.fd.get(), opt.timeout);
    const auto stop_at =
        opt.duration > 0ns ? mono_clock::now() + opt.duration : mono_clock::time_point::max();
    const std::uint64_t limit = opt.count > 0 ? opt.count : UINT64_MAX;
    auto sent_at = s.connect_started + s.connect_time;  // request 0 left with the hello
    ++r.sent;
    for (std::uint64_t i = 0;;) {
        if (!detail::read_exact(s.fd.get(), resp, sent_at + opt.timeout, ec)) {
            r.error = fmt::format("request {} to {}: {}", i + 1, target.to_string(), detail::describe(ec));
            break;
        }
        const auto now = mono_clock::now();
        if (!std::equal(resp.begin(), resp.end(), req.begin())) ++r.corrupted;
        r.rtt.record(now - sent_at);
        if (++r.completed == 1) r.first_reply = now - s.connect_started;
        if (++i >= limit || now >= stop_at) break;
        pause_for(opt.interval);
        // The first bytes carry the sequence number so a stale or mixed-up response is caught.
        std::memcpy(req.data(), &i, std::min<std::size_t>(sizeof i, req.size()));
        sent_at = mono_clock::now();
        ++r.sent;
        if (!detail::write_all(s.fd.get(), req, sent_at + opt.timeout, ec)) {
            r.error = fmt::format("request {} to {}: {}", i + 1, target.to_string(), detail::describe(ec));
            break;
        }
    }
    double rtt_sum = 0;
    detail::sample(r.kernel, detail::read_tcp_info(s.fd.get()), rtt_sum);
    // Both sides closed before returning: a run that follows (the timed one after the warm-up)
    // does not find the responder busy tearing this one down.
    detail::close_gracefully(s.fd.get(), mono_clock::now() + std::min<std::chrono::nanoseconds>(opt.timeout, 1s));
    r.elapsed = total.elapsed();
    return r;
}

namespace {

struct stream_outcome {
    std::uint64_t sent = 0;
    std::uint64_t received = 0;  // by whoever received: the responder's count for uploads
    mono_clock::time_point data_start{};
    mono_clock::time_point data_end{};
    detail::tcp_info_snapshot info;  // the sending socket's after the responder read everything
    bool sender = false;             // this host sent on the stream: info counts its retransmissions
    std::string error;
};

// Holds a stream's socket open until the probing thread has taken its last TCP_INFO sample:
// declared after the session, so it waits before the session's socket closes.
struct keep_until_sampled {
    std::latch& sampled;
    ~keep_until_sampled() { sampled.wait(); }
};

// `start` is written by the probing thread once every stream has connected, before `go` opens.
void run_upload(const socket_address& target, const tcp_stream_options& opt, const detail::stream_payload& payload,
                std::latch& ready, std::latch& go, std::latch& sampled, const mono_clock::time_point& start,
                detail::stream_counter& counter, stream_outcome& out) {
    std::error_code ec;
    out.sender = true;
    auto s = detail::open_session(target, {proto::mode::sink, 0, 0}, mono_clock::now() + opt.timeout, ec,
                                  out.error);
    const keep_until_sampled hold{sampled};
    if (s.fd.get() >= 0) counter.sending_fd.store(s.fd.get(), std::memory_order_relaxed);
    if (!ec && !opt.congestion_control.empty() &&
        ::setsockopt(s.fd.get(), IPPROTO_TCP, TCP_CONGESTION, opt.congestion_control.data(),
                     static_cast<socklen_t>(opt.congestion_control.size())) != 0) {
        ec = {errno, std::system_category()};
        out.error = fmt::format("congestion control '{}': {} (this kernel offers: {})", opt.congestion_control,
                                std::strerror(errno), available_congestion_controls());
    }
    ready.count_down();
    go.wait();
    if (ec) return;
    const auto end = start + opt.duration;
    out.data_start = mono_clock::now();
    if (const int err = detail::send_until(s.fd.get(), payload, end, opt.timeout, counter, out.sent)) {
        out.error = fmt::format("sending to {}: {}", target.to_string(), std::strerror(err));
        out.info = detail::read_tcp_info(s.fd.get());
        return;
    }
    ::shutdown(s.fd.get(), SHUT_WR);
    std::array<std::byte, proto::sink_report_size> rep{};
    // The responder reports after reading everything still in flight; TCP_INFO is read after
    // that, so the retransmissions of data still in flight when sending stopped are counted too.
    const bool reported = detail::read_exact(s.fd.get(), rep, mono_clock::now() + opt.timeout + 5s, ec);
    out.info = detail::read_tcp_info(s.fd.get());
    if (!reported) {
        out.error = fmt::format("waiting for the responder's byte count: {}", detail::describe(ec));
        out.data_end = mono_clock::now();
        out.received = out.sent;
        return;
    }
    // The clock stops when the responder has read the last byte (its count arrives half a round
    // trip later), not when the sender stopped: what queues and buffers held was delivered after,
    // and counting it over the sending time alone would report more than the path carried.
    out.data_end = mono_clock::now();
    const auto d = proto::decode_sink_report(rep);
    out.received = d ? d.value : 0;
    if (!d) out.error = "responder sent a malformed byte count";
}

void run_download(const socket_address& target, const tcp_stream_options& opt, std::latch& ready,
                  detail::stream_counter& counter, stream_outcome& out) {
    std::error_code ec;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(opt.duration).count();
    const auto duration_ms =
        static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 1, proto::max_duration_ms));
    // The responder starts sending on its reply; the few bytes before the latch opens count too.
    auto session = detail::open_session(target, {proto::mode::source, 0, duration_ms},
                                        mono_clock::now() + opt.timeout, ec, out.error);
    ready.count_down();
    ready.wait();
    if (ec) return;
    std::vector<std::byte> buf(opt.write_size);
    out.data_start = mono_clock::now();
    const auto hard_end = out.data_start + opt.duration + opt.timeout;
    mono_clock::time_point last_byte{};
    int err = 0;
    // Closed: the responder finished its duration.
    switch (detail::receive_until(session.fd.get(), buf, hard_end, opt.timeout, counter, out.received, last_byte,
                                  err)) {
        case detail::receive_end::closed:
        case detail::receive_end::stopped: break;
        case detail::receive_end::stalled:
            out.error = fmt::format("receiving from {}: stalled", target.to_string());
            break;
        case detail::receive_end::reset:
        case detail::receive_end::failed:
            out.error = fmt::format("receiving from {}: {}", target.to_string(),
                                    std::strerror(err ? err : ECONNRESET));
            break;
    }
    out.data_end = mono_clock::now();
    out.info = detail::read_tcp_info(session.fd.get());
}

}  // namespace

tcp_stream_result tcp_stream_probe(const socket_address& target, const tcp_stream_options& opt,
                                   const interval_callback& on_interval) {
    tcp_stream_result r;
    r.target = target;
    r.direction = opt.direction;
    const auto lay = detail::layout_streams(opt.direction, opt.parallel);
    const unsigned per_dir = lay.per_direction;
    const bool up = lay.up;
    const unsigned n = lay.total();
    r.streams = n;

    std::vector<detail::stream_counter> counters(n);
    std::vector<stream_outcome> outcomes(n);
    std::latch ready{static_cast<std::ptrdiff_t>(n) + 1};
    std::latch go{1};
    std::latch sampled{1};
    mono_clock::time_point start{};
    const detail::stream_payload payload{up ? opt.write_size : 0};  // one for every sending stream
    std::vector<std::thread> threads;
    threads.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
        const bool is_up = up && i < per_dir;
        threads.emplace_back([&, i, is_up] {
            if (is_up)
                run_upload(target, opt, payload, ready, go, sampled, start, counters[i], outcomes[i]);
            else
                run_download(target, opt, ready, counters[i], outcomes[i]);
        });
    }
    // Every stream has connected (or failed) when `ready` opens; only then does the clock start,
    // so a connect that needed SYN retransmissions does not eat into the measured duration.
    ready.count_down();
    ready.wait();
    start = mono_clock::now();
    go.count_down();

    // Sample the counters once a second for interval lines while the streams run, and with them
    // the sending sockets' retransmission counts: one getsockopt per socket per interval.
    interval_meter meter{start, r.intervals, on_interval};
    const auto end = start + opt.duration;
    auto bytes_now = [&] {
        std::uint64_t sum = 0;
        for (const auto& c : counters) sum += c.bytes.load(std::memory_order_relaxed);
        return sum;
    };
    auto retransmits_now = [&]() -> std::optional<std::uint64_t> {
        if (!up) return std::nullopt;  // only the sender knows; the responder does not say
        std::uint64_t sum = 0;
        for (const auto& c : counters) {
            const int fd = c.sending_fd.load(std::memory_order_relaxed);
            if (fd < 0) continue;
            if (const auto t = detail::read_tcp_info(fd); t.valid) sum += t.total_retrans;
        }
        return sum;
    };
    for (auto next = meter.interval_start() + 1s; next < end; next = meter.interval_start() + 1s) {
        std::this_thread::sleep_until(next);
        meter.close(mono_clock::now(), bytes_now(), retransmits_now());
    }
    std::this_thread::sleep_until(end);
    const auto ended = mono_clock::now();
    const auto bytes_at_end = bytes_now();
    sampled.count_down();  // the streams may close their sockets now
    for (auto& t : threads) t.join();
    // The last interval's retransmissions come from the final TCP_INFO each stream read after the
    // responder had everything, the same reads as the total, so the intervals sum to it.
    std::optional<std::uint64_t> final_retransmits;
    if (up) {
        final_retransmits = 0;
        for (const auto& o : outcomes)
            if (o.sender && o.info.valid) *final_retransmits += o.info.total_retrans;
    }
    meter.close(ended, bytes_at_end, final_retransmits);

    double rtt_sum = 0;
    mono_clock::time_point first = mono_clock::time_point::max(), last{};
    for (const auto& o : outcomes) {
        r.bytes_sent += o.sent;
        r.bytes_received += o.received;
        if (o.sender) detail::sample(r.kernel, o.info, rtt_sum);
        if (o.data_start != mono_clock::time_point{}) first = std::min(first, o.data_start);
        last = std::max(last, o.data_end);
        if (r.error.empty() && !o.error.empty()) r.error = o.error;
    }
    if (last > first) r.seconds = std::chrono::duration<double>(last - first).count();
    if (r.seconds > 0) r.bits_per_second = static_cast<double>(r.bytes_received) * 8.0 / r.seconds;
    return r;
}

void to_json(nlohmann::json& j, const connect_failures& f) {
    j = {{"refused", f.refused},
         {"timed_out", f.timed_out},
         {"unreachable", f.unreachable},
         {"other", f.other},
         {"total", f.total()}};
}

void to_json(nlohmann::json& j, const kernel_tcp_view& k) {
    j = {{"connections", k.connections},
         {"retransmits", k.retransmits},
         {"rtt_us", k.rtt_us},
         {"cwnd_segments", k.cwnd_segments},
         {"congestion_control", k.congestion_control}};
}

void to_json(nlohmann::json& j, const tcp_connect_result& r) {
    j = {{"target", r.target.to_string()},
         {"warmed_up", r.warmed_up},
         {"attempts", r.attempts},
         {"established", r.established},
         {"connect", latency_summary::from(r.connect_time)},
         {"first_connect_us", std::chrono::duration<double, std::micro>(r.first_connect).count()},
         {"first_local", r.first_local.to_string()},
         {"failures", r.failures},
         {"kernel", r.kernel},
         {"connects_per_second", r.connects_per_second()},
         {"elapsed_s", std::chrono::duration<double>(r.elapsed).count()}};
}

void to_json(nlohmann::json& j, const tcp_rr_result& r) {
    j = {{"target", r.target.to_string()},
         {"local", r.local.to_string()},
         {"warmed_up", r.warmed_up},
         {"sent", r.sent},
         {"completed", r.completed},
         {"corrupted", r.corrupted},
         {"connect_us", std::chrono::duration<double, std::micro>(r.connect_time).count()},
         {"first_reply_us", std::chrono::duration<double, std::micro>(r.first_reply).count()},
         {"rtt", latency_summary::from(r.rtt)},
         {"kernel", r.kernel},
         {"elapsed_s", std::chrono::duration<double>(r.elapsed).count()}};
    if (!r.error.empty()) j["error"] = r.error;
}

void to_json(nlohmann::json& j, const tcp_stream_result& r) {
    j = {{"target", r.target.to_string()},
         {"direction", to_string(r.direction)},
         {"streams", r.streams},
         {"bytes_sent", r.bytes_sent},
         {"bytes_received", r.bytes_received},
         {"seconds", r.seconds},
         {"bits_per_second", r.bits_per_second},
         {"intervals", r.intervals},
         {"kernel", r.kernel}};
    if (!r.error.empty()) j["error"] = r.error;
}

}  // namespace nettool
