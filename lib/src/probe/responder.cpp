// The responder. TCP sessions run on Asio, one io_context on one thread. UDP has a thread of its
// own that blocks in recvmmsg (MSG_WAITFORONE) and answers with sendmmsg: two system calls per
// batch, so the responder is not the bottleneck of a UDP test. The UDP session table is shared
// between the two threads under udp_mu, taken once per batch.

#include <nettool/probe/responder.hpp>

#include <nettool/core/clock.hpp>
#include <nettool/core/error.hpp>
#include <nettool/probe/protocol.hpp>

#include <fmt/format.h>
#include <asio.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/random.h>
#include <sys/socket.h>

namespace nettool {

namespace {

using asio::ip::tcp;
using asio::ip::udp;

std::uint64_t random_cookie() noexcept {
    std::uint64_t v = 0;
    if (::getrandom(&v, sizeof v, 0) != static_cast<ssize_t>(sizeof v)) {
        static thread_local std::mt19937_64 rng{std::random_device{}()};
        v = rng();
    }
    return v == 0 ? 1 : v;
}

// The socket's drop counter (datagrams its full receive buffer turned away, and the like): the
// kernel's sk_drops, 32 bits that wrap, read through SO_MEMINFO.
std::uint32_t socket_drops(int fd) noexcept {
    std::array<std::uint32_t, SK_MEMINFO_VARS> m{};
    socklen_t len = sizeof m;
    if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, m.data(), &len) != 0 || len <= SK_MEMINFO_DROPS * 4) return 0;
    return m[SK_MEMINFO_DROPS];
}

// Per-session state of a UDP stream or echo session, keyed by cookie.
struct udp_session {
    proto::mode mode = proto::mode::udp_echo;
    std::uint64_t last_activity_ns = 0;
    std::uint64_t echoes = 0;
    // Stream statistics (udp_sink).
    static constexpr std::uint64_t window = 1u << 16;  // sequence numbers remembered for duplicates
    std::vector<std::uint64_t> seen;  // window bits; sized for sink sessions only
    proto::udp_report report;
    std::uint64_t first_arrival_ns = 0;
    std::uint64_t last_arrival_ns = 0;
    std::int64_t last_transit_ns = 0;
    double jitter_ns = 0;
    bool have_transit = false;
    // Receiver drops (flag_receiver_drops): the shared socket's counter when the session opened,
    // and the receive buffers the session's datagrams came in (fewer than datagrams with GRO).
    bool report_drops = false;
    std::uint32_t drops_at_open = 0;
    std::uint64_t buffers = 0;

    // The counter counts dropped buffers, and a buffer that GRO coalesced holds several datagrams:
    // scale by this session's datagrams per buffer (1 without GRO, so exact there).
    std::uint64_t dropped_datagrams(std::uint32_t drops_now) const noexcept {
        const std::uint64_t drops = static_cast<std::uint32_t>(drops_now - drops_at_open);
        if (buffers == 0 || buffers >= report.received) return drops;
        return (drops * report.received + buffers / 2) / buffers;
    }

    bool test_and_set(std::uint64_t seq) noexcept {
        auto& word = seen[(seq % window) / 64];
        const std::uint64_t bit = std::uint64_t{1} << (seq % 64);
        const bool was = (word & bit) != 0;
        word |= bit;
        return was;
    }
    void clear(std::uint64_t seq) noexcept { seen[(seq % window) / 64] &= ~(std::uint64_t{1} << (seq % 64)); }

    void on_stream(std::uint64_t seq, std::uint64_t send_ns, std::size_t len, std::uint64_t now,
                   bool new_buffer) noexcept {
        auto& r = report;
        ++r.received;
        if (new_buffer) ++buffers;
        r.bytes += len;
        if (r.received == 1) first_arrival_ns = now;
        last_arrival_ns = now;
        // RFC 3550 section 6.4.1: J += (|D| - J) / 16 over consecutive arrivals.
        const auto transit = static_cast<std::int64_t>(now - send_ns);
        if (have_transit) {
            const auto d = transit - last_transit_ns;
            jitter_ns += (static_cast<double>(d < 0 ? -d : d) - jitter_ns) / 16.0;
        }
        last_transit_ns = transit;
        have_transit = true;

        if (seq >= r.highest_seq) {
            // Slots for sequence numbers skipped over are free again.
            if (seq - r.highest_seq >= window) {
                std::fill(seen.begin(), seen.end(), 0);
            } else {
                for (std::uint64_t s = r.highest_seq; s < seq; ++s) clear(s);
                clear(seq);
            }
            test_and_set(seq);
            r.highest_seq = seq + 1;
            return;
        }
        const std::uint64_t displacement = r.highest_seq - 1 - seq;
        if (displacement < window && test_and_set(seq)) {
            ++r.duplicates;
            return;
        }
        ++r.out_of_order;
        if (displacement > r.max_displacement) r.max_displacement = displacement;
    }

    proto::udp_report snapshot() const noexcept {
        auto r = report;
        r.jitter_ns = static_cast<std::uint64_t>(jitter_ns);
        r.active_ns = last_arrival_ns - first_arrival_ns;
        return r;
    }
};

class tcp_session;

}  // namespace

struct responder::impl {
    responder_config cfg;
    std::atomic<std::uint64_t> sessions{0}, rejected{0}, dropped_idle{0};
    std::atomic<std::uint64_t> udp_datagrams{0}, udp_dropped{0}, udp_replies{0};
    std::size_t active = 0;  // io thread only
    std::uint64_t next_session_id = 1;
    std::mutex udp_mu;  // guards udp_sessions and every udp_session's state
    std::unordered_map<std::uint64_t, std::shared_ptr<udp_session>> udp_sessions;
    std::atomic<bool> udp_stop{false};
    std::vector<std::weak_ptr<tcp_session>> live;  // for the watchdog; io thread only
    std::uint16_t bound_port = 0;
    asio::ip::tcp::endpoint accept_peer;  // filled by the pending accept; io thread only
    bool any_address = false;
    bool v6 = false;

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
    // Room for the UDP_GRO segment size the kernel reports when it hands over coalesced datagrams.
    static constexpr std::size_t control_space = CMSG_SPACE(sizeof(int));
    std::vector<char> rx_control = std::vector<char>(batch * control_space);
    std::array<mmsghdr, batch> tx_msgs{};
    std::array<iovec, batch> tx_iov{};

    // Declared last: destroyed first, so handlers (and the sessions they own) go before the
    // state above that session destructors touch.
    asio::io_context io{1};  // one thread runs it: no locking, fewer reactor wake-ups
    tcp::acceptor acceptor{io};
    udp::socket udp_socket{io};
    asio::steady_timer watchdog{io};
    std::thread thread;
    std::thread udp_thread;

    void log(std::string_view line) {
        if (cfg.log) cfg.log(line);
    }

    void accept();
    void udp_loop();
    void on_udp_batch(int n, std::size_t& replies);
    void tick();
};

namespace {

class tcp_session : public std::enable_shared_from_this<tcp_session> {
public:
    // Nothing here formats, logs or allocates beyond the session itself: the hello that follows
    // must be answered as fast as an echo (the peer's name is only written out when logged).
    tcp_session(responder::impl& r, tcp::socket s, const tcp::endpoint& peer)
        : r_(r), socket_(std::move(s)), id_(r.next_session_id++), peer_(peer) {
        // TCP_NODELAY is inherited from the listening socket (bind_pair sets it there).
        started_ = mono_clock::now();
        last_activity_ = started_;
    }
    ~tcp_session() {
        if (counted_) --r_.active;
        std::unique_lock udp_lock{r_.udp_mu};
        if (cookie_ != 0) r_.udp_sessions.erase(cookie_);
        if (hello_ok_) {
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
                    what = fmt::format("{} datagrams received", udp_ ? udp_->report.received : 0);
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
        if (n == static_cast<ssize_t>(head_.size())) {
            on_hello();
            return;
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return;  // closed before a hello: a connect-only probe or a scanner
        read_hello(n > 0 ? static_cast<std::size_t>(n) : 0);
    }

    // Called by the watchdog once a second.
    bool overdue(mono_clock::time_point now) const {
        if (!hello_ok_) return now - started_ > r_.cfg.handshake_timeout;
        auto last = last_activity_;
        if (udp_) {
            std::lock_guard lock{r_.udp_mu};
            const auto udp_last = mono_clock::time_point{std::chrono::nanoseconds{udp_->last_activity_ns}};
            if (udp_last > last) last = udp_last;
        }
        if (hello_.m == proto::mode::source) return false;  // bounded by its own duration
        return now - last > r_.cfg.idle_timeout;
    }
    void drop(std::string reason) {
        end_reason_ = std::move(reason);
        asio::error_code ignored;
        socket_.close(ignored);
    }
    bool open() const { return socket_.is_open(); }

private:
    void touch() { last_activity_ = mono_clock::now(); }

    std::string peer() const {
        if (peer_.port() == 0) return "?";
        auto a = peer_.address();
        if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
        return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), peer_.port())
                         : fmt::format("{}:{}", a.to_string(), peer_.port());
    }

    void read_hello(std::size_t have) {
        auto self = shared_from_this();
        asio::async_read(socket_, asio::buffer(head_) + have, [self](asio::error_code ec, std::size_t) {
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
        if (d.status == proto::decode_status::bad_version)
            reply.st = proto::status::bad_version;
        else if (d.status != proto::decode_status::ok)
            reply.st = proto::status::bad_mode;
        else if (r_.active >= r_.cfg.max_sessions)
            reply.st = proto::status::busy;
        else if (!params_ok())
            reply.st = proto::status::bad_param;
        if (reply.st != proto::status::ok) {
            ++r_.rejected;
            r_.log(fmt::format("session {} {} rejected: {}", id_, peer(), proto::to_string(reply.st)));
            send_reply_and_close(reply);
            return;
        }
        hello_ok_ = true;
        counted_ = true;
        ++r_.active;
        ++r_.sessions;
        if (hello_.m == proto::mode::udp_echo || hello_.m == proto::mode::udp_sink) {
            udp_ = std::make_shared<udp_session>();
            udp_->mode = hello_.m;
            if (hello_.m == proto::mode::udp_sink) udp_->seen.assign(udp_session::window / 64, 0);
            udp_->last_activity_ns = mono_now_ns();
            std::lock_guard lock{r_.udp_mu};
            cookie_ = random_cookie();
            while (r_.udp_sessions.count(cookie_) != 0) cookie_ = random_cookie();
            r_.udp_sessions.emplace(cookie_, udp_);
            reply.cookie = cookie_;
            if (hello_.m == proto::mode::udp_sink && (hello_.flags & proto::flag_receiver_drops) != 0) {
                reply.flags = proto::flag_receiver_drops;
                udp_->report_drops = true;
                udp_->drops_at_open = socket_drops(r_.udp_socket.native_handle());
            }
        }
        proto::encode(reply, reply_);
        // An empty send buffer takes the 16 bytes at once; Asio writes whatever is left.
        const ssize_t sent = ::send(socket_.native_handle(), reply_.data(), reply_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return;  // peer gone
        const auto done = static_cast<std::size_t>(sent > 0 ? sent : 0);
        if (done == reply_.size()) {
            run_mode();
            return;
        }
        auto self = shared_from_this();
        asio::async_write(socket_, asio::buffer(reply_) + done, [self](asio::error_code ec, std::size_t) {
            if (ec) return;
            self->run_mode();
        });
    }

    bool params_ok() const {
        switch (hello_.m) {
            case proto::mode::echo:
                return hello_.message_size >= 1 && hello_.message_size <= proto::max_tcp_message;
            case proto::mode::source:
                return hello_.duration_ms >= 1 && hello_.duration_ms <= proto::max_duration_ms;
            default: return true;
        }
    }

    void send_reply_and_close(const proto::hello_reply& reply) {
        proto::encode(reply, reply_);
        auto self = shared_from_this();
        asio::async_write(socket_, asio::buffer(reply_), [self](asio::error_code, std::size_t) {
            asio::error_code ignored;
            self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
            self->socket_.close(ignored);
        });
    }

    void run_mode() {
        asio::error_code ignored;
        switch (hello_.m) {
            case proto::mode::echo:
                buf_.resize(hello_.message_size);
                echo_read();
                break;
            case proto::mode::sink:
                buf_.resize(256 * 1024);
                sink_read();
                break;
            case proto::mode::source:
                buf_.assign(256 * 1024, std::byte{0x5a});
                source_until_ = mono_clock::now() + std::chrono::milliseconds{hello_.duration_ms};
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

    void echo_read() {
        auto self = shared_from_this();
        asio::async_read(socket_, asio::buffer(buf_), [self](asio::error_code ec, std::size_t) {
            if (ec) return;
            self->touch();
            asio::async_write(self->socket_, asio::buffer(self->buf_),
                              [self](asio::error_code wec, std::size_t) {
                                  if (wec) return;
                                  ++self->messages_;
                                  self->bytes_ += self->buf_.size();
                                  self->echo_read();
                              });
        });
    }

    void sink_read() {
        auto self = shared_from_this();
        socket_.async_read_some(asio::buffer(buf_), [self](asio::error_code ec, std::size_t n) {
            self->bytes_ += n;
            if (!ec) {
                self->touch();
                self->sink_read();
                return;
            }
            if (ec != asio::error::eof) return;
            // Half-closed by the client: report what arrived, then close.
            proto::encode_sink_report(self->bytes_, self->reply_);
            asio::async_write(self->socket_, asio::buffer(self->reply_.data(), proto::sink_report_size),
                              [self](asio::error_code, std::size_t) {
                                  asio::error_code ignored;
                                  self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
                                  self->socket_.close(ignored);
                              });
        });
    }

    void source_write() {
        if (mono_clock::now() >= source_until_) {
            asio::error_code ignored;
            socket_.shutdown(tcp::socket::shutdown_send, ignored);
            drain_then_close();
            return;
        }
        auto self = shared_from_this();
        socket_.async_write_some(asio::buffer(buf_), [self](asio::error_code ec, std::size_t n) {
            if (ec) return;  // the client closed early: its choice
            self->bytes_ += n;
            self->touch();
            self->source_write();
        });
    }

    void drain_then_close() {
        auto self = shared_from_this();
        socket_.async_read_some(asio::buffer(buf_), [self](asio::error_code ec, std::size_t) {
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
        asio::async_read(socket_, asio::buffer(op_), [self](asio::error_code ec, std::size_t) {
            if (ec) return;  // end of session; the destructor retires the cookie
            self->touch();
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
                        self->udp_->dropped_datagrams(socket_drops(self->r_.udp_socket.native_handle()));
            }
            const auto n = proto::encode(snap, self->report_);
            asio::async_write(self->socket_, asio::buffer(self->report_.data(), n),
                              [self](asio::error_code wec, std::size_t) {
                                  if (!wec) self->control_read();
                              });
        });
    }

    responder::impl& r_;
    tcp::socket socket_;
    std::uint64_t id_;
    tcp::endpoint peer_;
    mono_clock::time_point started_, last_activity_, source_until_;
    std::array<std::byte, proto::hello_size> head_{};
    std::array<std::byte, proto::hello_reply_size> reply_{};
    std::array<std::byte, proto::report_request_size> op_{};
    std::array<std::byte, proto::udp_report_extended_size> report_{};
    std::vector<std::byte> buf_;
    proto::hello hello_{};
    bool hello_ok_ = false;
    bool counted_ = false;
    std::uint64_t cookie_ = 0;
    std::shared_ptr<udp_session> udp_;
    std::uint64_t messages_ = 0;
    std::uint64_t bytes_ = 0;
    std::string end_reason_;
};

}  // namespace

void responder::impl::accept() {
    // accept() fills in the peer's address: no getpeername per session.
    acceptor.async_accept(accept_peer, [this](asio::error_code ec, tcp::socket s) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        if (!ec) {
            auto session = std::make_shared<tcp_session>(*this, std::move(s), accept_peer);
            live.push_back(session);
            session->start();
        }
        accept();
    });
}

void responder::impl::tick() {
    watchdog.expires_after(std::chrono::milliseconds{250});
    watchdog.async_wait([this](asio::error_code ec) {
        if (ec) return;
        const auto now = mono_clock::now();
        std::erase_if(live, [&](std::weak_ptr<tcp_session>& w) {
            auto s = w.lock();
            if (!s || !s->open()) return true;
            if (s->overdue(now)) {
                ++dropped_idle;
                s->drop("dropped: idle or slow peer");
            }
            return false;
        });
        tick();
    });
}

void responder::impl::udp_loop() {
    const int fd = udp_socket.native_handle();
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
        // Blocks until one datagram is there (or the 200 ms receive timeout lets us check the
        // stop flag), then takes whatever else is queued, up to a batch.
        const int n = ::recvmmsg(fd, rx_msgs.data(), batch, MSG_WAITFORONE, nullptr);
        if (n <= 0) continue;
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
    }
}

void responder::impl::on_udp_batch(int n, std::size_t& replies) {
    std::uint64_t last_cookie = 0;
    udp_session* last = nullptr;
    for (int i = 0; i < n; ++i) {
        const auto idx = static_cast<std::size_t>(i);
        const auto total = static_cast<std::size_t>(rx_msgs[idx].msg_len);
        // With UDP GRO one buffer holds several datagrams of gso_size bytes (the last may be
        // shorter); split them back.
        std::size_t seg = total;
        for (cmsghdr* cm = CMSG_FIRSTHDR(&rx_msgs[idx].msg_hdr); cm != nullptr;
             cm = CMSG_NXTHDR(&rx_msgs[idx].msg_hdr, cm)) {
            if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
                int v = 0;
                std::memcpy(&v, CMSG_DATA(cm), sizeof v);
                if (v > 0) seg = static_cast<std::size_t>(v);
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
            if (h.value.cookie != last_cookie || last == nullptr) {
                const auto it = udp_sessions.find(h.value.cookie);
                if (it == udp_sessions.end()) {
                    ++udp_dropped;
                    continue;
                }
                last_cookie = h.value.cookie;
                last = it->second.get();
            }
            last->last_activity_ns = now;
            ++udp_datagrams;
            if (h.value.kind == proto::udp_kind::stream && last->mode == proto::mode::udp_sink) {
                last->on_stream(h.value.seq, h.value.send_ns, len, now, off == 0);
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
                ++replies;
                ++last->echoes;
            } else {
                ++udp_dropped;
            }
        }
    }
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
    r.udp_socket.open(uep.protocol(), ec);
    if (!ec) {
        r.udp_socket.set_option(asio::socket_base::reuse_address(true), ec);
        if (dual) r.udp_socket.set_option(asio::ip::v6_only(false), ec);
        r.udp_socket.set_option(asio::socket_base::receive_buffer_size(8 << 20), ec);
        r.udp_socket.set_option(asio::socket_base::send_buffer_size(8 << 20), ec);
        // Let the kernel hand over coalesced datagrams (UDP GRO) where it can; split on receipt.
        const int on = 1;
        (void)::setsockopt(r.udp_socket.native_handle(), SOL_UDP, UDP_GRO, &on, sizeof on);
        ec = {};
        r.udp_socket.bind(uep, ec);
    }
    if (ec) {
        asio::error_code ignored;
        r.acceptor.close(ignored);
        r.udp_socket.close(ignored);
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

std::unique_ptr<responder> responder::start(const responder_config& cfg, std::error_code& ec) {
    ec.clear();
    auto p = std::make_unique<impl>();
    p->cfg = cfg;
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
    p->udp_socket.non_blocking(false);
    const timeval rcv_timeout{0, 200'000};
    (void)::setsockopt(p->udp_socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &rcv_timeout,
                       sizeof rcv_timeout);
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
    return {impl_->sessions.load(),      impl_->rejected.load(),    impl_->dropped_idle.load(),
            impl_->udp_datagrams.load(), impl_->udp_dropped.load(), impl_->udp_replies.load()};
}

void responder::stop() noexcept {
    if (!impl_ || !impl_->thread.joinable()) return;
    impl_->udp_stop = true;
    ::shutdown(impl_->udp_socket.native_handle(), SHUT_RDWR);  // wakes the blocked recvmmsg
    impl_->udp_thread.join();
    asio::post(impl_->io, [p = impl_.get()] {
        asio::error_code ignored;
        p->acceptor.close(ignored);
        p->udp_socket.close(ignored);
        p->watchdog.cancel();
        for (auto& w : p->live)
            if (auto s = w.lock()) s->drop("responder stopping");
        p->live.clear();
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
