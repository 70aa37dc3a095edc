// nettool as an iperf3 UDP client (docs/iperf3.md, "UDP"): the control conversation of
// control_session, then per stream one connected UDP socket that opens with iperf3's connect
// exchange and carries datagrams with iperf3's header, one thread each; sampled once a second.
#include <nettool/iperf3/udp_client.hpp>

#include <nettool/core/error.hpp>
#include <nettool/iperf3/udp_datagram.hpp>

#include "iperf3/control_session.hpp"
#include "net/socket.hpp"
#include "probe/stream_loop.hpp"
#include "probe/udp_sequence.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <thread>
#include <time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace nettool {

using namespace std::chrono_literals;

namespace {

// iperf3 3.12 stamps its datagrams with its iperf_time_now(), CLOCK_MONOTONIC where there is one
// (Linux): seen in captures as seconds since boot. Its receiver subtracts that from its own
// CLOCK_MONOTONIC; nettool does the same, so a transit time is meaningful on one host and only
// its differences (jitter) between two.
std::int64_t monotonic_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constexpr std::size_t batch = 64;

struct udp_stream {
    detail::unique_fd fd;
    bool sends = false;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t send_errors = 0;
    mono_clock::time_point data_end{};
    std::unique_ptr<detail::udp_sequence_counter> seq;  // receiving streams
    std::string error;
};

// The connect exchange: the 4-byte connect datagram, then the server's 4-byte answer. A lost
// datagram (either way) is sent again, up to 3 times over the timeout.
void connect_exchange(const detail::iperf3_control& ctl, udp_stream& s, std::int64_t id,
                      std::chrono::nanoseconds timeout) {
    std::array<std::byte, iperf3::udp_connect_size> msg{};
    iperf3::write_connect_message(iperf3::connect_version::current, msg);
    constexpr int tries = 3;
    const auto wait = timeout / tries;
    std::array<std::byte, 64> reply{};
    for (int t = 0; t < tries; ++t) {
        if (::send(s.fd.get(), msg.data(), msg.size(), 0) != static_cast<ssize_t>(msg.size()))
            throw error(std::error_code{errno, std::system_category()},
                        fmt::format("iperf3 server {}: sending the UDP connect datagram of stream {}: {}",
                                    ctl.who(), id, std::strerror(errno)));
        const auto deadline = mono_clock::now() + wait;
        for (;;) {
            std::error_code ec;
            if (!detail::wait_readable(s.fd.get(), deadline, ec)) break;
            const ssize_t n = ::recv(s.fd.get(), reply.data(), reply.size(), 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) continue;
                throw error(std::error_code{errno, std::system_category()},
                            fmt::format("iperf3 server {}: the UDP connect exchange of stream {}: {}", ctl.who(),
                                        id, std::strerror(errno)));
            }
            if (iperf3::parse_connect_reply(std::span{reply}.first(static_cast<std::size_t>(n)))) return;
            // Anything else is not the answer: keep waiting for it.
        }
    }
    throw error(errc::timed_out,
                fmt::format("iperf3 server {} did not answer the UDP connect datagram of stream {} ({} tries "
                            "in {}): UDP to its port is blocked, or it is not iperf3",
                            ctl.who(), id, tries, format_duration(timeout)));
}

// Sends paced datagrams until `end` (or stop): datagram k (from 0) is due at start + k * size * 8
// / rate; what is due goes out in sendmmsg batches, then the thread sleeps until the next one is
// due. Only the header's fields change per datagram; nothing allocates.
void send_stream(udp_stream& s, detail::stream_counter& counter, std::uint32_t size, double rate, bool c64,
                 mono_clock::time_point start, mono_clock::time_point end, const std::atomic<bool>& stop) {
    std::vector<std::byte> buf(batch * size, std::byte{0x5a});
    std::array<mmsghdr, batch> msgs{};
    std::array<iovec, batch> iov{};
    for (std::size_t i = 0; i < batch; ++i) {
        iov[i] = {buf.data() + i * size, size};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const double per_datagram_s = rate > 0 ? static_cast<double>(size) * 8.0 / rate : 0;
    std::uint64_t seq = 1;  // the next sequence number: iperf3's first datagram is 1
    for (;;) {
        const auto now = mono_clock::now();
        if (now >= end || stop.load(std::memory_order_relaxed)) break;
        std::size_t n = batch;
        if (rate > 0) {
            const double elapsed = std::chrono::duration<double>(now - start).count();
            const auto due = static_cast<std::uint64_t>(elapsed / per_datagram_s) + 1;  // datagrams due by now
            const std::uint64_t done = seq - 1;
            if (due <= done) {
                const auto next_due = start + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                  std::chrono::duration<double>(static_cast<double>(done) *
                                                                                per_datagram_s));
                std::this_thread::sleep_until(std::min(next_due, end));
                continue;
            }
            n = static_cast<std::size_t>(std::min<std::uint64_t>(batch, due - done));
        }
        const auto stamp = monotonic_ns();
        const iperf3::udp_header h0{.sec = static_cast<std::uint32_t>(stamp / 1'000'000'000),
                                    .usec = static_cast<std::uint32_t>((stamp % 1'000'000'000) / 1000)};
        for (std::size_t i = 0; i < n; ++i) {
            iperf3::udp_header h = h0;
            h.seq = seq + i;
            iperf3::write_udp_header({buf.data() + i * size, size}, h, c64);
        }
        const int m = ::sendmmsg(s.fd.get(), msgs.data(), static_cast<unsigned>(n), 0);
        if (m > 0) {
            seq += static_cast<std::uint64_t>(m);
            s.packets += static_cast<std::uint64_t>(m);
            s.bytes += static_cast<std::uint64_t>(m) * size;
            counter.bytes.store(s.bytes, std::memory_order_relaxed);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            std::error_code ec;
            detail::wait_writable(s.fd.get(), std::min(end, mono_clock::now() + 10ms), ec);
            continue;
        }
        // ENOBUFS, or ECONNREFUSED after an ICMP error: that datagram did not leave, and its
        // sequence number is sent again with the next one, so the server sees no gap for it.
        ++s.send_errors;
        std::this_thread::sleep_for(200us);
    }
    s.data_end = mono_clock::now();
}

// Receives until stop: every datagram's header through udp_datagram.hpp, counted by the stream's
// udp_sequence_counter with transit = arrival - the sender's stamp (both CLOCK_MONOTONIC).
void receive_stream(udp_stream& s, detail::stream_counter& counter, std::uint32_t size, bool c64,
                    const std::atomic<bool>& stop) {
    const std::size_t slot = std::max<std::size_t>(size, 2048);
    std::vector<std::byte> buf(batch * slot);
    std::array<mmsghdr, batch> msgs{};
    std::array<iovec, batch> iov{};
    for (std::size_t i = 0; i < batch; ++i) {
        iov[i] = {buf.data() + i * slot, slot};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (!stop.load(std::memory_order_relaxed)) {
        std::error_code ec;
        if (!detail::wait_readable(s.fd.get(), mono_clock::now() + 10ms, ec)) continue;
        const int m = ::recvmmsg(s.fd.get(), msgs.data(), batch, MSG_DONTWAIT, nullptr);
        if (m <= 0) {
            if (m < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED) {
                s.error = fmt::format("receiving: {}", std::strerror(errno));
                return;
            }
            continue;
        }
        const auto now = monotonic_ns();
        for (int i = 0; i < m; ++i) {
            const std::size_t len = msgs[static_cast<std::size_t>(i)].msg_len;
            const auto h = iperf3::parse_udp_header({buf.data() + static_cast<std::size_t>(i) * slot, len}, c64);
            if (!h) continue;  // not a data datagram (a late connect reply, a stray)
            const std::int64_t sent_ns =
                static_cast<std::int64_t>(h->sec) * 1'000'000'000 + static_cast<std::int64_t>(h->usec) * 1000;
            s.seq->on_datagram(h->seq, now - sent_ns);
            ++s.packets;
            s.bytes += len;
        }
        s.data_end = mono_clock::now();
        counter.bytes.store(s.bytes, std::memory_order_relaxed);
    }
}

// Until every datagram nettool sent has left this host (SIOCOUTQ 0), then a few round trips of
// the control connection so the last ones reach the server before TEST_END does: the server
// stops counting when TEST_END arrives.
void wait_sent(const std::vector<udp_stream>& streams, int control_fd, mono_clock::time_point deadline) {
    for (const auto& s : streams) {
        while (s.sends && mono_clock::now() < deadline) {
            int queued = 0;
            if (::ioctl(s.fd.get(), SIOCOUTQ, &queued) != 0 || queued == 0) break;
            std::this_thread::sleep_for(200us);
        }
    }
    const auto info = detail::read_tcp_info(control_fd);
    const auto grace = std::clamp<std::chrono::nanoseconds>(
        std::chrono::microseconds{info.valid ? 4 * std::int64_t{info.rtt_us} : 0}, 20ms, 500ms);
    std::this_thread::sleep_until(std::min(deadline, mono_clock::now() + grace));
}

// After TEST_END the server stops sending; what it sent just before is still on the way. Until
// nothing has arrived for 100 ms (at most the deadline).
void wait_quiet(const std::vector<detail::stream_counter>& counters, mono_clock::time_point deadline) {
    std::uint64_t last = ~std::uint64_t{0};
    auto since = mono_clock::now();
    while (mono_clock::now() < deadline && mono_clock::now() - since < 100ms) {
        std::uint64_t sum = 0;
        for (const auto& c : counters) sum += c.bytes.load(std::memory_order_relaxed);
        if (sum != last) {
            last = sum;
            since = mono_clock::now();
        }
        std::this_thread::sleep_for(5ms);
    }
}

struct stream_threads {
    std::atomic<bool> stop_senders{false};
    std::atomic<bool> stop_receivers{false};
    std::vector<std::thread> senders, receivers;
    void join_senders() {
        for (auto& t : senders)
            if (t.joinable()) t.join();
    }
    void join_all() {
        join_senders();
        stop_receivers = true;
        for (auto& t : receivers)
            if (t.joinable()) t.join();
    }
    ~stream_threads() {
        stop_senders = true;
        join_all();
    }
};

// iperf3 3.12's choice of a UDP datagram size when none is given: the control connection's MSS.
std::uint32_t default_size(int control_fd) {
    int mss = 0;
    socklen_t len = sizeof mss;
    if (::getsockopt(control_fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &len) == 0 && mss > 0 &&
        static_cast<std::uint32_t>(mss) <= iperf3_max_udp_size)
        return static_cast<std::uint32_t>(mss);
    return iperf3_default_udp_size;
}

}  // namespace

std::string iperf3_udp_params_json(const iperf3_udp_options& opt, std::uint32_t size) {
    const auto secs = std::chrono::duration<double>(opt.duration).count();
    const auto per_dir = detail::layout_streams(opt.direction, opt.parallel).per_direction;
    nlohmann::ordered_json j = {{"udp", true},
                                {"omit", 0},
                                {"time", static_cast<std::int64_t>(std::ceil(secs))},
                                {"num", 0},
                                {"blockcount", 0},
                                {"parallel", per_dir}};
    if (opt.direction == stream_direction::download) j["reverse"] = true;
    if (opt.direction == stream_direction::bidir) j["bidirectional"] = true;
    j["len"] = size;
    j["bandwidth"] = static_cast<std::uint64_t>(std::llround(opt.rate));
    j["pacing_timer"] = 1000;
    if (opt.counters_64bit) j["udp_counters_64bit"] = 1;
    j["client_version"] = "3.12";
    return j.dump();
}

iperf3_udp_result iperf3_udp_client(const socket_address& target, const iperf3_udp_options& opt,
                                    const interval_callback& on_interval) {
    iperf3_udp_result r;
    r.target = target;
    r.direction = opt.direction;
    r.rate = opt.rate;
    r.counters_64bit = opt.counters_64bit;
    const auto lay = detail::layout_streams(opt.direction, opt.parallel);
    const unsigned n = r.streams = lay.total();
    const auto cookie = iperf3::make_cookie();
    detail::iperf3_control ctl{target, opt.timeout, r.states};
    std::vector<udp_stream> streams(n);
    std::vector<detail::stream_counter> counters(n);
    const auto wall0 = mono_clock::now();
    const double cpu0 = detail::process_cpu_seconds();
    // Options out of range end the run before anything is sent.
    if (!std::isfinite(opt.rate) || opt.rate < 0 || opt.rate > iperf3_max_udp_rate) {
        r.error = fmt::format("a UDP rate of {} bits/s is out of range: give 0 (as fast as possible) to {}",
                              opt.rate, iperf3_max_udp_rate);
        return r;
    }
    if (opt.parallel < 1 || opt.parallel > 128) {
        r.error = fmt::format("{} parallel streams is out of range: give 1 to 128", opt.parallel);
        return r;
    }
    try {
        stream_threads threads;
        ctl.connect(cookie);
        r.size = opt.size ? opt.size : default_size(ctl.fd());
        if (r.size < iperf3::udp_header_size(opt.counters_64bit) || r.size > iperf3_max_udp_size)
            throw error(errc::bad_argument,
                        fmt::format("a UDP datagram of {} bytes cannot carry iperf3's header: give {} to {}",
                                    r.size, iperf3::udp_header_size(opt.counters_64bit), iperf3_max_udp_size));
        ctl.expect(iperf3::state::param_exchange);
        ctl.send_json(iperf3_udp_params_json(opt, r.size), "the test's parameters");
        ctl.expect(iperf3::state::create_streams);
        // One after the other: the server answers each connect datagram from its listening socket,
        // then opens a new one for the next stream, and numbers the streams in this order.
        for (unsigned i = 0; i < n; ++i) {
            auto& s = streams[i];
            s.sends = lay.up && i < lay.per_direction;
            std::error_code ec;
            s.fd = detail::udp_connect(target, ec);
            if (ec)
                throw error(ec, fmt::format("iperf3 server {}: opening UDP stream {}: {}", ctl.who(),
                                            detail::iperf3_stream_id(i), ec.message()));
            detail::set_int_option(s.fd.get(), SOL_SOCKET, s.sends ? SO_SNDBUF : SO_RCVBUF, 4 << 20);
            if (!s.sends) s.seq = std::make_unique<detail::udp_sequence_counter>();
            connect_exchange(ctl, s, detail::iperf3_stream_id(i), opt.timeout);
        }
        ctl.expect(iperf3::state::test_start);
        ctl.expect(iperf3::state::test_running);

        const auto start = mono_clock::now();
        const auto end = start + opt.duration;
        for (unsigned i = 0; i < n; ++i) {
            if (streams[i].sends)
                threads.senders.emplace_back([&, i] {
                    send_stream(streams[i], counters[i], r.size, opt.rate, opt.counters_64bit, start, end,
                                threads.stop_senders);
                });
            else
                threads.receivers.emplace_back([&, i] {
                    receive_stream(streams[i], counters[i], r.size, opt.counters_64bit, threads.stop_receivers);
                });
        }
        interval_meter meter{start, r.intervals, on_interval};
        const auto total = [&] {
            std::uint64_t sum = 0;
            for (const auto& c : counters) sum += c.bytes.load(std::memory_order_relaxed);
            return sum;
        };
        for (auto now = mono_clock::now(); now < end; now = mono_clock::now()) {
            std::error_code ec;
            if (detail::wait_readable(ctl.fd(), std::min(meter.interval_start() + 1s, end), ec)) {
                threads.stop_senders = true;
                threads.join_all();
                const auto s = ctl.read_state("the end of the test");
                throw error(errc::protocol_error, fmt::format("iperf3 server {} sent {} during the test", ctl.who(),
                                                              iperf3::state_name(static_cast<std::int8_t>(s))));
            }
            meter.close(mono_clock::now(), total());
        }
        threads.join_senders();
        wait_sent(streams, ctl.fd(), mono_clock::now() + std::min<std::chrono::nanoseconds>(opt.timeout, 1s));
        ctl.send_state(iperf3::state::test_end);
        if (lay.down) wait_quiet(counters, mono_clock::now() + std::min<std::chrono::nanoseconds>(opt.timeout, 1s));
        threads.join_all();
        meter.close(mono_clock::now(), total());

        mono_clock::time_point last = start;
        const double wall = std::chrono::duration<double>(mono_clock::now() - wall0).count();
        r.cpu_util_total = wall > 0 ? 100.0 * (detail::process_cpu_seconds() - cpu0) / wall : 0;
        double jitter_sum = 0;
        unsigned receiving = 0;
        for (unsigned i = 0; i < n; ++i) {
            auto& s = streams[i];
            iperf3_udp_stream_figures f{.id = detail::iperf3_stream_id(i),
                                        .nettool_sends = s.sends,
                                        .packets = s.packets,
                                        .bytes = s.bytes,
                                        .send_errors = s.send_errors};
            if (s.sends) {
                r.sent += s.packets;
                r.bytes_sent += s.bytes;
                r.send_errors += s.send_errors;
            } else {
                f.lost = s.seq->missing(1);
                f.duplicates = s.seq->duplicates();
                f.out_of_order = s.seq->out_of_order();
                f.max_displacement = s.seq->max_displacement();
                f.highest_seq = s.seq->next() > 0 ? s.seq->next() - 1 : 0;
                f.jitter_us = s.seq->jitter_ns() / 1000.0;
                r.received += s.packets;
                r.bytes_received += s.bytes;
                r.lost += f.lost;
                r.duplicates += f.duplicates;
                r.out_of_order += f.out_of_order;
                r.max_displacement = std::max(r.max_displacement, f.max_displacement);
                jitter_sum += f.jitter_us;
                ++receiving;
            }
            if (s.packets > 0) last = std::max(last, s.data_end);
            if (r.error.empty() && !s.error.empty()) r.error = fmt::format("stream {}: {}", f.id, s.error);
            r.per_stream.push_back(f);
        }
        if (receiving > 0) r.jitter_us = jitter_sum / receiving;
        r.seconds = std::chrono::duration<double>(last - start).count();
        if (r.seconds > 0)
            r.bits_per_second = static_cast<double>(r.bytes_sent + r.bytes_received) * 8.0 / r.seconds;

        // nettool's half of the exchange in iperf3's terms: a sender's packets are what it sent; a
        // receiver's are the highest sequence number it saw (lost ones included, as iperf3 counts
        // them), its errors the lost ones, its jitter in seconds.
        iperf3::peer_results mine;
        mine.cpu_util_total = r.cpu_util_total;
        mine.sender_has_retransmits = false;
        for (const auto& f : r.per_stream)
            mine.streams.push_back({.id = f.id,
                                    .bytes = f.bytes,
                                    .jitter_s = f.nettool_sends ? 0 : f.jitter_us / 1e6,
                                    .errors = f.nettool_sends ? 0 : f.lost,
                                    .packets = f.nettool_sends ? f.packets : f.highest_seq,
                                    .end_time_s = r.seconds});
        r.server = ctl.exchange_results(mine);
        r.server_results = true;
        double server_jitter_sum = 0;
        unsigned server_receiving = 0;
        for (auto& f : r.per_stream) {
            const auto it = std::find_if(r.server.streams.begin(), r.server.streams.end(),
                                         [&](const iperf3::stream_report& s) { return s.id == f.id; });
            if (it == r.server.streams.end()) continue;
            f.server_reported = true;
            f.server_packets = it->packets;
            f.server_bytes = it->bytes;
            f.server_lost = it->errors;
            f.server_jitter_us = it->jitter_s * 1e6;
            if (f.nettool_sends) {
                r.server_packets_received += it->packets;
                r.server_bytes_received += it->bytes;
                r.server_lost += it->errors;
                server_jitter_sum += f.server_jitter_us;
                ++server_receiving;
            } else {
                r.server_packets_sent += it->packets;
                r.server_bytes_sent += it->bytes;
            }
            r.server_seconds = std::max(r.server_seconds, it->end_time_s);
        }
        if (server_receiving > 0) r.server_jitter_us = server_jitter_sum / server_receiving;
    } catch (const error& e) {
        r.error = e.what();
    }
    return r;
}

void to_json(nlohmann::json& j, const iperf3_udp_stream_figures& s) {
    j = {{"id", s.id},
         {"nettool_sends", s.nettool_sends},
         {"packets", s.packets},
         {"bytes", s.bytes},
         {"send_errors", s.send_errors},
         {"lost", s.lost},
         {"duplicates", s.duplicates},
         {"out_of_order", s.out_of_order},
         {"max_displacement", s.max_displacement},
         {"highest_seq", s.highest_seq},
         {"jitter_us", s.jitter_us},
         {"server_reported", s.server_reported},
         {"server_packets", s.server_packets},
         {"server_bytes", s.server_bytes},
         {"server_lost", s.server_lost},
         {"server_jitter_us", s.server_jitter_us}};
}

void to_json(nlohmann::json& j, const iperf3_udp_result& r) {
    auto states = nlohmann::json::array();
    for (const auto s : r.states) states.push_back(iperf3::state_name(s));
    j = {{"target", r.target.to_string()},
         {"direction", to_string(r.direction)},
         {"streams", r.streams},
         {"size", r.size},
         {"rate", r.rate},
         {"counters_64bit", r.counters_64bit},
         {"sent", r.sent},
         {"bytes_sent", r.bytes_sent},
         {"send_errors", r.send_errors},
         {"received", r.received},
         {"bytes_received", r.bytes_received},
         {"lost", r.lost},
         {"duplicates", r.duplicates},
         {"out_of_order", r.out_of_order},
         {"max_displacement", r.max_displacement},
         {"jitter_us", r.jitter_us},
         {"seconds", r.seconds},
         {"bits_per_second", r.bits_per_second},
         {"intervals", r.intervals},
         {"cpu_util_total", r.cpu_util_total},
         {"per_stream", r.per_stream},
         {"states", std::move(states)}};
    if (r.server_results) {
        j["server"] = r.server;
        j["server"]["packets_received"] = r.server_packets_received;
        j["server"]["bytes_received"] = r.server_bytes_received;
        j["server"]["lost"] = r.server_lost;
        j["server"]["packets_sent"] = r.server_packets_sent;
        j["server"]["bytes_sent"] = r.server_bytes_sent;
        j["server"]["jitter_us"] = r.server_jitter_us;
        j["server"]["seconds"] = r.server_seconds;
    } else {
        j["server"] = nullptr;
    }
    if (!r.error.empty()) j["error"] = r.error;
}

}  // namespace nettool
