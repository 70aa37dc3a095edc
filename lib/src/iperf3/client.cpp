// nettool as an iperf3 client (docs/iperf3.md): the control conversation on one connection, the
// data streams one thread each, sampled once a second through the interval meter.
#include <nettool/iperf3/client.hpp>

#include <nettool/core/cursor.hpp>
#include <nettool/core/error.hpp>

#include "iperf3/control_session.hpp"
#include "net/socket.hpp"
#include "probe/stream_loop.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <thread>

#include <netinet/in.h>
#include <linux/tcp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

namespace nettool {

using namespace std::chrono_literals;

namespace {

struct data_stream {
    detail::unique_fd fd;
    bool sends = false;
    std::uint64_t bytes = 0;
    mono_clock::time_point data_end{};
    detail::tcp_info_snapshot info;
    std::string error;
};

std::string params_json(const iperf3_tcp_options& opt, unsigned per_dir) {
    const auto secs = std::chrono::duration<double>(opt.duration).count();
    nlohmann::json j = {
        {"tcp", true}, {"omit", 0},       {"time", static_cast<std::int64_t>(std::ceil(secs))},
        {"num", 0},    {"blockcount", 0}, {"parallel", per_dir}};
    if (opt.direction == stream_direction::download) j["reverse"] = true;
    if (opt.direction == stream_direction::bidir) j["bidirectional"] = true;
    j["len"] = opt.write_size;
    j["pacing_timer"] = 1000;
    j["client_version"] = "3.12";
    return j.dump();
}

void send_stream(data_stream& s, detail::stream_counter& counter, const detail::stream_payload& payload,
                 mono_clock::time_point end, std::chrono::nanoseconds timeout,
                 const std::atomic<bool>& stop) {
    if (const int err = detail::send_until(s.fd.get(), payload, end, timeout, counter, s.bytes, &stop))
        s.error = fmt::format("sending: {}", std::strerror(err));
    s.data_end = mono_clock::now();
    s.info = detail::read_tcp_info(s.fd.get());
}

// Until the server closes the stream (it does on TEST_END; a reset means it closed with bytes
// unread, which also ends the test), a stall longer than the timeout, or stop.
void receive_stream(data_stream& s, detail::stream_counter& counter, std::span<std::byte> buf,
                    mono_clock::time_point hard_end, std::chrono::nanoseconds timeout,
                    const std::atomic<bool>& stop) {
    int err = 0;
    const auto end =
        detail::receive_until(s.fd.get(), buf, hard_end, timeout, counter, s.bytes, s.data_end, err, &stop);
    if (end == detail::receive_end::stalled) s.error = "receiving: the server stalled";
    if (end == detail::receive_end::failed) s.error = fmt::format("receiving: {}", std::strerror(err));
}

// The receive window the server advertises on fd (tcpi_snd_wnd, Linux 5.19 and later), or 0.
std::uint32_t peer_window(int fd) {
    ::tcp_info ti{};
    socklen_t len = sizeof ti;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        len < offsetof(::tcp_info, tcpi_snd_wnd) + sizeof ti.tcpi_snd_wnd)
        return 0;
    return ti.tcpi_snd_wnd;
}

// Until the server has read what nettool sent, or the deadline: every byte acknowledged (SIOCOUTQ
// 0 on each sending socket), then the windows the server advertises no longer growing for 20 ms
// (they grow back as it reads what waits in its socket buffers).
void wait_delivered(const std::vector<data_stream>& streams, mono_clock::time_point deadline) {
    for (const auto& s : streams) {
        while (s.sends && mono_clock::now() < deadline) {
            int queued = 0;
            if (::ioctl(s.fd.get(), SIOCOUTQ, &queued) != 0 || queued == 0) break;
            std::this_thread::sleep_for(200us);
        }
    }
    std::vector<std::uint32_t> widest(streams.size(), 0);
    for (auto steady_since = mono_clock::now();
         mono_clock::now() < deadline && mono_clock::now() - steady_since < 20ms;) {
        for (std::size_t i = 0; i < streams.size(); ++i) {
            if (!streams[i].sends) continue;
            if (const auto w = peer_window(streams[i].fd.get()); w > widest[i]) {
                widest[i] = w;
                steady_since = mono_clock::now();
            }
        }
        std::this_thread::sleep_for(1ms);
    }
}

// Threads that stop and are joined however the run ends.
struct stream_threads {
    std::atomic<bool> stop{false};
    std::vector<std::thread> senders, receivers;
    void join_senders() {
        for (auto& t : senders)
            if (t.joinable()) t.join();
    }
    void join_all() {
        join_senders();
        for (auto& t : receivers)
            if (t.joinable()) t.join();
    }
    ~stream_threads() {
        stop = true;
        join_all();
    }
};

}  // namespace

iperf3_tcp_result iperf3_tcp_client(const socket_address& target, const iperf3_tcp_options& opt,
                                    const interval_callback& on_interval) {
    iperf3_tcp_result r;
    r.target = target;
    r.direction = opt.direction;
    const auto lay = detail::layout_streams(opt.direction, opt.parallel);
    const unsigned n = r.streams = lay.total();
    const auto cookie = iperf3::make_cookie();
    detail::iperf3_control ctl{target, opt.timeout, r.states};
    std::vector<data_stream> streams(n);
    std::vector<detail::stream_counter> counters(n);
    const detail::stream_payload payload{opt.write_size};
    std::vector<std::vector<std::byte>> recv_bufs;
    recv_bufs.reserve(n);
    const auto wall0 = mono_clock::now();
    const double cpu0 = detail::process_cpu_seconds();
    mono_clock::time_point start{};
    try {
        stream_threads threads;
        ctl.connect(cookie);
        ctl.expect(iperf3::state::param_exchange);
        ctl.send_json(params_json(opt, lay.per_direction), "the test's parameters");
        ctl.expect(iperf3::state::create_streams);
        // One after the other, so the server accepts them (and numbers them) in this order;
        // --bidir: the streams nettool sends on first, as iperf3's client does.
        for (unsigned i = 0; i < n; ++i) {
            auto& s = streams[i];
            s.sends = lay.up && i < lay.per_direction;
            std::error_code ec;
            s.fd = detail::tcp_connect(target, mono_clock::now() + opt.timeout, ec);
            if (ec)
                throw error(ec, fmt::format("iperf3 server {}: connecting stream {}: {}", ctl.who(),
                                            detail::iperf3_stream_id(i), ec.message()));
            if (!detail::write_all(s.fd.get(), detail::iperf3_bytes(cookie), mono_clock::now() + opt.timeout, ec))
                throw error(ec, fmt::format("iperf3 server {}: sending the cookie on stream {}: {}",
                                            ctl.who(), detail::iperf3_stream_id(i), ec.message()));
        }
        ctl.expect(iperf3::state::test_start);
        ctl.expect(iperf3::state::test_running);

        start = mono_clock::now();
        const auto end = start + opt.duration;
        for (unsigned i = 0; i < n; ++i) {
            auto& s = streams[i];
            if (s.sends) {
                threads.senders.emplace_back([&, i] {
                    send_stream(streams[i], counters[i], payload, end, opt.timeout, threads.stop);
                });
            } else {
                recv_bufs.emplace_back(opt.write_size);
                threads.receivers.emplace_back([&, i, buf = std::span{recv_bufs.back()}] {
                    receive_stream(streams[i], counters[i], buf, end + opt.timeout + 5s, opt.timeout,
                                   threads.stop);
                });
            }
        }
        // Interval lines once a second; the control connection is watched meanwhile, so a server
        // that fails or is stopped mid-test ends the run at once.
        interval_meter meter{start, r.intervals, on_interval};
        for (auto now = mono_clock::now(); now < end; now = mono_clock::now()) {
            std::error_code ec;
            if (detail::wait_readable(ctl.fd(), std::min(meter.interval_start() + 1s, end), ec)) {
                threads.stop = true;
                threads.join_all();
                const auto s = ctl.read_state("the end of the test");
                throw error(errc::protocol_error,
                            fmt::format("iperf3 server {} sent {} during the test", ctl.who(),
                                        iperf3::state_name(static_cast<std::int8_t>(s))));
            }
            std::uint64_t sum = 0;
            for (const auto& c : counters) sum += c.bytes.load(std::memory_order_relaxed);
            meter.close(mono_clock::now(), sum);
        }
        // The senders stop at `end` by themselves. TEST_END waits until the server has read what
        // they sent: it stops counting when TEST_END arrives, and what was still on the way or in
        // its buffers then would be sent and never counted. The server then closes every stream,
        // which ends the receivers.
        threads.join_senders();
        wait_delivered(streams, mono_clock::now() + std::min<std::chrono::nanoseconds>(opt.timeout, 1s));
        ctl.send_state(iperf3::state::test_end);
        threads.join_all();
        std::uint64_t sum = 0;
        for (const auto& c : counters) sum += c.bytes.load(std::memory_order_relaxed);
        meter.close(mono_clock::now(), sum);  // what was read after TEST_END (a sliver is dropped)

        mono_clock::time_point last = start;
        double rtt_sum = 0;
        iperf3::peer_results mine;
        const double wall = std::chrono::duration<double>(mono_clock::now() - wall0).count();
        r.cpu_util_total = wall > 0 ? 100.0 * (detail::process_cpu_seconds() - cpu0) / wall : 0;
        mine.cpu_util_total = r.cpu_util_total;
        mine.sender_has_retransmits = lay.up;
        for (unsigned i = 0; i < n; ++i) {
            auto& s = streams[i];
            iperf3_stream_figures f{.id = detail::iperf3_stream_id(i), .nettool_sends = s.sends, .bytes = s.bytes};
            if (s.sends) {
                r.bytes_sent += s.bytes;
                detail::sample(r.kernel, s.info, rtt_sum);
                if (s.info.valid) f.retransmits = s.info.total_retrans;
            } else {
                r.bytes_received += s.bytes;
            }
            last = std::max(last, s.data_end);
            if (r.error.empty() && !s.error.empty()) r.error = fmt::format("stream {}: {}", f.id, s.error);
            r.per_stream.push_back(f);
        }
        r.seconds = std::chrono::duration<double>(last - start).count();
        if (r.seconds > 0)
            r.bits_per_second = static_cast<double>(r.bytes_sent + r.bytes_received) * 8.0 / r.seconds;
        mine.congestion_used = r.kernel.congestion_control;
        for (const auto& f : r.per_stream)
            mine.streams.push_back(
                {.id = f.id, .bytes = f.bytes, .retransmits = f.retransmits, .end_time_s = r.seconds});

        r.server = ctl.exchange_results(mine);
        r.server_results = true;
        for (auto& f : r.per_stream) {
            const auto it = std::find_if(r.server.streams.begin(), r.server.streams.end(),
                                         [&](const iperf3::stream_report& s) { return s.id == f.id; });
            if (it == r.server.streams.end()) continue;
            f.server_reported = true;
            f.server_bytes = it->bytes;
            if (!f.nettool_sends) f.server_retransmits = it->retransmits;
            (f.nettool_sends ? r.server_bytes_received : r.server_bytes_sent) += it->bytes;
            r.server_seconds = std::max(r.server_seconds, it->end_time_s);
        }
    } catch (const error& e) {
        r.error = e.what();
    }
    return r;
}

void to_json(nlohmann::json& j, const iperf3_stream_figures& s) {
    j = {{"id", s.id},
         {"nettool_sends", s.nettool_sends},
         {"bytes", s.bytes},
         {"server_bytes", s.server_bytes},
         {"server_reported", s.server_reported}};
    j["retransmits"] = s.retransmits ? nlohmann::json(*s.retransmits) : nlohmann::json(nullptr);
    j["server_retransmits"] =
        s.server_retransmits ? nlohmann::json(*s.server_retransmits) : nlohmann::json(nullptr);
}

void to_json(nlohmann::json& j, const iperf3_tcp_result& r) {
    auto states = nlohmann::json::array();
    for (const auto s : r.states) states.push_back(iperf3::state_name(s));
    j = {{"target", r.target.to_string()},
         {"direction", to_string(r.direction)},
         {"streams", r.streams},
         {"bytes_sent", r.bytes_sent},
         {"bytes_received", r.bytes_received},
         {"seconds", r.seconds},
         {"bits_per_second", r.bits_per_second},
         {"intervals", r.intervals},
         {"kernel", r.kernel},
         {"cpu_util_total", r.cpu_util_total},
         {"per_stream", r.per_stream},
         {"states", std::move(states)}};
    if (r.server_results) {
        j["server"] = r.server;
        j["server"]["bytes_received"] = r.server_bytes_received;
        j["server"]["bytes_sent"] = r.server_bytes_sent;
        j["server"]["seconds"] = r.server_seconds;
    } else {
        j["server"] = nullptr;
    }
    if (!r.error.empty()) j["error"] = r.error;
}

}  // namespace nettool
