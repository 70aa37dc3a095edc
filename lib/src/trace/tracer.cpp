// The trace engine: rounds of probes with every TTL at once, replies matched by their tag, hops
// and paths built from the matches. One thread; every wait has a deadline.
#include "trace/probe_socket.hpp"

#include <nettool/core/clock.hpp>
#include <nettool/core/error.hpp>
#include <nettool/trace/trace.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <ctime>
#include <future>
#include <map>
#include <memory>

#include <netdb.h>
#include <poll.h>
#include <sys/random.h>
#include <unistd.h>

namespace nettool {

std::string_view to_string(trace_protocol p) noexcept {
    switch (p) {
        case trace_protocol::udp: return "udp";
        case trace_protocol::icmp: return "icmp";
        case trace_protocol::tcp: return "tcp";
    }
    return "udp";
}

std::string_view to_string(hop_verdict v) noexcept {
    switch (v) {
        case hop_verdict::answers: return "answers";
        case hop_verdict::destination: return "destination";
        case hop_verdict::does_not_answer: return "does not answer";
        case hop_verdict::rate_limits: return "rate-limits its ICMP";
        case hop_verdict::no_reply: return "no reply";
        case hop_verdict::unreachable: return "unreachable";
    }
    return "no reply";
}

void rtt_stats::add(std::chrono::nanoseconds rtt) noexcept {
    if (count == 0 || rtt < best) best = rtt;
    if (count == 0 || rtt > worst) worst = rtt;
    last = rtt;
    ++count;
    const auto v = static_cast<double>(rtt.count());
    sum_ns += v;
    sum_sq_ns += v * v;
}
double rtt_stats::mean_ns() const noexcept {
    return count == 0 ? 0.0 : sum_ns / static_cast<double>(count);
}
double rtt_stats::stddev_ns() const noexcept {
    if (count == 0) return 0.0;
    const double m = mean_ns();
    const double var = sum_sq_ns / static_cast<double>(count) - m * m;
    return var > 0 ? std::sqrt(var) : 0.0;
}

namespace {

using detail::probe_socket;
using detail::read_outcome;
using detail::reply;
using detail::reply_kind;

std::int64_t realtime_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// TTLs in flight per round beyond the lowest unanswered one, as traceroute's -N: enough for a
// path to be traced in one round trip when it is at most this long, few enough that the
// destination is not sent dozens of probes it can only answer out of its ICMP budget.
constexpr unsigned ttl_window = 8;

enum class probe_state : std::uint8_t { in_flight, answered, lost, superseded, failed };

struct probe_record {
    mono_clock::time_point deadline;
    std::int64_t sent_ns = 0;  // CLOCK_REALTIME, to compare with the kernel's receive stamps
    std::uint32_t size = 0;
    std::uint8_t ttl = 0;
    std::uint8_t flow = 0;
    std::uint16_t round = 0;
    probe_state state = probe_state::in_flight;
    // The reply, when answered.
    reply_kind kind = reply_kind::time_exceeded;
    ip_address from;
    std::int64_t rtt_ns = 0;
    int reply_ttl = -1;
    std::uint32_t mtu = 0;
    std::string_view mark;
};

class tracer {
public:
    tracer(const socket_address& dst, const trace_options& opt) : dst_(dst), opt_(opt) {
        if (::getrandom(&token_, sizeof token_, 0) != static_cast<ssize_t>(sizeof token_))
            token_ = static_cast<std::uint32_t>(::getpid()) * 2654435761U;
        port_ = opt.port != 0
                    ? opt.port
                    : (opt.protocol == trace_protocol::tcp ? std::uint16_t{80} : std::uint16_t{33434});
        for (unsigned f = 0; f < opt.paths; ++f)
            socks_.push_back(std::make_unique<probe_socket>(opt.protocol, dst, f, port_, token_, opt.pmtu));
        size_ = opt.pmtu ? 65535U : socks_.front()->header_bytes() + 32;
        records_.reserve(256);
    }

    trace_result run(std::string_view text);

private:
    unsigned limit() const noexcept { return stop_hop_ != 0 ? stop_hop_ : opt_.max_hops; }
    void send_round();
    void extend(unsigned round, unsigned upto);
    void send_probe(unsigned flow, unsigned ttl, unsigned round);
    void drain(unsigned flow);
    void on_reply(const reply& r);
    void expire(mono_clock::time_point now);
    void advance_windows();
    bool waiting() const noexcept;
    trace_result build(std::string_view text) const;

    socket_address dst_;
    trace_options opt_;
    std::uint32_t token_ = 0;
    std::uint16_t port_ = 0;
    std::vector<std::unique_ptr<probe_socket>> socks_;
    std::vector<probe_record> records_;
    std::array<std::uint32_t, 256> in_flight_{};  // per TTL
    std::size_t expire_idx_ = 0;
    unsigned rounds_sent_ = 0;
    std::vector<unsigned> next_ttl_;  // per round: the lowest TTL not yet sent
    std::size_t open_round_ = 0;      // rounds before it have sent every TTL they will
    unsigned stop_hop_ = 0;           // the destination's TTL, or a hop that answered "unreachable"
    bool reached_ = false;
    std::uint32_t size_ = 0;
    std::uint32_t first_mtu_ = 0;
    std::uint64_t send_errors_ = 0;
    trace_ignored ignored_;
    std::vector<reply> pending_;  // replies read while sending, handled by the loop
};

void tracer::send_probe(unsigned flow, unsigned ttl, unsigned round) {
    if (records_.size() >= max_trace_probes) return;
    auto& s = *socks_[flow];
    detail::probe_tag tag;
    tag.token = token_;
    tag.seq = static_cast<std::uint16_t>(records_.size());
    tag.ttl = static_cast<std::uint8_t>(ttl);
    tag.flow = static_cast<std::uint8_t>(flow);
    probe_record rec;
    rec.ttl = tag.ttl;
    rec.flow = tag.flow;
    rec.round = static_cast<std::uint16_t>(round);
    // Bounded: each EMSGSIZE shrinks the size to the interface's MTU the kernel reports.
    for (int attempt = 0; attempt < 4; ++attempt) {
        rec.size = size_;
        rec.sent_ns = realtime_ns();
        rec.deadline = mono_clock::now() + opt_.timeout;
        const auto ec = s.send(tag, size_);
        if (!ec) {
            rec.state = probe_state::in_flight;
            ++in_flight_[rec.ttl];
            records_.push_back(rec);
            return;
        }
        if (ec.value() == EMSGSIZE && opt_.pmtu) {
            // The local interface refuses it: the error queue says its MTU.
            reply r;
            std::uint32_t mtu = 0;
            for (int i = 0; i < 64; ++i) {
                const auto got = s.read(r);
                if (got == read_outcome::none) break;
                if (got == read_outcome::local_mtu) mtu = r.mtu;
                if (got == read_outcome::matched) pending_.push_back(r);  // handled by the loop
                if (got == read_outcome::local_mtu && mtu != 0) break;
            }
            const std::uint32_t floor = s.header_bytes() + detail::probe_tag_size;
            if (mtu >= floor && mtu < size_) {
                size_ = mtu;
                if (first_mtu_ == 0) first_mtu_ = mtu;
                continue;
            }
        }
        ++send_errors_;
        rec.state = probe_state::failed;
        records_.push_back(rec);
        return;
    }
    ++send_errors_;
    rec.state = probe_state::failed;
    records_.push_back(rec);
}

void tracer::send_round() {
    next_ttl_.push_back(opt_.first_hop);
    extend(rounds_sent_, opt_.first_hop + ttl_window - 1);
    ++rounds_sent_;
    if (opt_.on_round) opt_.on_round(rounds_sent_, opt_.rounds);
}

void tracer::extend(unsigned round, unsigned upto) {
    const unsigned top = std::min(upto, limit());
    // TTL by TTL, the queries and flows of one TTL together: a destination that limits its ICMP
    // (Linux: per source a burst of 6, then 1/s; per namespace a burst of 50, then 1000/s)
    // answers the lowest TTLs that reach it first.
    for (unsigned& ttl = next_ttl_[round]; ttl <= top; ++ttl)
        for (unsigned q = 0; q < opt_.queries; ++q)
            for (unsigned f = 0; f < socks_.size(); ++f) send_probe(f, ttl, round);
}

void tracer::on_reply(const reply& r) {
    if (r.seq >= records_.size()) {
        ++ignored_.unknown_probe;
        return;
    }
    auto& rec = records_[r.seq];
    // A header-only match (no tag) knows its flow from the socket but not its TTL.
    if (rec.flow != r.flow || (!r.header_only && rec.ttl != r.ttl)) {
        ++ignored_.unknown_probe;
        return;
    }
    switch (rec.state) {
        case probe_state::in_flight: break;
        case probe_state::lost: ++ignored_.late; return;
        case probe_state::failed: ++ignored_.unknown_probe; return;
        default: ++ignored_.duplicate; return;
    }
    if (r.kind == reply_kind::too_big) {
        // --pmtu: the router cannot forward this size. Believe only an MTU that is smaller than
        // the probe and at least the protocol's minimum (IPv4 68, IPv6 1280).
        const std::uint32_t minimum = dst_.is_v6() ? 1280U : 68U;
        if (!opt_.pmtu || r.mtu >= rec.size || r.mtu < minimum) {
            ++ignored_.other;
            return;
        }
        --in_flight_[rec.ttl];
        rec.state = probe_state::superseded;
        rec.kind = r.kind;
        rec.from = r.from;
        rec.mtu = r.mtu;
        if (r.mtu < size_) size_ = r.mtu;
        send_probe(rec.flow, rec.ttl, rec.round);  // the same hop again, at the size that fits
        return;
    }
    --in_flight_[rec.ttl];
    rec.state = probe_state::answered;
    rec.kind = r.kind;
    rec.from = r.from;
    rec.rtt_ns = r.received_ns - rec.sent_ns;
    if (rec.rtt_ns < 0) rec.rtt_ns = 0;  // the wall clock stepped back in between
    rec.reply_ttl = r.reply_ttl;
    rec.mark = r.mark;
    if (r.kind == reply_kind::reached || r.kind == reply_kind::unreachable) {
        if (r.kind == reply_kind::reached) reached_ = true;
        if (stop_hop_ == 0 || rec.ttl < stop_hop_) stop_hop_ = rec.ttl;
    }
}

void tracer::drain(unsigned flow) {
    auto& s = *socks_[flow];
    // Bounded per wake-up, so a flood cannot keep the loop from its deadlines.
    for (int i = 0; i < 512; ++i) {
        reply r;
        switch (s.read(r)) {
            case read_outcome::none: return;
            case read_outcome::matched: on_reply(r); break;
            case read_outcome::foreign: ++ignored_.foreign; break;
            case read_outcome::short_quote: ++ignored_.short_quote; break;
            case read_outcome::other: ++ignored_.other; break;
            case read_outcome::skipped: break;
            case read_outcome::local_mtu: break;
        }
    }
}

void tracer::expire(mono_clock::time_point now) {
    while (expire_idx_ < records_.size() && records_[expire_idx_].deadline <= now) {
        auto& rec = records_[expire_idx_];
        if (rec.state == probe_state::in_flight) {
            rec.state = probe_state::lost;
            --in_flight_[rec.ttl];
        }
        ++expire_idx_;
    }
}

void tracer::advance_windows() {
    // After every batch of replies and timeouts, not after each one: replies that arrive together
    // (a short path answers faster than the window is sent) may include the destination's, and
    // then nothing beyond it goes out.
    const unsigned top = std::min(limit(), 255U);
    unsigned low = 0;
    for (unsigned t = opt_.first_hop; t <= top && low == 0; ++t)
        if (in_flight_[t] != 0) low = t;
    while (open_round_ < next_ttl_.size() && next_ttl_[open_round_] > top) ++open_round_;
    for (std::size_t r = open_round_; r < next_ttl_.size(); ++r)
        extend(static_cast<unsigned>(r), (low != 0 ? low : next_ttl_[r]) + ttl_window - 1);
}

bool tracer::waiting() const noexcept {
    const unsigned top = std::min(limit(), 255U);
    for (std::size_t r = open_round_; r < next_ttl_.size(); ++r)
        if (next_ttl_[r] <= top) return true;  // a round still has TTLs to send
    for (unsigned t = opt_.first_hop; t <= top; ++t)
        if (in_flight_[t] != 0) return true;
    return false;
}

trace_result tracer::run(std::string_view text) {
    const auto start = mono_clock::now();
    std::vector<pollfd> fds;
    for (const auto& s : socks_) fds.push_back(pollfd{s->fd(), POLLIN | POLLERR, 0});
    for (;;) {
        auto now = mono_clock::now();
        if (rounds_sent_ < opt_.rounds && now >= start + opt_.interval * rounds_sent_) {
            send_round();
            now = mono_clock::now();
        }
        while (!pending_.empty()) {
            const auto r = pending_.back();
            pending_.pop_back();
            on_reply(r);
        }
        expire(now);
        advance_windows();
        const bool more_rounds = rounds_sent_ < opt_.rounds;
        if (!more_rounds && !waiting()) break;
        auto wake = more_rounds ? start + opt_.interval * rounds_sent_ : now + opt_.timeout;
        if (expire_idx_ < records_.size()) wake = std::min(wake, records_[expire_idx_].deadline);
        const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(wake - now);
        timespec ts{};
        if (left.count() > 0) {
            ts.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
            ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
        }
        const int n = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
        if (n < 0 && errno != EINTR)
            throw error(std::error_code{errno, std::system_category()}, "trace: poll failed");
        if (n <= 0) continue;
        for (unsigned f = 0; f < fds.size(); ++f)
            if (fds[f].revents != 0) drain(f);
    }
    auto r = build(text);
    r.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(mono_clock::now() - start);
    return r;
}

trace_result tracer::build(std::string_view text) const {
    trace_result r;
    r.target = std::string{text};
    r.destination = dst_;
    r.protocol = opt_.protocol;
    r.method = detail::describe(socks_.front()->method(), dst_.is_v6());
    r.port = opt_.protocol == trace_protocol::icmp ? std::uint16_t{0} : port_;
    r.first_hop = opt_.first_hop;
    r.max_hops = opt_.max_hops;
    r.queries = opt_.queries;
    r.rounds = opt_.rounds;
    r.paths = opt_.paths;
    r.timeout = opt_.timeout;
    r.probe_size = size_;
    r.reached = reached_;
    r.destination_hop = reached_ ? stop_hop_ : 0;
    r.pmtu = opt_.pmtu;
    r.first_mtu = first_mtu_;
    r.send_errors = send_errors_;
    r.ignored = ignored_;

    // Hops to show: up to the destination (or the unreachable hop); otherwise up to one past the
    // last hop that answered.
    unsigned last = stop_hop_;
    if (last == 0) {
        unsigned answered = 0;
        for (const auto& rec : records_)
            if (rec.state == probe_state::answered) answered = std::max<unsigned>(answered, rec.ttl);
        last = std::min(opt_.max_hops, std::max(answered + 1, opt_.first_hop));
    }
    for (unsigned t = opt_.first_hop; t <= last; ++t) {
        trace_hop h;
        h.ttl = t;
        r.hops.push_back(std::move(h));
    }
    // Per flow, per TTL: who answered how often (for the paths).
    std::vector<std::map<unsigned, std::map<ip_address, unsigned>>> seen(socks_.size());
    for (const auto& rec : records_) {
        if (rec.state == probe_state::failed || rec.ttl < opt_.first_hop || rec.ttl > last) continue;
        auto& h = r.hops[rec.ttl - opt_.first_hop];
        if (rec.state == probe_state::superseded) {
            // --pmtu: this hop could not forward the size; the probe went again, smaller.
            if (!r.path_mtu || rec.mtu < *r.path_mtu) r.path_mtu = rec.mtu;
            continue;
        }
        ++h.sent;
        ++r.probes_sent;
        if (rec.state != probe_state::answered) continue;
        ++h.received;
        const std::chrono::nanoseconds rtt{rec.rtt_ns};
        h.stats.add(rtt);
        h.rtt.record(rtt);
        if (rec.kind == reply_kind::unreachable) h.unreachable = std::string{rec.mark};
        // The way back, from the replies of the hop itself: an "unreachable" comes from the router
        // before the hop that refused (it never went further), so its distance is not this TTL's.
        if (rec.reply_ttl > 0 && rec.kind != reply_kind::unreachable) {
            const int initial = rec.reply_ttl <= 64 ? 65 : rec.reply_ttl <= 128 ? 129 : 256;
            h.return_hops = static_cast<unsigned>(initial - rec.reply_ttl);
        }
        auto it = std::find_if(h.responders.begin(), h.responders.end(),
                               [&](const trace_responder& x) { return x.address == rec.from; });
        if (it == h.responders.end()) {
            trace_responder fresh;
            fresh.address = rec.from;
            h.responders.push_back(std::move(fresh));
            it = h.responders.end() - 1;
        }
        ++it->replies;
        if (std::find(it->flows.begin(), it->flows.end(), rec.flow) == it->flows.end())
            it->flows.push_back(rec.flow);
        ++seen[rec.flow][rec.ttl][rec.from];
    }
    for (auto& h : r.hops)
        for (auto& resp : h.responders) std::sort(resp.flows.begin(), resp.flows.end());

    // --pmtu: the hop that said "too big" is the one whose address answered time-exceeded at the
    // lowest TTL (the TTL check comes before the MTU check in a router).
    if (opt_.pmtu) {
        for (const auto& rec : records_) {
            if (rec.state != probe_state::superseded) continue;
            unsigned hop = 0;
            for (const auto& h : r.hops)
                for (const auto& resp : h.responders)
                    if (resp.address == rec.from && hop == 0) hop = h.ttl;
            if (hop == 0) hop = rec.ttl;  // it never answered on its own: at most this far
            if (r.mtu_hop == 0 || hop < r.mtu_hop) r.mtu_hop = hop;
            if (hop >= opt_.first_hop && hop <= last) {
                auto& h = r.hops[hop - opt_.first_hop];
                if (!h.mtu || rec.mtu < *h.mtu) h.mtu = rec.mtu;
            }
        }
        if (reached_) r.path_mtu = size_;
    }

    // Verdicts: a hop is judged against the hops after it.
    for (std::size_t i = 0; i < r.hops.size(); ++i) {
        auto& h = r.hops[i];
        double later_best_loss = 2.0;  // the lowest loss of any later hop that answered
        for (std::size_t j = i + 1; j < r.hops.size(); ++j)
            if (r.hops[j].received > 0) later_best_loss = std::min(later_best_loss, r.hops[j].loss());
        if (h.ttl == r.destination_hop && reached_) {
            h.verdict = hop_verdict::destination;
        } else if (!h.unreachable.empty()) {
            h.verdict = hop_verdict::unreachable;
        } else if (h.received == 0) {
            h.verdict = later_best_loss <= 1.0 ? hop_verdict::does_not_answer : hop_verdict::no_reply;
        } else if (later_best_loss <= 1.0 && h.loss() > later_best_loss) {
            h.verdict = hop_verdict::rate_limits;
        } else {
            h.verdict = hop_verdict::answers;
        }
        if (h.return_hops && *h.return_hops != h.ttl) r.asymmetric = true;
    }

    // Paths: each flow's most frequent responder per TTL; flows with the same sequence share one.
    for (unsigned f = 0; f < socks_.size(); ++f) {
        trace_path p;
        for (unsigned t = opt_.first_hop; t <= last; ++t) {
            std::optional<ip_address> best;
            unsigned best_n = 0;
            if (auto it = seen[f].find(t); it != seen[f].end())
                for (const auto& [addr, n] : it->second)
                    if (n > best_n) {
                        best = addr;
                        best_n = n;
                    }
            p.hops.push_back(best);
        }
        const auto dst_ip = dst_.ip();
        p.reached = std::any_of(p.hops.begin(), p.hops.end(),
                                [&](const auto& a) { return a && dst_ip && *a == *dst_ip; });
        auto same = std::find_if(r.routes.begin(), r.routes.end(),
                                 [&](const trace_path& q) { return q.hops == p.hops; });
        if (same != r.routes.end()) {
            same->flows.push_back(f);
        } else {
            p.flows.push_back(f);
            r.routes.push_back(std::move(p));
        }
    }
    return r;
}

// Reverse DNS for every responder, in parallel (each lookup is bounded by the resolver's own
// timeouts), at most 64 names.
void resolve_names(trace_result& r) {
    std::vector<ip_address> addrs;
    for (const auto& h : r.hops)
        for (const auto& resp : h.responders)
            if (std::find(addrs.begin(), addrs.end(), resp.address) == addrs.end() && addrs.size() < 64)
                addrs.push_back(resp.address);
    struct named {
        std::string name;
        std::chrono::nanoseconds took{0};
    };
    std::vector<std::future<named>> jobs;
    for (const auto& a : addrs) {
        jobs.push_back(std::async(std::launch::async, [a] {
            named n;
            std::error_code ec;
            const auto sa = socket_address::from_numeric(a.to_string(), 0, ec);
            std::array<char, NI_MAXHOST> host{};
            const stopwatch sw;
            if (!ec &&
                ::getnameinfo(sa.data(), sa.size(), host.data(), host.size(), nullptr, 0, NI_NAMEREQD) == 0)
                n.name = host.data();
            n.took = sw.elapsed();
            return n;
        }));
    }
    for (std::size_t i = 0; i < addrs.size(); ++i) {
        const auto n = jobs[i].get();
        for (auto& h : r.hops)
            for (auto& resp : h.responders)
                if (resp.address == addrs[i]) {
                    resp.name = n.name;
                    resp.lookup_time = n.took;
                }
    }
}

}  // namespace

void check_trace_options(const trace_options& opt) {
    if (opt.first_hop < 1 || opt.max_hops > 255 || opt.first_hop > opt.max_hops)
        throw error(
            errc::bad_argument,
            fmt::format("trace: --first-hop {} and --max-hops {}: give 1 <= --first-hop <= --max-hops <= 255",
                        opt.first_hop, opt.max_hops));
    if (opt.paths < 1 || opt.paths > max_trace_paths || opt.queries < 1 || opt.rounds < 1)
        throw error(
            errc::bad_argument,
            fmt::format("trace: paths must be 1 to {}, queries and rounds at least 1", max_trace_paths));
    const std::uint64_t probes =
        std::uint64_t{opt.rounds} * opt.queries * opt.paths * (opt.max_hops - opt.first_hop + 1);
    if (probes > max_trace_probes)
        throw error(
            errc::bad_argument,
            fmt::format(
                "trace: {} rounds x {} queries x {} paths x {} hops is {} probes; at most {} in one run",
                opt.rounds, opt.queries, opt.paths, opt.max_hops - opt.first_hop + 1, probes,
                max_trace_probes));
    if (opt.protocol == trace_protocol::udp &&
        std::uint32_t{opt.port == 0 ? 33434U : opt.port} + opt.paths - 1 > 65535)
        throw error(errc::bad_argument,
                    fmt::format("trace: --port {} with --paths {}: flow i uses port + i, which "
                                "must stay at most 65535",
                                opt.port, opt.paths));
    if (opt.pmtu && opt.protocol == trace_protocol::tcp)
        throw error(errc::bad_argument,
                    "trace: --pmtu needs --proto udp or icmp (a SYN carries no payload to size)");
    if (opt.timeout <= std::chrono::nanoseconds{0} || opt.interval <= std::chrono::nanoseconds{0})
        throw error(errc::bad_argument, "trace: timeout and interval must be positive");
}

trace_result run_trace(const socket_address& target, std::string_view target_text, const trace_options& opt) {
    check_trace_options(opt);
    tracer t{target, opt};
    auto r = t.run(target_text);
    if (opt.resolve) resolve_names(r);
    return r;
}

trace_result run_trace(const socket_address& target, std::string_view target_text, const trace_options& opt,
                       std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return run_trace(target, target_text, opt); });
}

}  // namespace nettool
