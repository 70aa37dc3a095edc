#include <nettool/probe/udp_probe.hpp>

#include <nettool/core/error.hpp>
#include <nettool/core/report.hpp>

#include "probe/session.hpp"
#include "net/socket.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>

namespace nettool {

using namespace std::chrono_literals;

namespace {

// Checks a received datagram against our session; returns the header when it is an answer of ours.
std::optional<proto::udp_header> our_reply(std::span<const std::byte> dgram, std::uint64_t cookie) {
    const auto h = proto::decode_udp_header(dgram);
    if (!h || h.value.cookie != cookie || h.value.kind != proto::udp_kind::echo_reply) return std::nullopt;
    return h.value;
}

// A probe's fate in udp_rr_probe: flags in the low bits, the count of duplicate answers above.
constexpr std::uint32_t fate_answered = 1, fate_reordered = 2, fate_late = 4, fate_duplicate = 8;

// Buckets the probes by send time (udp_rr_interval says how).
std::vector<udp_rr_interval> rr_intervals(const std::vector<std::uint32_t>& fate,
                                          const std::vector<std::uint64_t>& sent_ns) {
    std::vector<udp_rr_interval> out;
    if (sent_ns.empty()) return out;
    const std::uint64_t first = sent_ns.front();
    const double span = static_cast<double>(sent_ns.back() - first) / 1e9;
    double width = 1.0;
    std::size_t n = static_cast<std::size_t>(span) + 1;
    if (span < 10.0) {
        n = std::min<std::size_t>(10, sent_ns.size());
        width = span > 0 ? span / static_cast<double>(n) : 1.0;
    }
    out.resize(n);
    for (std::size_t b = 0; b < n; ++b) {
        out[b].start_s = static_cast<double>(b) * width;
        out[b].end_s = b + 1 == n && span < 10.0 && span > 0 ? span : static_cast<double>(b + 1) * width;
    }
    for (std::size_t i = 0; i < sent_ns.size(); ++i) {
        const double t = static_cast<double>(sent_ns[i] - first) / 1e9;
        const auto b = std::min(n - 1, static_cast<std::size_t>(t / width));
        auto& iv = out[b];
        const std::uint32_t f = fate[i];
        ++iv.sent;
        if ((f & fate_answered) == 0) ++iv.lost;
        if ((f & fate_reordered) != 0) ++iv.reordered;
        if ((f & fate_late) != 0) ++iv.late;
        iv.duplicates += f / fate_duplicate;
    }
    return out;
}

}  // namespace

void to_json(nlohmann::json& j, const udp_rr_interval& i) {
    j = {{"start_s", i.start_s},         {"end_s", i.end_s}, {"sent", i.sent},
         {"lost", i.lost},               {"reordered", i.reordered},
         {"duplicates", i.duplicates},   {"late", i.late}};
}

namespace {

// The buffers of a run, kept by a udp_rr_client between runs.
struct rr_buffers {
    std::vector<std::byte> out, in;
    // Per probe: its fate (answered, reordered, late; duplicates above) and when it was sent, for
    // the intervals; both reserved up front, one push_back each per probe.
    std::vector<std::uint32_t> answered;
    std::vector<std::uint64_t> sent_ns;
};

// The timed exchanges over an open session: count datagrams (or for duration), each waited for in
// turn. Sequence numbers start at first_seq: a client that keeps its socket between runs numbers
// on, so an answer from an earlier run is never taken for one of this run's.
void exchange(int fd, std::uint64_t cookie, std::uint64_t first_seq, const udp_rr_options& opt, udp_rr_result& r,
              rr_buffers& b) {
    detail::make_blocking(fd, opt.timeout);
    b.out.assign(opt.size, std::byte{0});
    // Answers are the requests with their kind changed, never longer; anything longer is not ours
    // and is cut (its header is all we read). A client kept per target keeps no 64 KiB buffer.
    b.in.resize(opt.size);
    const std::uint64_t limit = opt.count > 0 ? opt.count : UINT64_MAX;
    auto& answered = b.answered;
    answered.clear();
    answered.reserve(opt.count > 0 ? opt.count : 1u << 20);
    b.sent_ns.clear();
    b.sent_ns.reserve(answered.capacity());
    std::uint64_t highest_answered = 0;  // plus one, counted from first_seq
    const auto stop_at =
        opt.duration > 0ns ? mono_clock::now() + opt.duration : mono_clock::time_point::max();

    auto take = [&](const proto::udp_header& h, std::uint64_t now_ns, std::uint64_t current) -> bool {
        if (h.seq < first_seq || h.seq - first_seq >= answered.size()) return false;  // not this run's
        const std::uint64_t i = h.seq - first_seq;
        auto& fate = answered[i];
        if ((fate & fate_answered) != 0) {
            ++r.duplicates;
            if (fate < UINT32_MAX - fate_duplicate) fate += fate_duplicate;
            return false;
        }
        fate |= fate_answered;
        ++r.received;
        if (i + 1 < highest_answered) {
            ++r.reordered;
            fate |= fate_reordered;
        }
        highest_answered = std::max(highest_answered, i + 1);
        if (i != current) {
            ++r.late;
            fate |= fate_late;
            return false;
        }
        r.rtt.record(now_ns - h.send_ns);
        if (i == 0) r.first_reply = std::chrono::nanoseconds{now_ns - h.send_ns};
        return true;
    };

    auto receive_until = [&](mono_clock::time_point deadline, std::uint64_t current) {
        for (;;) {
            const ssize_t n = ::recv(fd, b.in.data(), b.in.size(), 0);
            if (n >= 0) {
                const auto now = mono_now_ns();
                if (auto h = our_reply({b.in.data(), static_cast<std::size_t>(n)}, cookie)) {
                    if (take(*h, now, current)) return;
                }
                if (mono_clock::now() >= deadline) return;  // a stream of strays must not hold us
                continue;
            }
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {  // ICMP errors: the probe counts as lost
                if (mono_clock::now() >= deadline) return;
                continue;
            }
            std::error_code wec;
            if (!detail::wait_readable(fd, deadline, wec)) return;
        }
    };

    for (std::uint64_t i = 0; i < limit; ++i) {
        if (mono_clock::now() >= stop_at) break;
        if (i > 0 && opt.interval > 0ns) std::this_thread::sleep_for(opt.interval);
        const auto now = mono_now_ns();
        proto::encode(proto::udp_header{proto::udp_kind::echo_request, cookie, first_seq + i, now}, b.out);
        answered.push_back(0);
        b.sent_ns.push_back(now);
        ++r.sent;
        if (::send(fd, b.out.data(), b.out.size(), 0) < 0) continue;  // counted lost
        receive_until(mono_clock::now() + opt.timeout, i);
    }
    // Stragglers: answers still on their way count as late, not lost.
    const auto drain = std::min<std::chrono::nanoseconds>(opt.timeout, std::max(opt.drain, 0ns));
    if (drain > 0ns) {
        detail::make_blocking(fd, drain);
        receive_until(mono_clock::now() + drain, UINT64_MAX);
    }
    r.lost = r.sent - r.received;
    r.intervals = rr_intervals(answered, b.sent_ns);
}

// The stream's interval boundaries as the sender drew them: how many datagrams each interval
// sent and which of the result's intervals it became (a dropped sliver: the one before it).
class closure_log {
public:
    /// The interval being sent now, as the datagram header carries it.
    std::uint16_t current() const noexcept {
        return static_cast<std::uint16_t>(std::min<std::size_t>(closed_.size(), UINT16_MAX));
    }
    /// The current interval ends with `total_sent` datagrams sent so far; `kept` when the meter
    /// appended it to the result's intervals.
    void close(std::uint64_t total_sent, bool kept) {
        closed_.push_back({total_sent - sent_before_, kept});
        sent_before_ = total_sent;
    }
    struct closure {
        std::uint64_t sent = 0;
        bool kept = false;
    };
    const std::vector<closure>& closed() const noexcept { return closed_; }

private:
    std::vector<closure> closed_;
    std::uint64_t sent_before_ = 0;
};

// Asks the responder for its per-interval counts ("NTRI") and fills each result interval's sent,
// lost, reordered and duplicates. False (with `error`) when the control connection fails or the
// answer is malformed; an interval past what the responder counts apart keeps them empty.
bool fetch_interval_counts(int control, const closure_log& closures, udp_stream_result& r,
                           mono_clock::time_point deadline, std::string& error) {
    std::array<std::byte, proto::report_request_size> req{};
    proto::encode_interval_request(req);
    std::array<std::byte, proto::max_interval_report_size> rep{};
    std::error_code ec;
    const std::span<std::byte> head{rep.data(), proto::interval_report_header_size};
    if (!detail::write_all(control, req, deadline, ec) || !detail::read_exact(control, head, deadline, ec)) {
        error = fmt::format("asking the responder for its counts per interval: {}", detail::describe(ec));
        return false;
    }
    const auto count = proto::decode_interval_report_count(head);
    if (!count) {
        error = "the responder sent malformed counts per interval";
        return false;
    }
    const std::span<std::byte> whole{rep.data(),
                                     proto::interval_report_header_size + count.value * proto::interval_counts_size};
    if (!detail::read_exact(control, whole.subspan(head.size()), deadline, ec)) {
        error = fmt::format("reading the responder's counts per interval: {}", detail::describe(ec));
        return false;
    }
    std::array<proto::udp_interval_counts, proto::max_report_intervals> counts{};
    const auto n = proto::decode_interval_report(whole, counts);
    if (!n) {
        error = "the responder sent malformed counts per interval";
        return false;
    }
    // Sum each result interval's closures; the responder's table covers the intervals it saw a
    // datagram of (an interval it has no entry for, below the cap, received nothing).
    std::vector<stream_interval> out = r.intervals;
    std::size_t at = 0;  // result interval the next kept closure becomes
    for (std::size_t k = 0; k < closures.closed().size(); ++k) {
        const auto& c = closures.closed()[k];
        if (!c.kept && at == 0) continue;  // a sliver with nothing before it is in no interval
        auto& iv = out[c.kept ? at : at - 1];
        if (c.kept) ++at;
        if (k >= proto::max_report_intervals || (!c.kept && !iv.sent.has_value())) {
            // Past the cap (or merged into an interval already past it): not counted apart.
            iv.sent.reset();
            iv.lost.reset();
            iv.reordered.reset();
            iv.duplicates.reset();
            continue;
        }
        const proto::udp_interval_counts got = k < n.value ? counts[k] : proto::udp_interval_counts{};
        const std::uint64_t unique = got.received - got.duplicates;
        iv.sent = iv.sent.value_or(0) + c.sent;
        iv.reordered = iv.reordered.value_or(0) + got.out_of_order;
        iv.duplicates = iv.duplicates.value_or(0) + got.duplicates;
        iv.lost = iv.lost.value_or(0) + (c.sent > unique ? c.sent - unique : 0);
        if (unique > c.sent) {
            error = fmt::format("the responder counted {} datagrams of interval {}, which sent {}", unique, k, c.sent);
            return false;
        }
    }
    r.intervals = std::move(out);
    return true;
}

bool size_ok(const udp_rr_options& opt, udp_rr_result& r) {
    if (opt.size >= proto::udp_header_size && opt.size <= proto::max_udp_datagram) return true;
    r.error = fmt::format("datagram size {} B is outside {}..{} B", opt.size, proto::udp_header_size,
                          proto::max_udp_datagram);
    return false;
}

}  // namespace

udp_rr_result udp_rr_probe(const socket_address& target, const udp_rr_options& opt) {
    udp_rr_result r;
    r.target = target;
    if (!size_ok(opt, r)) return r;
    const stopwatch total;
    if (opt.warm_up) {
        auto w = opt;
        w.count = 1;
        w.duration = 0ns;
        w.warm_up = false;
        const auto warm = udp_rr_probe(target, w);
        if (!warm.error.empty()) {
            r.error = warm.error;
            r.elapsed = total.elapsed();
            return r;
        }
        r.warmed_up = true;  // answered or not: the code paths ran
        r.warm_up_sent = warm.sent;
    }
    std::error_code ec;
    auto control = detail::open_session(target, {proto::mode::udp_echo, opt.size, 0},
                                        mono_clock::now() + opt.timeout + 2s, ec, r.error);
    if (ec) return r;
    r.control_local = control.local;
    auto fd = detail::udp_connect(target, ec);
    if (ec) {
        r.error = fmt::format("UDP socket to {}: {}", target.to_string(), ec.message());
        return r;
    }
    r.local = detail::local_address(fd.get());
    rr_buffers b;
    exchange(fd.get(), control.cookie, 0, opt, r, b);
    // The responder retires the session before a following run starts (see tcp_rr_probe).
    detail::close_gracefully(control.fd.get(), mono_clock::now() + std::min<std::chrono::nanoseconds>(opt.timeout, 1s));
    r.elapsed = total.elapsed();
    return r;
}

struct udp_rr_client::state {
    socket_address target;
    std::uint32_t size = 0;
    detail::session control;
    detail::unique_fd udp;
    socket_address local;
    std::uint64_t next_seq = 0;
    rr_buffers buffers;
};

udp_rr_client::udp_rr_client() = default;
udp_rr_client::~udp_rr_client() { close(); }
udp_rr_client::udp_rr_client(udp_rr_client&&) noexcept = default;
udp_rr_client& udp_rr_client::operator=(udp_rr_client&& o) noexcept {
    if (this != &o) {
        close();
        s_ = std::move(o.s_);
    }
    return *this;
}

void udp_rr_client::close() noexcept {
    if (!s_ || !s_->control.fd) return;
    // FIN now, no wait for the responder's: a reload may close a thousand of these at once.
    detail::close_gracefully(s_->control.fd.get(), mono_clock::now());
    s_->control = {};
    s_->udp = {};
}

udp_rr_result udp_rr_client::run(const socket_address& target, const udp_rr_options& opt) {
    udp_rr_result r;
    r.target = target;
    if (!size_ok(opt, r)) return r;
    const stopwatch total;
    if (!s_) s_ = std::make_unique<state>();
    auto& s = *s_;
    // The session still serves this target and size when nothing came on the control connection:
    // the responder writes there only to end it (idle timeout, shutdown, restart).
    bool reuse = s.control.fd && s.udp && s.target == target && s.size == opt.size;
    if (reuse) {
        pollfd p{s.control.fd.get(), POLLIN | POLLRDHUP, 0};
        reuse = ::poll(&p, 1, 0) == 0;
    }
    if (!reuse) {
        close();
        std::error_code ec;
        s.control = detail::open_session(target, {proto::mode::udp_echo, opt.size, 0},
                                         mono_clock::now() + opt.timeout + 2s, ec, r.error);
        if (ec) {
            s.control = {};
            r.elapsed = total.elapsed();
            return r;
        }
        s.udp = detail::udp_connect(target, ec);
        if (ec) {
            r.error = fmt::format("UDP socket to {}: {}", target.to_string(), ec.message());
            close();
            r.elapsed = total.elapsed();
            return r;
        }
        s.target = target;
        s.size = opt.size;
        s.local = detail::local_address(s.udp.get());
        s.next_seq = 0;
    }
    r.control_local = s.control.local;
    r.local = s.local;
    exchange(s.udp.get(), s.control.cookie, s.next_seq, opt, r, s.buffers);
    s.next_seq += r.sent;
    // Nothing came back: the responder may have restarted and forgotten the cookie. Start over.
    if (r.sent > 0 && r.received == 0) close();
    r.elapsed = total.elapsed();
    return r;
}

udp_stream_result udp_stream_probe(const socket_address& target, const udp_stream_options& opt,
                                   const interval_callback& on_interval) {
    udp_stream_result r;
    r.target = target;
    r.size = opt.size;
    if (opt.size < proto::udp_header_size || opt.size > proto::max_udp_datagram) {
        r.error = fmt::format("datagram size {} B is outside {}..{} B", opt.size, proto::udp_header_size,
                              proto::max_udp_datagram);
        return r;
    }
    std::error_code ec;
    auto control = detail::open_session(target,
                                        {proto::mode::udp_sink, 0, 0,
                                         proto::flag_receiver_drops | proto::flag_interval_counts},
                                        mono_clock::now() + opt.timeout, ec, r.error);
    if (ec) return r;
    auto fd = detail::udp_connect(target, ec);
    if (ec) {
        r.error = fmt::format("UDP socket to {}: {}", target.to_string(), ec.message());
        return r;
    }
    detail::set_int_option(fd.get(), SOL_SOCKET, SO_SNDBUF, 4 << 20);

    // One batch of datagrams, laid out back to back once; only header fields change per send.
    // With UDP GSO (UDP_SEGMENT) the kernel cuts one 64 KB send into datagrams of opt.size;
    // without it, sendmmsg sends the batch in one system call.
    constexpr std::size_t batch = 64;
    const std::size_t gso_segments = std::min<std::size_t>(batch, 65000 / opt.size);
    bool use_gso = opt.gso && gso_segments >= 2;
    std::vector<std::byte> buf(batch * opt.size, std::byte{0});
    std::array<mmsghdr, batch> msgs{};
    std::array<iovec, batch> iov{};
    for (std::size_t i = 0; i < batch; ++i) {
        iov[i] = {buf.data() + i * opt.size, opt.size};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(std::uint16_t))> gso_control{};
    iovec gso_iov{};
    msghdr gso_msg{};
    gso_msg.msg_iov = &gso_iov;
    gso_msg.msg_iovlen = 1;
    gso_msg.msg_control = gso_control.data();
    gso_msg.msg_controllen = gso_control.size();
    {
        cmsghdr* cm = CMSG_FIRSTHDR(&gso_msg);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
        const auto seg = static_cast<std::uint16_t>(opt.size);
        std::memcpy(CMSG_DATA(cm), &seg, sizeof seg);
    }

    const auto start = mono_clock::now();
    const auto end = start + opt.duration;
    auto next_interval = start + 1s;
    interval_meter meter{start, r.intervals, on_interval};
    std::uint64_t seq = 0;
    // Every datagram names the interval it was sent in (the header's interval field), so that a
    // responder granting flag_interval_counts counts each interval's fate apart. The meter drops
    // a sliver of under 50 ms at the end: its datagrams then count with the interval before it.
    closure_log closures;
    auto close_interval = [&](mono_clock::time_point at) {
        const auto before = r.intervals.size();
        meter.close(at, r.sent * opt.size);
        closures.close(r.sent, r.intervals.size() > before);
    };

    for (;;) {
        auto now = mono_clock::now();
        if (now >= end) break;
        if (now >= next_interval) {
            close_interval(now);
            next_interval += 1s;
        }
        std::size_t n = use_gso ? gso_segments : batch;
        if (opt.rate > 0) {
            // Datagram k is due at start + k / rate; send what is due, then sleep to the next.
            const double elapsed = std::chrono::duration<double>(now - start).count();
            const auto due = static_cast<std::uint64_t>(elapsed * opt.rate) + 1;
            if (due <= seq) {
                const auto next_due =
                    start + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::duration<double>(static_cast<double>(seq) / opt.rate));
                std::this_thread::sleep_until(std::min({next_due, end, next_interval}));
                continue;
            }
            n = static_cast<std::size_t>(std::min<std::uint64_t>(n, due - seq));
        }
        const auto stamp = mono_now_ns();
        const auto interval = closures.current();
        for (std::size_t i = 0; i < n; ++i) {
            proto::encode(proto::udp_header{proto::udp_kind::stream, control.cookie, seq + i, stamp, interval},
                          {buf.data() + i * opt.size, opt.size});
        }
        int m = -1;
        if (use_gso && n >= 2) {
            gso_iov = {buf.data(), n * opt.size};
            if (::sendmsg(fd.get(), &gso_msg, 0) >= 0)
                m = static_cast<int>(n);
            else if (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP) {
                use_gso = false;  // no GSO on this path: fall back to sendmmsg from now on
                continue;
            }
        } else {
            m = ::sendmmsg(fd.get(), msgs.data(), static_cast<unsigned>(n), 0);
        }
        if (m > 0) {
            seq += static_cast<std::uint64_t>(m);
            r.sent += static_cast<std::uint64_t>(m);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            std::error_code wec;
            detail::wait_writable(fd.get(), std::min(end, mono_clock::now() + 10ms), wec);
            continue;
        }
        // ENOBUFS, ECONNREFUSED from an earlier ICMP error: the datagrams did not leave.
        r.send_dropped += n;
        seq += n;
    }
    const auto sent_until = mono_clock::now();
    close_interval(sent_until);
    r.seconds = std::chrono::duration<double>(sent_until - start).count();
    r.send_packets_per_second = r.seconds > 0 ? static_cast<double>(r.sent) / r.seconds : 0;

    // Let the last datagrams land, then ask the responder what it counted.
    std::this_thread::sleep_for(100ms);
    std::array<std::byte, proto::report_request_size> req{};
    proto::encode_report_request(req);
    // A responder that granted flag_receiver_drops sends the extended report.
    std::array<std::byte, proto::udp_report_extended_size> rep_buf{};
    const std::span<std::byte> rep{rep_buf.data(), (control.flags & proto::flag_receiver_drops) != 0
                                                       ? proto::udp_report_extended_size
                                                       : proto::udp_report_size};
    const auto deadline = mono_clock::now() + opt.timeout;
    if (!detail::write_all(control.fd.get(), req, deadline, ec) ||
        !detail::read_exact(control.fd.get(), rep, deadline, ec)) {
        r.error = fmt::format("asking the responder for its counts: {}", detail::describe(ec));
        return r;
    }
    const auto d = proto::decode_udp_report(rep);
    if (!d) {
        r.error = "the responder sent malformed counts";
        return r;
    }
    const auto& c = d.value;
    r.received = c.received;
    r.duplicates = c.duplicates;
    r.out_of_order = c.out_of_order;
    r.max_displacement = c.max_displacement;
    const std::uint64_t unique = c.received - c.duplicates;
    r.lost = r.sent > unique ? r.sent - unique : 0;
    if (c.receiver_drops) {
        // The responder's socket is shared by every session: drops beyond our loss were others'.
        r.receiver_dropped = std::min(*c.receiver_drops, r.lost);
        r.path_lost = r.lost - *r.receiver_dropped;
    }
    if ((control.flags & proto::flag_interval_counts) != 0) {
        if (!fetch_interval_counts(control.fd.get(), closures, r, deadline, r.error)) return r;
    }
    r.jitter_us = static_cast<double>(c.jitter_ns) / 1000.0;
    // Rates over the sending time: the receiver keeps pace or drops, it cannot take longer.
    if (r.seconds > 0) {
        r.packets_per_second = static_cast<double>(c.received) / r.seconds;
        r.bits_per_second = static_cast<double>(c.bytes) * 8.0 / r.seconds;
    }
    return r;
}

void to_json(nlohmann::json& j, const udp_rr_result& r) {
    j = {{"target", r.target.to_string()},
         {"local", r.local.to_string()},
         {"control_local", r.control_local.to_string()},
         {"warmed_up", r.warmed_up},
         {"warm_up_sent", r.warm_up_sent},
         {"sent", r.sent},
         {"received", r.received},
         {"lost", r.lost},
         {"duplicates", r.duplicates},
         {"reordered", r.reordered},
         {"late", r.late},
         {"loss_fraction", r.loss_fraction()},
         {"first_reply_us", std::chrono::duration<double, std::micro>(r.first_reply).count()},
         {"rtt", latency_summary::from(r.rtt)},
         {"intervals", r.intervals},
         {"elapsed_s", std::chrono::duration<double>(r.elapsed).count()}};
    if (!r.error.empty()) j["error"] = r.error;
}

void to_json(nlohmann::json& j, const udp_stream_result& r) {
    j = {{"target", r.target.to_string()},
         {"size", r.size},
         {"sent", r.sent},
         {"send_dropped", r.send_dropped},
         {"received", r.received},
         {"lost", r.lost},
         {"loss_fraction", r.loss_fraction()},
         {"receiver_dropped", r.receiver_dropped ? nlohmann::json(*r.receiver_dropped) : nlohmann::json()},
         {"path_lost", r.path_lost ? nlohmann::json(*r.path_lost) : nlohmann::json()},
         {"duplicates", r.duplicates},
         {"out_of_order", r.out_of_order},
         {"max_displacement", r.max_displacement},
         {"jitter_us", r.jitter_us},
         {"seconds", r.seconds},
         {"packets_per_second", r.packets_per_second},
         {"bits_per_second", r.bits_per_second},
         {"send_packets_per_second", r.send_packets_per_second},
         {"intervals", r.intervals}};
    if (!r.error.empty()) j["error"] = r.error;
}

}  // namespace nettool
