// The responder. TCP sessions run on Asio, one io_context on one thread. UDP has a thread of its
// own that blocks in recvmmsg (MSG_WAITFORONE) and answers with sendmmsg: two system calls per
// batch, so the responder is not the bottleneck of a UDP test; while a stream arrives faster than
// it wakes, it polls instead of blocking (responder_config::udp_poll). The UDP session table is shared
// between the two threads under udp_mu, taken once per batch.
//
// The guards of docs/PROTOCOL.md ("What the responder guards against") live here: the session
// limits overall and per source (admit_source), the watchdog's handshake, idle and progress
// rules (tcp_session::check), buffers that grow with what arrives (echo_read, sink_read), the
// accept back-off (accept), the log budget (log_session), and UDP cookies that are a SipHash MAC
// over the client's address and the session's id (cookie_for, on_udp_batch).

#include <nettool/probe/responder.hpp>

#include <nettool/core/clock.hpp>
#include <nettool/core/error.hpp>
#include <nettool/probe/protocol.hpp>

#include "core/siphash.hpp"
#include "net/socket.hpp"
#include "probe/udp_sequence.hpp"

#include <fmt/format.h>
#include <asio.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>

namespace nettool {

namespace {

using asio::ip::tcp;
using asio::ip::udp;
using namespace std::chrono_literals;

// Buffers: an echo message's starts at this size (or the message's, if smaller) and doubles as
// bytes arrive; a sink's starts here and doubles while reads fill it, up to sink_buffer_max. A
// source session sends from one payload shared by all.
constexpr std::size_t first_buffer = 16 * 1024;
constexpr std::size_t sink_buffer_max = 256 * 1024;
constexpr std::size_t source_payload_size = 256 * 1024;

// Accept back-off when descriptors or memory run out: 50 ms, doubling, at most 1 s.
constexpr std::chrono::milliseconds accept_backoff_first{50};
constexpr std::chrono::milliseconds accept_backoff_max{1'000};

constexpr std::chrono::milliseconds watchdog_period{250};

detail::siphash_key random_key() {
    std::array<std::byte, 16> k{};
    if (::getrandom(k.data(), k.size(), 0) != static_cast<ssize_t>(k.size())) {
        std::random_device rd;
        for (auto& b : k) b = static_cast<std::byte>(rd());
    }
    return detail::siphash_key::from_bytes(k);
}

// A client address as 16 bytes: IPv6 as is, IPv4 (and IPv4-mapped IPv6) as ::ffff:a.b.c.d, so a
// client is the same whether the responder's sockets are IPv4 or dual-stack.
using address_bytes = std::array<std::byte, 16>;

address_bytes to_bytes(const asio::ip::address& a) noexcept {
    const auto v6 = a.is_v4() ? asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4()) : a.to_v6();
    const auto raw = v6.to_bytes();
    address_bytes out{};
    std::memcpy(out.data(), raw.data(), out.size());
    return out;
}

address_bytes to_bytes(const sockaddr_storage& ss) noexcept {
    address_bytes out{};
    if (ss.ss_family == AF_INET) {
        sockaddr_in sin{};
        std::memcpy(&sin, &ss, sizeof sin);
        out[10] = std::byte{0xff};
        out[11] = std::byte{0xff};
        std::memcpy(out.data() + 12, &sin.sin_addr, 4);
    } else if (ss.ss_family == AF_INET6) {
        sockaddr_in6 sin6{};
        std::memcpy(&sin6, &ss, sizeof sin6);
        std::memcpy(out.data(), &sin6.sin6_addr, 16);
    }
    return out;
}

bool is_v4_mapped(const address_bytes& a) noexcept {
    for (std::size_t i = 0; i < 10; ++i)
        if (a[i] != std::byte{0}) return false;
    return a[10] == std::byte{0xff} && a[11] == std::byte{0xff};
}

// The source a per-source limit counts: an IPv4 address, or an IPv6 /64 (what one host or site
// is usually given, so a host cannot dodge the limit by walking its own prefix).
address_bytes source_of(const address_bytes& client) noexcept {
    if (is_v4_mapped(client)) return client;
    address_bytes prefix{};
    std::memcpy(prefix.data(), client.data(), 8);
    return prefix;
}

std::string source_text(const address_bytes& source) {
    asio::ip::address_v6::bytes_type raw{};
    std::memcpy(raw.data(), source.data(), raw.size());
    const asio::ip::address_v6 v6{raw};
    if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
    return v6.to_string() + "/64";
}

// The socket's drop counter (datagrams its full receive buffer turned away, and the like): the
// kernel's sk_drops, 32 bits that wrap, read through SO_MEMINFO.
std::uint32_t socket_drops(int fd) noexcept {
    std::array<std::uint32_t, SK_MEMINFO_VARS> m{};
    socklen_t len = sizeof m;
    if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, m.data(), &len) != 0 || len <= SK_MEMINFO_DROPS * 4) return 0;
    return m[SK_MEMINFO_DROPS];
}

bool out_of_resources(const asio::error_code& ec) noexcept {
    if (ec.category() != asio::error::get_system_category()) return false;
    const int v = ec.value();
    return v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM;
}

// Per-session state of a UDP stream or echo session, keyed by cookie.
struct udp_session {
    proto::mode mode = proto::mode::udp_echo;
    std::uint64_t id = 0;  // what the cookie's MAC covers with the client's address
    std::uint64_t last_activity_ns = 0;
    std::uint64_t echoes = 0;
    // Stream statistics (udp_sink): the sequence counter exists for sink sessions only.
    std::optional<detail::udp_sequence_counter> sequence;
    std::uint64_t bytes = 0;
    std::uint64_t first_arrival_ns = 0;
    std::uint64_t last_arrival_ns = 0;
    // Receiver drops (flag_receiver_drops): the shared socket's counter when the session opened,
    // and the receive buffers the session's datagrams came in (fewer than datagrams with GRO).
    bool report_drops = false;
    std::uint32_t drops_at_open = 0;
    std::uint64_t buffers = 0;
    // Per-interval counts (flag_interval_counts), indexed by the datagram header's interval. The
    // table grows (doubling, from 16) as the sender's intervals arrive, up to
    // max_report_intervals entries: memory in proportion to what the client sent.
    bool count_intervals = false;
    std::vector<proto::udp_interval_counts> intervals;

    // The counter counts dropped buffers, and a buffer that GRO coalesced holds several datagrams:
    // scale by this session's datagrams per buffer (1 without GRO, so exact there).
    std::uint64_t dropped_datagrams(std::uint32_t drops_now) const noexcept {
        const std::uint64_t drops = static_cast<std::uint32_t>(drops_now - drops_at_open);
        const std::uint64_t received = sequence ? sequence->received() : 0;
        if (buffers == 0 || buffers >= received) return drops;
        return (drops * received + buffers / 2) / buffers;
    }

    void on_stream(const proto::udp_header& h, std::size_t len, std::uint64_t now, bool new_buffer) noexcept {
        if (!sequence) return;
        if (new_buffer) ++buffers;
        bytes += len;
        if (sequence->received() == 0) first_arrival_ns = now;
        last_arrival_ns = now;
        const auto a = sequence->on_datagram(h.seq, static_cast<std::int64_t>(now - h.send_ns));
        if (count_intervals && h.interval < proto::max_report_intervals) count_interval(h.interval, a);
    }

    void count_interval(std::size_t i, detail::udp_sequence_counter::arrival a) noexcept {
        if (i >= intervals.size()) {
            try {
                intervals.resize(std::min(proto::max_report_intervals, std::max<std::size_t>({16, i + 1, 2 * intervals.size()})));
            } catch (const std::bad_alloc&) {
                return;  // out of memory: the interval goes uncounted, the totals stay right
            }
        }
        auto bump = [](std::uint32_t& n) {
            if (n != UINT32_MAX) ++n;
        };
        auto& c = intervals[i];
        bump(c.received);
        if (a == detail::udp_sequence_counter::arrival::duplicate) bump(c.duplicates);
        if (a == detail::udp_sequence_counter::arrival::out_of_order) bump(c.out_of_order);
    }

    proto::udp_report snapshot() const noexcept {
        proto::udp_report r;
        if (!sequence) return r;
        r.received = sequence->received();
        r.duplicates = sequence->duplicates();
        r.out_of_order = sequence->out_of_order();
        r.max_displacement = sequence->max_displacement();
        r.highest_seq = sequence->next();
        r.bytes = bytes;
        r.jitter_ns = static_cast<std::uint64_t>(sequence->jitter_ns());
        r.active_ns = last_arrival_ns - first_arrival_ns;
        return r;
    }
};

// What one source (an IPv4 address, an IPv6 /64) holds: its sessions now, and its bucket of new
// sessions (max_session_rate_per_source a second, as many at once).
struct source_state {
    std::size_t active = 0;
    double tokens = 0;
    mono_clock::time_point refilled{};
};

// Keyed with the process's secret, so nobody can choose addresses that pile into one bucket.
struct address_hash {
    detail::siphash_key key;
    std::size_t operator()(const address_bytes& a) const noexcept {
        return static_cast<std::size_t>(detail::siphash24(key, a));
    }
};

enum class admission { ok, too_many, too_fast };

class tcp_session;

}  // namespace

struct responder::impl {
    responder_config cfg;
    std::atomic<std::uint64_t> sessions{0}, rejected{0}, refused_busy{0}, dropped_idle{0}, dropped_slow{0};
    std::atomic<std::uint64_t> accept_pauses{0};
    std::atomic<std::uint64_t> udp_datagrams{0}, udp_dropped{0}, udp_wrong_source{0}, udp_replies{0}, udp_polls{0};
    // For `serve --metrics`: relaxed increments, one per read or write completion (TCP) or per
    // batch (UDP); nobody orders anything by them.
    std::array<std::atomic<std::uint64_t>, 6> mode_sessions{};  // by proto::mode, 1..6
    std::atomic<std::uint64_t> tcp_in{0}, tcp_out{0}, udp_in{0}, udp_out{0};
    void tcp_received(std::size_t n) noexcept { tcp_in.fetch_add(n, std::memory_order_relaxed); }
    void tcp_sent(std::size_t n) noexcept { tcp_out.fetch_add(n, std::memory_order_relaxed); }
    std::size_t active = 0;  // io thread only
    std::uint64_t next_session_id = 1;
    // The per-process secret of the UDP cookies' MAC and the source table's hash; set before
    // either thread starts, read-only afterwards.
    const detail::siphash_key key = random_key();
    std::unordered_map<address_bytes, source_state, address_hash> sources{64, address_hash{key}};  // io thread
    std::mutex udp_mu;  // guards udp_sessions and every udp_session's state
    std::unordered_map<std::uint64_t, std::shared_ptr<udp_session>> udp_sessions;
    std::atomic<bool> udp_stop{false};
    std::vector<std::weak_ptr<tcp_session>> live;  // for the watchdog; io thread only
    std::uint16_t bound_port = 0;
    asio::ip::tcp::endpoint accept_peer;  // filled by the pending accept; io thread only
    bool any_address = false;
    bool v6 = false;

    // The accept back-off (io thread only): 0 while accepts succeed.
    std::chrono::milliseconds accept_backoff{0};
    std::uint64_t paused_accepts = 0;  // in the current episode, for the log line that ends it

    // The log budget (io thread only): session lines in the current second, and what was left out.
    mono_clock::time_point log_window_start = mono_clock::now();
    std::size_t log_in_window = 0;
    std::uint64_t log_suppressed = 0;
    std::uint64_t log_suppressed_busy = 0;

    // Source sessions all send the same bytes; drained bytes go nowhere (io thread only).
    const std::vector<std::byte> source_payload = std::vector<std::byte>(source_payload_size, std::byte{0x5a});
    std::vector<std::byte> discard = std::vector<std::byte>(64 * 1024);

    std::mutex stop_mu;
    std::condition_variable stop_cv;
    bool stopped = false;

    // UDP batch buffers (io thread only).
    static constexpr std::size_t batch = 64;
    static constexpr std::size_t slot = 65536;
    std::vector<std::byte> rx_buf = std::vector<std::byte>(batch * slot);
    std::array<mmsghdr, batch> rx_msgs{};
    std::array<iovec, batch> rx_iov{};
    std::array<sockaddr_storage, batch> rx_from{};
    // Room for the UDP_GRO segment size the kernel reports when it hands over coalesced datagrams,
    // and for the address each datagram came to (IP_PKTINFO / IPV6_PKTINFO).
    static constexpr std::size_t control_space = CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(in6_pktinfo));
    std::vector<char> rx_control = std::vector<char>(batch * control_space);
    std::array<mmsghdr, batch> tx_msgs{};
    std::array<iovec, batch> tx_iov{};
    // Each reply's source: the address its request came to. A socket bound to every address
    // would otherwise answer from the address the route back prefers (on loopback 127.0.0.1 for
    // a request to 127.0.0.2; on a host with several addresses its primary one), which a
    // client's connected socket drops.
    static constexpr std::size_t tx_control_space = CMSG_SPACE(sizeof(in6_pktinfo));
    std::vector<char> tx_control = std::vector<char>(batch * tx_control_space);

    // The UDP socket, outside Asio: the UDP thread alone reads it. Asio registers every socket it
    // opens with its epoll set, so each datagram would also wake the io thread for nothing (one
    // epoll_wait per datagram or two, measured with strace during a request/response run).
    detail::unique_fd udp_fd;

    // Declared last: destroyed first, so handlers (and the sessions they own) go before the
    // state above that session destructors touch.
    asio::io_context io{1};  // one thread runs it: no locking, fewer reactor wake-ups
    tcp::acceptor acceptor{io};
    asio::steady_timer watchdog{io};
    asio::steady_timer accept_timer{io};
    std::thread thread;
    std::thread udp_thread;

    void log(std::string_view line) {
        if (cfg.log) cfg.log(line);
    }

    /// Whether a session line may be logged now; if not, it is counted for the second's summary.
    bool log_session(bool busy) noexcept {
        if (!cfg.log) return false;
        if (log_in_window < cfg.log_lines_per_second) {
            ++log_in_window;
            return true;
        }
        ++log_suppressed;
        if (busy) ++log_suppressed_busy;
        return false;
    }
    void roll_log_window(mono_clock::time_point now) {
        if (log_suppressed != 0)
            log(fmt::format("{} more sessions ended ({} refused busy)", log_suppressed, log_suppressed_busy));
        log_suppressed = log_suppressed_busy = 0;
        log_in_window = 0;
        log_window_start = now;
    }

    /// The UDP cookie of session id for a client at address: SipHash-2-4 under the process's key
    /// of the 16 address bytes and the id (big-endian).
    std::uint64_t cookie_for(const address_bytes& client, std::uint64_t id) const noexcept {
        std::array<std::byte, 24> in{};
        std::memcpy(in.data(), client.data(), client.size());
        for (std::size_t i = 0; i < 8; ++i) in[16 + i] = static_cast<std::byte>(id >> (56 - 8 * i));
        return detail::siphash24(key, in);
    }

    /// Takes a slot for a new session from source if its limits allow.
    admission admit_source(const address_bytes& source, mono_clock::time_point now) {
        const auto [it, fresh] = sources.try_emplace(source);
        auto& s = it->second;
        const auto rate = static_cast<double>(cfg.max_session_rate_per_source);
        s.tokens = fresh ? rate : std::min(rate, s.tokens + std::chrono::duration<double>(now - s.refilled).count() * rate);
        s.refilled = now;
        if (s.active >= cfg.max_sessions_per_source) return admission::too_many;
        if (s.tokens < 1.0) return admission::too_fast;
        s.tokens -= 1.0;
        ++s.active;
        return admission::ok;
    }
    void release_source(const address_bytes& source) noexcept {
        const auto it = sources.find(source);
        if (it != sources.end() && it->second.active > 0) --it->second.active;
    }
    /// Forgets sources with no session whose bucket has refilled: they are as good as new.
    void forget_idle_sources(mono_clock::time_point now) {
        std::erase_if(sources, [&](const auto& kv) { return kv.second.active == 0 && now - kv.second.refilled >= 1s; });
    }

    void accept();
    void pause_accepting(const asio::error_code& ec);
    void udp_loop();
    void on_udp_batch(int n, std::size_t& replies);
    void set_reply_source(msghdr& h, std::size_t i, const cmsghdr* to) noexcept;
    void tick();
};

namespace {

class tcp_session : public std::enable_shared_from_this<tcp_session> {
public:
    enum class verdict { keep, no_hello, idle, slow };

    // Nothing here formats, logs or allocates beyond the session itself: the hello that follows
    // must be answered as fast as an echo (the peer's name is only written out when logged).
    tcp_session(responder::impl& r, tcp::socket s, const tcp::endpoint& peer)
        : r_(r), socket_(std::move(s)), id_(r.next_session_id++), peer_(peer) {
        // TCP_NODELAY is inherited from the listening socket (bind_pair sets it there).
        started_ = mono_clock::now();
        last_activity_ = started_;
    }
    ~tcp_session() {
        if (counted_) {
            --r_.active;
            r_.release_source(source_);
        }
        if (cookie_ != 0) {
            // Once out of the table under the lock, the UDP thread no longer touches udp_.
            std::lock_guard udp_lock{r_.udp_mu};
            r_.udp_sessions.erase(cookie_);
        }
        if (hello_ok_ && r_.log_session(false)) {
            const double secs = std::chrono::duration<double>(mono_clock::now() - started_).count();
            std::string what;
            switch (hello_.m) {
                case proto::mode::echo:
                    what = fmt::format("{} messages of {} B", messages_, hello_.message_size);
                    break;
                case proto::mode::sink: what = fmt::format("{} B received", bytes_); break;
                case proto::mode::source: what = fmt::format("{} B sent", bytes_); break;
                case proto::mode::connect_only: what = "connect only"; break;
                case proto::mode::udp_echo:
                    what = fmt::format("{} datagrams echoed", udp_ ? udp_->echoes : 0);
                    break;
                case proto::mode::udp_sink:
                    what = fmt::format("{} datagrams received", udp_ && udp_->sequence ? udp_->sequence->received() : 0);
                    break;
            }
            r_.log(fmt::format("session {} {} {}: {}, {:.3f} s{}", id_, peer(), proto::to_string(hello_.m),
                               what, secs, end_reason_.empty() ? "" : ", " + end_reason_));
        }
    }

    // With TCP_DEFER_ACCEPT the hello is usually waiting when the session starts: read it and
    // answer at once, in this handler, rather than queueing a read completion behind others.
    // The fast path is three system calls after accept: recv, send, and the read that follows.
    void start() {
        const ssize_t n = ::recv(socket_.native_handle(), head_.data(), head_.size(), MSG_DONTWAIT);
        if (n > 0) r_.tcp_received(static_cast<std::size_t>(n));
        if (n == static_cast<ssize_t>(head_.size())) {
            on_hello();
            return;
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return;  // closed before a hello: a connect-only probe or a scanner
        read_hello(n > 0 ? static_cast<std::size_t>(n) : 0);
    }

    // The watchdog's rules, every 250 ms: a hello within the handshake timeout; while a transfer
    // is in flight, or bytes the responder wrote wait for the client's acknowledgement, at least
    // min_progress_rate bytes a second over the last progress window; otherwise some traffic
    // (TCP, or for UDP sessions UDP) within the idle timeout.
    verdict check(mono_clock::time_point now) {
        if (!hello_ok_) return now - started_ > r_.cfg.handshake_timeout ? verdict::no_hello : verdict::keep;
        // What was written but not yet acknowledged (SIOCOUTQ): an echo or a source download the
        // kernel took but a client that stopped reading never received. While any waits, the
        // session is still transferring.
        int queued = 0;
        if (::ioctl(socket_.native_handle(), SIOCOUTQ, &queued) != 0 || queued < 0) queued = 0;
        unacked_ = static_cast<std::uint64_t>(queued);
        if (!in_flight_ && unacked_ > 0) {
            begin_flight(now);
            draining_ = true;
        } else if (in_flight_ && draining_ && unacked_ == 0) {
            end_flight();
        }
        if (in_flight_) return r_.cfg.min_progress_rate != 0 ? progress(now) : verdict::keep;
        auto last = last_activity_;
        if (udp_) {
            std::lock_guard lock{r_.udp_mu};
            const auto udp_last = mono_clock::time_point{std::chrono::nanoseconds{udp_->last_activity_ns}};
            if (udp_last > last) last = udp_last;
        }
        return now - last > r_.cfg.idle_timeout ? verdict::idle : verdict::keep;
    }
    // Bytes moved over the last window (the span from the newest sample at least a window old to
    // now): at least min_progress_rate a second of it, or the session is too slow. Bytes read
    // count when read, bytes written when the client acknowledged them. A sliding window: a
    // burst at the start of a transfer buys no silence after it.
    verdict progress(mono_clock::time_point now) {
        const auto& cfg = r_.cfg;
        const progress_sample* base = nullptr;
        for (std::size_t k = 0; k < std::min(sampled_, progress_ring) && base == nullptr; ++k) {
            const auto& sample = samples_[(sampled_ - 1 - k) % progress_ring];
            if (now - sample.at >= cfg.progress_window) base = &sample;
        }
        if (base != nullptr) {
            last_window_bytes_ = delivered() - base->delivered;
            const auto needed = static_cast<std::uint64_t>(cfg.min_progress_rate) *
                                static_cast<std::uint64_t>(cfg.progress_window.count()) / 1000;
            if (last_window_bytes_ < needed) return verdict::slow;
        }
        const auto period = std::max<std::chrono::nanoseconds>(watchdog_period, cfg.progress_window / 40);
        if (now - samples_[(sampled_ - 1) % progress_ring].at >= period) record(now);
        return verdict::keep;
    }
    /// What the last window moved, for the log line of a session reset as too slow.
    std::uint64_t window_bytes() const noexcept { return last_window_bytes_; }

    // Ends the session. reset: abortively (RST), discarding what is queued to send -- for a peer
    // that stopped reading, whose unsent bytes would otherwise outlive the session in the kernel.
    void drop(std::string reason, bool reset = false) {
        end_reason_ = std::move(reason);
        asio::error_code ignored;
        if (reset) socket_.set_option(asio::socket_base::linger(true, 0), ignored);
        socket_.close(ignored);
    }
    bool open() const { return socket_.is_open(); }

private:
    void touch() { last_activity_ = mono_clock::now(); }

    // A transfer starts: the progress rule applies until it ends.
    void begin_flight(mono_clock::time_point now = mono_clock::now()) {
        draining_ = false;
        if (in_flight_) return;
        in_flight_ = true;
        sampled_ = 0;
        record(now);
    }
    // The transfer is over as far as the session's code goes; if the client has not yet
    // acknowledged all of it, the watchdog keeps it in flight until it has.
    void end_flight() {
        in_flight_ = false;
        draining_ = false;
        touch();
    }
    // Bytes read, plus bytes written and acknowledged (as of the watchdog's last look).
    std::uint64_t delivered() const noexcept { return moved_ > unacked_ ? moved_ - unacked_ : 0; }
    void record(mono_clock::time_point now) noexcept {
        samples_[sampled_ % progress_ring] = {now, delivered()};
        ++sampled_;
    }

    std::string peer() const {
        if (peer_.port() == 0) return "?";
        auto a = peer_.address();
        if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
        return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), peer_.port())
                         : fmt::format("{}:{}", a.to_string(), peer_.port());
    }

    void read_hello(std::size_t have) {
        auto self = shared_from_this();
        asio::async_read(socket_, asio::buffer(head_) + have, [self](asio::error_code ec, std::size_t n) {
            self->r_.tcp_received(n);
            if (ec) return;  // closed before a hello: a connect-only probe or a scanner
            self->on_hello();
        });
    }

    void on_hello() {
        touch();
        const auto d = proto::decode_hello(head_);
        proto::hello_reply reply;
        if (d.status == proto::decode_status::bad_magic || d.status == proto::decode_status::truncated) {
            ++r_.rejected;
            drop("not a nettool hello");
            return;
        }
        hello_ = d.value;
        client_ = to_bytes(peer_.address());
        source_ = source_of(client_);
        admission refused = admission::ok;  // which per-source limit refused it, for the log
        if (d.status == proto::decode_status::bad_version) {
            reply.st = proto::status::bad_version;
        } else if (d.status != proto::decode_status::ok) {
            reply.st = proto::status::bad_mode;
        } else if (!proto::params_in_range(hello_)) {
            reply.st = proto::status::bad_param;
        } else if (r_.active >= r_.cfg.max_sessions) {
            reply.st = proto::status::busy;
        } else {
            refused = r_.admit_source(source_, last_activity_);
            if (refused == admission::ok)
                counted_ = true;
            else
                reply.st = proto::status::busy;
        }
        if (reply.st != proto::status::ok) {
            ++r_.rejected;
            const bool busy = reply.st == proto::status::busy;
            if (busy) ++r_.refused_busy;
            if (r_.log_session(busy)) {
                std::string limit;
                if (refused == admission::too_many)
                    limit = fmt::format(" ({} holds its maximum of {} sessions)", source_text(source_),
                                        r_.cfg.max_sessions_per_source);
                else if (refused == admission::too_fast)
                    limit = fmt::format(" ({} opens more than {} sessions a second)", source_text(source_),
                                        r_.cfg.max_session_rate_per_source);
                else if (busy)
                    limit = fmt::format(" (all {} sessions taken)", r_.cfg.max_sessions);
                r_.log(fmt::format("session {} {} rejected: {}{}", id_, peer(), proto::to_string(reply.st), limit));
            }
            send_reply_and_close(reply);
            return;
        }
        hello_ok_ = true;
        ++r_.active;
        ++r_.sessions;
        // decode_hello accepted the mode: 1..6.
        r_.mode_sessions[static_cast<std::size_t>(hello_.m) - 1].fetch_add(1, std::memory_order_relaxed);
        if (hello_.m == proto::mode::udp_echo || hello_.m == proto::mode::udp_sink) {
            udp_ = std::make_shared<udp_session>();
            udp_->mode = hello_.m;
            if (hello_.m == proto::mode::udp_sink) udp_->sequence.emplace();
            udp_->last_activity_ns = mono_now_ns();
            udp_->id = id_;
            std::lock_guard lock{r_.udp_mu};
            cookie_ = r_.cookie_for(client_, udp_->id);
            while (cookie_ == 0 || r_.udp_sessions.count(cookie_) != 0) {  // 2^-64: take another id
                udp_->id = r_.next_session_id++;
                cookie_ = r_.cookie_for(client_, udp_->id);
            }
            r_.udp_sessions.emplace(cookie_, udp_);
            reply.cookie = cookie_;
            if (hello_.m == proto::mode::udp_sink && (hello_.flags & proto::flag_receiver_drops) != 0) {
                reply.flags |= proto::flag_receiver_drops;
                udp_->report_drops = true;
                udp_->drops_at_open = socket_drops(r_.udp_fd.get());
            }
            if (hello_.m == proto::mode::udp_sink && (hello_.flags & proto::flag_interval_counts) != 0) {
                reply.flags |= proto::flag_interval_counts;
                udp_->count_intervals = true;
            }
        }
        proto::encode(reply, reply_);
        // An empty send buffer takes the 16 bytes at once; Asio writes whatever is left.
        const ssize_t sent = ::send(socket_.native_handle(), reply_.data(), reply_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return;  // peer gone
        const auto done = static_cast<std::size_t>(sent > 0 ? sent : 0);
        r_.tcp_sent(done);
        if (done == reply_.size()) {
            run_mode();
            return;
        }
        auto self = shared_from_this();
        asio::async_write(socket_, asio::buffer(reply_) + done, [self](asio::error_code ec, std::size_t n) {
            self->r_.tcp_sent(n);
            if (ec) return;
            self->run_mode();
        });
    }

    void send_reply_and_close(const proto::hello_reply& reply) {
        proto::encode(reply, reply_);
        auto self = shared_from_this();
        asio::async_write(socket_, asio::buffer(reply_), [self](asio::error_code, std::size_t n) {
            self->r_.tcp_sent(n);
            asio::error_code ignored;
            self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
            self->socket_.close(ignored);
        });
    }

    void run_mode() {
        asio::error_code ignored;
        switch (hello_.m) {
            case proto::mode::echo:
                // What the client has sent, not what it declared: the buffer grows as bytes come.
                buf_.resize(std::min<std::size_t>(hello_.message_size, first_buffer));
                socket_.non_blocking(true, ignored);  // echo_reply's send must never block
                echo_read();
                break;
            case proto::mode::sink:
                buf_.resize(first_buffer);
                sink_read();
                break;
            case proto::mode::source:
                source_until_ = mono_clock::now() + std::chrono::milliseconds{hello_.duration_ms};
                begin_flight();
                source_write();
                break;
            case proto::mode::connect_only:
                socket_.shutdown(tcp::socket::shutdown_both, ignored);
                socket_.close(ignored);
                break;
            case proto::mode::udp_echo:
            case proto::mode::udp_sink: control_read(); break;
        }
    }

    // Echo: read the message into a buffer that doubles (up to the message's size) when full,
    // then write it back; the next message reuses the buffer.
    void echo_read() {
        if (filled_ == buf_.size()) buf_.resize(std::min<std::size_t>(hello_.message_size, buf_.size() * 2));
        auto self = shared_from_this();
        socket_.async_read_some(asio::buffer(buf_.data() + filled_, buf_.size() - filled_),
                                [self](asio::error_code ec, std::size_t n) {
                                    self->r_.tcp_received(n);
                                    if (ec) return;
                                    if (self->filled_ == 0) self->begin_flight();
                                    self->filled_ += n;
                                    self->moved_ += n;
                                    self->touch();
                                    if (self->filled_ < self->hello_.message_size)
                                        self->echo_read();
                                    else
                                        self->echo_reply();
                                });
    }

    // The whole message goes back from the read's own handler with one non-blocking send, as a
    // plain recv/send loop answers; only what the kernel cannot take at once goes through Asio
    // (echo_write). An async write completes through the scheduler's queue, and draining it cost
    // a second epoll_wait per message (strace of a request/response run: 2 per echo, now 1).
    void echo_reply() {
        asio::error_code ec;
        const std::size_t n = socket_.write_some(asio::buffer(buf_.data(), filled_), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
            echo_write(0);
            return;
        }
        r_.tcp_sent(n);
        if (ec) return;
        moved_ += n;
        if (n < filled_)
            echo_write(n);
        else
            echo_done();
    }

    void echo_done() {
        ++messages_;
        bytes_ += filled_;
        filled_ = 0;
        end_flight();
        echo_read();
    }

    void echo_write(std::size_t done) {
        auto self = shared_from_this();
        socket_.async_write_some(asio::buffer(buf_.data() + done, filled_ - done),
                                 [self, done](asio::error_code ec, std::size_t n) {
                                     self->r_.tcp_sent(n);
                                     if (ec) return;
                                     self->moved_ += n;
                                     if (done + n < self->filled_)
                                         self->echo_write(done + n);
                                     else
                                         self->echo_done();
                                 });
    }

    // Sink: count until the client half-closes; the buffer doubles while reads fill it.
    // An upload is only counted, so it is read with MSG_TRUNC: TCP takes the bytes from the
    // socket without copying them out (buf_ bounds each read and is never written).
    void sink_read() {
        auto self = shared_from_this();
        socket_.async_receive(asio::buffer(buf_), MSG_TRUNC, [self](asio::error_code ec, std::size_t n) {
            self->r_.tcp_received(n);
            if (n > 0) {
                self->begin_flight();
                self->bytes_ += n;
                self->moved_ += n;
                self->touch();
                if (n == self->buf_.size() && self->buf_.size() < sink_buffer_max) self->buf_.resize(self->buf_.size() * 2);
            }
            if (!ec) {
                self->sink_read();
                return;
            }
            if (ec != asio::error::eof) return;
            // Half-closed by the client: report what arrived, then close.
            self->end_flight();
            proto::encode_sink_report(self->bytes_, self->reply_);
            asio::async_write(self->socket_, asio::buffer(self->reply_.data(), proto::sink_report_size),
                              [self](asio::error_code, std::size_t wn) {
                                  self->r_.tcp_sent(wn);
                                  asio::error_code ignored;
                                  self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
                                  self->socket_.close(ignored);
                              });
        });
    }

    void source_write() {
        if (mono_clock::now() >= source_until_) {
            // Done: the client's FIN is awaited under the idle rule.
            end_flight();
            asio::error_code ignored;
            socket_.shutdown(tcp::socket::shutdown_send, ignored);
            drain_then_close();
            return;
        }
        auto self = shared_from_this();
        socket_.async_write_some(asio::buffer(r_.source_payload), [self](asio::error_code ec, std::size_t n) {
            self->r_.tcp_sent(n);
            if (ec) return;  // the client closed early: its choice
            self->bytes_ += n;
            self->moved_ += n;
            self->touch();
            self->source_write();
        });
    }

    void drain_then_close() {
        auto self = shared_from_this();
        socket_.async_read_some(asio::buffer(r_.discard), [self](asio::error_code ec, std::size_t n) {
            self->r_.tcp_received(n);
            if (!ec) {
                self->drain_then_close();
                return;
            }
            asio::error_code ignored;
            self->socket_.close(ignored);
        });
    }

    void control_read() {
        auto self = shared_from_this();
        asio::async_read(socket_, asio::buffer(op_), [self](asio::error_code ec, std::size_t rn) {
            self->r_.tcp_received(rn);
            if (ec) return;  // end of session; the destructor retires the cookie
            self->touch();
            if (proto::is_interval_request(self->op_) && self->udp_->count_intervals) {
                self->send_interval_report();
                return;
            }
            if (!proto::is_report_request(self->op_)) {
                ++self->r_.rejected;
                self->drop("bad control message");
                return;
            }
            proto::udp_report snap;
            {
                std::lock_guard lock{self->r_.udp_mu};
                snap = self->udp_->snapshot();
                if (self->udp_->report_drops)
                    snap.receiver_drops =
                        self->udp_->dropped_datagrams(socket_drops(self->r_.udp_fd.get()));
            }
            const auto n = proto::encode(snap, self->report_);
            asio::async_write(self->socket_, asio::buffer(self->report_.data(), n),
                              [self](asio::error_code wec, std::size_t wn) {
                                  self->r_.tcp_sent(wn);
                                  if (!wec) self->control_read();
                              });
        });
    }

    // The interval report is built on request, in a buffer that lives until it is written: a
    // session that never asks holds nothing for it.
    void send_interval_report() {
        {
            std::lock_guard lock{r_.udp_mu};
            interval_report_.resize(proto::interval_report_header_size +
                                    udp_->intervals.size() * proto::interval_counts_size);
            interval_report_.resize(proto::encode_interval_report(udp_->intervals, interval_report_));
        }
        auto self = shared_from_this();
        asio::async_write(socket_, asio::buffer(interval_report_), [self](asio::error_code wec, std::size_t wn) {
            self->r_.tcp_sent(wn);
            self->interval_report_ = {};
            if (!wec) self->control_read();
        });
    }

    responder::impl& r_;
    tcp::socket socket_;
    std::uint64_t id_;
    tcp::endpoint peer_;
    address_bytes client_{};  // the peer's address, for the UDP cookie
    address_bytes source_{};  // what the per-source limits count it under
    mono_clock::time_point started_, last_activity_, source_until_;
    std::array<std::byte, proto::hello_size> head_{};
    std::array<std::byte, proto::hello_reply_size> reply_{};
    std::array<std::byte, proto::report_request_size> op_{};
    std::array<std::byte, proto::udp_report_extended_size> report_{};
    std::vector<std::byte> interval_report_;
    std::vector<std::byte> buf_;
    std::size_t filled_ = 0;  // echo: bytes of the current message read
    proto::hello hello_{};
    bool hello_ok_ = false;
    bool counted_ = false;  // holds a slot, overall and of its source
    std::uint64_t cookie_ = 0;
    std::shared_ptr<udp_session> udp_;
    std::uint64_t messages_ = 0;
    std::uint64_t bytes_ = 0;
    // Progress: bytes read and written since the hello, sampled (less what awaits
    // acknowledgement) once a watchdog period or less often (progress_window / 40) while a
    // transfer is in flight; 48 samples span a window.
    struct progress_sample {
        mono_clock::time_point at;
        std::uint64_t delivered = 0;
    };
    static constexpr std::size_t progress_ring = 48;
    std::uint64_t moved_ = 0;
    std::uint64_t unacked_ = 0;  // written, not yet acknowledged, when the watchdog last looked
    bool in_flight_ = false;
    bool draining_ = false;  // in flight only because written bytes await acknowledgement
    std::array<progress_sample, progress_ring> samples_{};
    std::size_t sampled_ = 0;
    std::uint64_t last_window_bytes_ = 0;
    std::string end_reason_;
};

}  // namespace

void responder::impl::accept() {
    // accept() fills in the peer's address: no getpeername per session.
    acceptor.async_accept(accept_peer, [this](asio::error_code ec, tcp::socket s) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        if (out_of_resources(ec)) {
            pause_accepting(ec);
            return;
        }
        if (!ec) {
            if (accept_backoff.count() != 0) {
                log(fmt::format("accepting again after {} paused accepts", paused_accepts));
                accept_backoff = 0ms;
            }
            auto session = std::make_shared<tcp_session>(*this, std::move(s), accept_peer);
            live.push_back(session);
            session->start();
        }
        accept();
    });
}

// Out of descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM): the connection stays
// in the listen queue and the next accept would fail the same way at once. Wait instead --
// 50 ms, doubling up to 1 s -- while sessions end and give descriptors back. One log line when
// the pause starts and one when accepts work again.
void responder::impl::pause_accepting(const asio::error_code& ec) {
    ++accept_pauses;
    if (accept_backoff.count() == 0) {
        accept_backoff = accept_backoff_first;
        paused_accepts = 0;
        log(fmt::format("accept: {}; pausing accepts for {} ms, backing off to {} ms until one succeeds", ec.message(),
                        accept_backoff_first.count(), accept_backoff_max.count()));
    } else {
        accept_backoff = std::min(accept_backoff * 2, accept_backoff_max);
    }
    ++paused_accepts;
    accept_timer.expires_after(accept_backoff);
    accept_timer.async_wait([this](asio::error_code tec) {
        if (!tec && acceptor.is_open()) accept();
    });
}

void responder::impl::tick() {
    watchdog.expires_after(watchdog_period);
    watchdog.async_wait([this](asio::error_code ec) {
        if (ec) return;
        const auto now = mono_clock::now();
        std::erase_if(live, [&](std::weak_ptr<tcp_session>& w) {
            auto s = w.lock();
            if (!s || !s->open()) return true;
            switch (s->check(now)) {
                case tcp_session::verdict::keep: break;
                case tcp_session::verdict::no_hello:
                    ++dropped_idle;
                    s->drop("dropped: no hello in time");
                    break;
                case tcp_session::verdict::idle:
                    ++dropped_idle;
                    s->drop(fmt::format("dropped: idle for {} s", std::chrono::duration<double>(cfg.idle_timeout).count()));
                    break;
                case tcp_session::verdict::slow:
                    ++dropped_slow;
                    s->drop(fmt::format("reset: {} B moved in {} s, below the minimum of {} B/s", s->window_bytes(),
                                        std::chrono::duration<double>(cfg.progress_window).count(), cfg.min_progress_rate),
                            true);
                    break;
            }
            return false;
        });
        if (now - log_window_start >= 1s) {
            roll_log_window(now);
            forget_idle_sources(now);
        }
        tick();
    });
}

void responder::impl::udp_loop() {
    const int fd = udp_fd.get();
    const auto poll_for = cfg.udp_poll;
    mono_clock::time_point poll_until{};  // polling (not sleeping) until then
    while (!udp_stop.load(std::memory_order_relaxed)) {
        for (std::size_t i = 0; i < batch; ++i) {
            rx_iov[i] = {rx_buf.data() + i * slot, slot};
            rx_msgs[i].msg_hdr = {};
            rx_msgs[i].msg_hdr.msg_iov = &rx_iov[i];
            rx_msgs[i].msg_hdr.msg_iovlen = 1;
            rx_msgs[i].msg_hdr.msg_name = &rx_from[i];
            rx_msgs[i].msg_hdr.msg_namelen = sizeof rx_from[i];
            rx_msgs[i].msg_hdr.msg_control = rx_control.data() + i * control_space;
            rx_msgs[i].msg_hdr.msg_controllen = control_space;
            rx_msgs[i].msg_len = 0;
        }
        // Sleeping: blocks until one datagram is there (or the 200 ms receive timeout lets us
        // check the stop flag), then takes whatever else is queued, up to a batch. Polling (see
        // responder_config::udp_poll): takes what is queued, or nothing, at once.
        const bool polling = poll_for.count() > 0 && mono_clock::now() < poll_until;
        const int n = ::recvmmsg(fd, rx_msgs.data(), batch, polling ? MSG_DONTWAIT : MSG_WAITFORONE, nullptr);
        if (n <= 0) continue;
        if (poll_for.count() > 0 && (polling || n > 1)) {
            if (!polling) udp_polls.fetch_add(1, std::memory_order_relaxed);
            poll_until = mono_clock::now() + poll_for;
        }
        std::size_t replies = 0;
        {
            std::lock_guard lock{udp_mu};
            on_udp_batch(n, replies);
        }
        std::size_t sent = 0;
        while (sent < replies) {
            const int m =
                ::sendmmsg(fd, tx_msgs.data() + sent, static_cast<unsigned>(replies - sent), MSG_DONTWAIT);
            if (m <= 0) break;  // a full socket buffer drops replies: UDP's way, the client counts loss
            sent += static_cast<std::size_t>(m);
        }
        udp_replies += sent;
        std::uint64_t out = 0;
        for (std::size_t i = 0; i < sent; ++i) out += tx_msgs[i].msg_len;
        if (out != 0) udp_out.fetch_add(out, std::memory_order_relaxed);
    }
}

// The reply goes out from the address the request came to (see tx_control). A v4 datagram on a
// dual-stack socket reports a v4-mapped IPV6_PKTINFO, which the kernel also takes back on send.
void responder::impl::set_reply_source(msghdr& h, std::size_t i, const cmsghdr* to) noexcept {
    if (to == nullptr) return;
    char* buf = tx_control.data() + i * tx_control_space;
    std::memset(buf, 0, tx_control_space);
    h.msg_control = buf;
    h.msg_controllen = tx_control_space;
    cmsghdr* out = CMSG_FIRSTHDR(&h);
    if (to->cmsg_level == IPPROTO_IP) {
        in_pktinfo in{};
        std::memcpy(&in, CMSG_DATA(to), sizeof in);
        in_pktinfo pi{};
        pi.ipi_spec_dst = in.ipi_addr;  // the source; no interface: the route back chooses
        out->cmsg_level = IPPROTO_IP;
        out->cmsg_type = IP_PKTINFO;
        out->cmsg_len = CMSG_LEN(sizeof pi);
        std::memcpy(CMSG_DATA(out), &pi, sizeof pi);
        h.msg_controllen = CMSG_SPACE(sizeof pi);
    } else {
        in6_pktinfo pi{};
        std::memcpy(&pi, CMSG_DATA(to), sizeof pi);
        if (IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr)) pi.ipi6_ifindex = 0;  // link-local v6 keeps its interface
        out->cmsg_level = IPPROTO_IPV6;
        out->cmsg_type = IPV6_PKTINFO;
        out->cmsg_len = CMSG_LEN(sizeof pi);
        std::memcpy(CMSG_DATA(out), &pi, sizeof pi);
        h.msg_controllen = CMSG_SPACE(sizeof pi);
    }
}

void responder::impl::on_udp_batch(int n, std::size_t& replies) {
    // The last cookie and source address that checked out: a batch is mostly one session's.
    std::uint64_t last_cookie = 0;
    address_bytes last_from{};
    udp_session* last = nullptr;
    std::uint64_t in = 0;
    for (int i = 0; i < n; ++i) {
        const auto idx = static_cast<std::size_t>(i);
        const auto total = static_cast<std::size_t>(rx_msgs[idx].msg_len);
        in += total;
        const auto from = to_bytes(rx_from[idx]);
        // With UDP GRO one buffer holds several datagrams of gso_size bytes (the last may be
        // shorter); split them back.
        std::size_t seg = total;
        const cmsghdr* to_cmsg = nullptr;  // the address the datagram came to
        for (cmsghdr* cm = CMSG_FIRSTHDR(&rx_msgs[idx].msg_hdr); cm != nullptr;
             cm = CMSG_NXTHDR(&rx_msgs[idx].msg_hdr, cm)) {
            if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
                int v = 0;
                std::memcpy(&v, CMSG_DATA(cm), sizeof v);
                if (v > 0) seg = static_cast<std::size_t>(v);
            } else if ((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) ||
                       (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO)) {
                to_cmsg = cm;
            }
        }
        if (seg == 0) seg = 1;
        const auto now = mono_now_ns();
        for (std::size_t off = 0; off < total || (total == 0 && off == 0); off += seg) {
            const std::size_t len = std::min(seg, total - off);
            std::span<std::byte> dgram{rx_buf.data() + idx * slot + off, len};
            const auto h = proto::decode_udp_header(dgram);
            if (!h) {
                ++udp_dropped;
                if (total == 0) break;
                continue;
            }
            if (h.value.cookie != last_cookie || from != last_from || last == nullptr) {
                const auto it = udp_sessions.find(h.value.cookie);
                if (it == udp_sessions.end()) {
                    ++udp_dropped;
                    continue;
                }
                // The cookie is a MAC over its client's address: from anywhere else it does not
                // check out (a leaked cookie reflects nothing to a third party).
                if (cookie_for(from, it->second->id) != h.value.cookie) {
                    ++udp_wrong_source;
                    ++udp_dropped;
                    continue;
                }
                last_cookie = h.value.cookie;
                last_from = from;
                last = it->second.get();
            }
            last->last_activity_ns = now;
            ++udp_datagrams;
            if (h.value.kind == proto::udp_kind::stream && last->mode == proto::mode::udp_sink) {
                last->on_stream(h.value, len, now, off == 0);
            } else if (h.value.kind == proto::udp_kind::echo_request && last->mode == proto::mode::udp_echo &&
                       replies < batch) {
                // The reply is the request with its kind changed: never more bytes than came in.
                auto reply = h.value;
                reply.kind = proto::udp_kind::echo_reply;
                proto::encode(reply, dgram);
                tx_iov[replies] = {dgram.data(), len};
                tx_msgs[replies].msg_hdr = {};
                tx_msgs[replies].msg_hdr.msg_iov = &tx_iov[replies];
                tx_msgs[replies].msg_hdr.msg_iovlen = 1;
                tx_msgs[replies].msg_hdr.msg_name = &rx_from[idx];
                tx_msgs[replies].msg_hdr.msg_namelen = rx_msgs[idx].msg_hdr.msg_namelen;
                set_reply_source(tx_msgs[replies].msg_hdr, replies, to_cmsg);
                ++replies;
                ++last->echoes;
            } else {
                ++udp_dropped;
            }
        }
    }
    udp_in.fetch_add(in, std::memory_order_relaxed);
}

namespace {
asio::ip::address bind_address_for(const std::string& text, bool& v6_dual, std::error_code& ec) {
    v6_dual = false;
    if (text.empty()) {
        v6_dual = true;
        return asio::ip::address_v6::any();
    }
    asio::error_code aec;
    auto a = asio::ip::make_address(text, aec);
    if (aec) ec = make_error_code(errc::bad_address);
    return a;
}

std::error_code bind_pair(responder::impl& r, const asio::ip::address& addr, std::uint16_t port, bool dual) {
    asio::error_code ec;
    tcp::endpoint tep{addr, port};
    r.acceptor.open(tep.protocol(), ec);
    if (ec) return ec;
    r.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    r.acceptor.set_option(tcp::no_delay(true), ec);  // inherited by every accepted connection
    if (dual) r.acceptor.set_option(asio::ip::v6_only(false), ec);
    r.acceptor.bind(tep, ec);
    if (ec) {
        r.acceptor.close();
        return ec;
    }
    const auto bound = r.acceptor.local_endpoint(ec).port();
    udp::endpoint uep{addr, bound};
    udp::socket us{r.io};
    us.open(uep.protocol(), ec);
    if (!ec) {
        us.set_option(asio::socket_base::reuse_address(true), ec);
        if (dual) us.set_option(asio::ip::v6_only(false), ec);
        us.set_option(asio::socket_base::receive_buffer_size(8 << 20), ec);
        us.set_option(asio::socket_base::send_buffer_size(8 << 20), ec);
        // Let the kernel hand over coalesced datagrams (UDP GRO) where it can; split on receipt.
        const int on = 1;
        (void)::setsockopt(us.native_handle(), SOL_UDP, UDP_GRO, &on, sizeof on);
        // Learn the address each datagram came to, to answer from it (tx_control).
        if (uep.protocol() == udp::v6())
            (void)::setsockopt(us.native_handle(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
        else
            (void)::setsockopt(us.native_handle(), IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
        ec = {};
        us.bind(uep, ec);
    }
    if (!ec) r.udp_fd = detail::unique_fd{us.release(ec)};  // out of Asio's epoll set (see udp_fd)
    if (ec) {
        asio::error_code ignored;
        r.acceptor.close(ignored);
        return ec;
    }
    r.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return ec;
    // Hand over a connection when its first data (the hello) arrives, not at the handshake's
    // last ACK: one wake-up accepts it and reads the hello, so the hello is answered as fast as
    // an echo instead of waiting behind the accept. A peer that connects and sends nothing is
    // never handed over (its FIN or RST is, so connect-only probes still count).
    const int defer_s = static_cast<int>(
        std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(r.cfg.handshake_timeout).count()));
    (void)::setsockopt(r.acceptor.native_handle(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof defer_s);
    r.bound_port = bound;
    return {};
}
}  // namespace

// The config with every limit inside its hard maximum (responder_caps): a caller can tighten the
// guards, not switch them off.
responder_config within_caps(responder_config c) noexcept {
    using caps = responder_caps;
    c.max_sessions = std::clamp<std::size_t>(c.max_sessions, 1, caps::max_sessions);
    c.max_sessions_per_source = std::clamp<std::size_t>(c.max_sessions_per_source, 1, caps::max_sessions_per_source);
    c.max_session_rate_per_source =
        std::clamp<std::size_t>(c.max_session_rate_per_source, 1, caps::max_session_rate_per_source);
    c.handshake_timeout = std::clamp(c.handshake_timeout, std::chrono::milliseconds{1}, caps::max_handshake_timeout);
    c.idle_timeout = std::clamp(c.idle_timeout, std::chrono::milliseconds{1}, caps::max_idle_timeout);
    c.progress_window = std::clamp(c.progress_window, watchdog_period, caps::max_progress_window);
    c.log_lines_per_second = std::min(c.log_lines_per_second, caps::max_log_lines_per_second);
    c.udp_poll = std::clamp(c.udp_poll, std::chrono::microseconds{0}, caps::max_udp_poll);
    return c;
}

responder_config own_probe_responder(std::string bind_address) {
    responder_config c;
    c.bind_address = std::move(bind_address);
    c.port = 0;
    c.max_sessions_per_source = responder_caps::max_sessions_per_source;
    c.max_session_rate_per_source = responder_caps::max_session_rate_per_source;
    c.min_progress_rate = 0;
    return c;
}

std::unique_ptr<responder> responder::start(const responder_config& cfg, std::error_code& ec) {
    ec.clear();
    auto p = std::make_unique<impl>();
    p->cfg = within_caps(cfg);
    bool dual = false;
    auto addr = bind_address_for(cfg.bind_address, dual, ec);
    if (ec) return nullptr;
    p->any_address = cfg.bind_address.empty() || addr.is_unspecified();
    std::error_code bec;
    // Port 0: the kernel picks a free TCP port; retry when UDP has it taken.
    for (int attempt = 0; attempt < 20; ++attempt) {
        bec = bind_pair(*p, addr, cfg.port, dual);
        if (bec && dual) {  // no IPv6 on this host: fall back to IPv4 only
            bec = bind_pair(*p, asio::ip::address_v4::any(), cfg.port, false);
            if (!bec) addr = asio::ip::address_v4::any();
        }
        if (!bec || cfg.port != 0) break;
    }
    if (bec) {
        ec = bec;
        return nullptr;
    }
    p->v6 = addr.is_v6();
    // Blocking, with a 200 ms receive timeout so the UDP thread sees the stop flag.
    detail::make_blocking(p->udp_fd.get(), std::chrono::milliseconds{200});
    p->accept();
    p->tick();
    auto* raw = p.get();
    p->udp_thread = std::thread([raw] { raw->udp_loop(); });
    p->thread = std::thread([raw] {
        // This thread's first allocation creates its malloc arena (a 128 MB mapping): do it now,
        // not while the first session waits for its hello to be answered.
        void* volatile first = std::malloc(64);
        std::free(first);
        for (;;) {
            try {
                raw->io.run();
                break;
            } catch (const std::exception& e) {
                raw->log(fmt::format("responder: internal error: {}", e.what()));
            }
        }
    });
    return std::unique_ptr<responder>(new responder(std::move(p)));
}

responder::responder(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}

responder::~responder() {
    stop();
}

std::uint16_t responder::port() const noexcept {
    return impl_->bound_port;
}

socket_address responder::local_endpoint() const {
    std::error_code ec;
    std::string addr = impl_->cfg.bind_address;
    if (impl_->any_address) addr = "127.0.0.1";
    return socket_address::from_numeric(addr, impl_->bound_port, ec);
}

responder_stats responder::stats() const noexcept {
    const auto& p = *impl_;
    return {.sessions = p.sessions.load(),
            .rejected = p.rejected.load(),
            .refused_busy = p.refused_busy.load(),
            .dropped_idle = p.dropped_idle.load(),
            .dropped_slow = p.dropped_slow.load(),
            .accept_pauses = p.accept_pauses.load(),
            .udp_datagrams = p.udp_datagrams.load(),
            .udp_dropped = p.udp_dropped.load(),
            .udp_wrong_source = p.udp_wrong_source.load(),
            .udp_replies = p.udp_replies.load(),
            .udp_polls = p.udp_polls.load(),
            .sessions_echo = p.mode_sessions[0].load(std::memory_order_relaxed),
            .sessions_sink = p.mode_sessions[1].load(std::memory_order_relaxed),
            .sessions_source = p.mode_sessions[2].load(std::memory_order_relaxed),
            .sessions_connect_only = p.mode_sessions[3].load(std::memory_order_relaxed),
            .sessions_udp_echo = p.mode_sessions[4].load(std::memory_order_relaxed),
            .sessions_udp_sink = p.mode_sessions[5].load(std::memory_order_relaxed),
            .tcp_bytes_received = p.tcp_in.load(std::memory_order_relaxed),
            .tcp_bytes_sent = p.tcp_out.load(std::memory_order_relaxed),
            .udp_bytes_received = p.udp_in.load(std::memory_order_relaxed),
            .udp_bytes_sent = p.udp_out.load(std::memory_order_relaxed)};
}

void responder::stop() noexcept {
    if (!impl_ || !impl_->thread.joinable()) return;
    impl_->udp_stop = true;
    ::shutdown(impl_->udp_fd.get(), SHUT_RDWR);  // wakes the blocked recvmmsg
    impl_->udp_thread.join();
    asio::post(impl_->io, [p = impl_.get()] {
        asio::error_code ignored;
        p->acceptor.close(ignored);
        p->udp_fd.reset();
        p->watchdog.cancel();
        p->accept_timer.cancel();
        for (auto& w : p->live)
            if (auto s = w.lock()) s->drop("responder stopping");
        p->live.clear();
        p->roll_log_window(mono_clock::now());  // the last second's summary, if lines were left out
        p->io.stop();
    });
    impl_->thread.join();
    {
        std::lock_guard lock{impl_->stop_mu};
        impl_->stopped = true;
    }
    impl_->stop_cv.notify_all();
}

void responder::wait() noexcept {
    std::unique_lock lock{impl_->stop_mu};
    impl_->stop_cv.wait(lock, [this] { return impl_->stopped; });
}

}  // namespace nettool
