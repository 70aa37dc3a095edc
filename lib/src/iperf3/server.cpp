// nettool as an iperf3 server (docs/iperf3.md, "nettool as an iperf3 server"): one listening
// socket; an accepting thread reads each connection's cookie (with the handshake deadline) and
// either starts a test (a new cookie: its control connection) or hands the connection to the
// test that cookie names, while that test waits in CREATE_STREAMS. Each test runs its state
// machine on a thread of its own, and its data streams one thread each (probe/stream_loop.hpp).
#include <nettool/iperf3/server.hpp>

#include <nettool/core/cursor.hpp>
#include <nettool/core/error.hpp>
#include <nettool/core/report.hpp>
#include <nettool/iperf3/control.hpp>
#include <nettool/iperf3/udp_datagram.hpp>

#include "iperf3/server_params.hpp"
#include "net/socket.hpp"
#include "probe/stream_loop.hpp"
#include "probe/udp_sequence.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nettool {

using namespace std::chrono_literals;

namespace detail {
namespace {

// iperf_api.h's i_errno values this server sends in SERVER_ERROR.
constexpr std::int32_t ie_message = 110;        // received an unknown control message
constexpr std::int32_t ie_recvmessage = 112;    // unable to receive control message
constexpr std::int32_t ie_recvparams = 114;     // unable to receive parameters from client
constexpr std::int32_t ie_recvresults = 117;    // unable to receive results
constexpr std::int32_t ie_streamaccept = 204;   // unable to accept stream connection

// Send buffer of a sending stream and read buffer of a receiving one: iperf3's default block.
constexpr std::size_t io_block = 128 * 1024;
constexpr std::chrono::milliseconds tick{250};
// Connections whose test has ended are told apart from new tests for this long.
constexpr std::chrono::seconds ended_memory{120};
constexpr std::size_t max_ended_remembered = 4096;

// How a test ended, as the stats count it.
enum class end_kind { completed, malformed, stalled, idle, other };

// Thrown inside a test's thread to end it.
struct ended {
    end_kind kind = end_kind::other;
    std::string why{};
    std::int32_t iperf_error = 0;  // SERVER_ERROR with this code when not 0
    bool terminate = false;        // SERVER_TERMINATE (the server is stopping)
};

// The address of a socket_address as bytes (an IPv4-mapped IPv6 address as its IPv4 address),
// and its source: an IPv4 address or an IPv6 /64, as the responder counts sources.
std::string address_key(const socket_address& a) {
    if (a.family() == AF_INET) {
        const auto* s = reinterpret_cast<const sockaddr_in*>(a.data());
        return {reinterpret_cast<const char*>(&s->sin_addr), 4};
    }
    if (a.family() == AF_INET6) {
        const auto* s = reinterpret_cast<const sockaddr_in6*>(a.data());
        const auto* b = reinterpret_cast<const char*>(&s->sin6_addr);
        if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) return {b + 12, 4};
        return {b, 16};
    }
    return {};
}
std::string source_key(const socket_address& a) {
    auto k = address_key(a);
    if (k.size() == 16) k.resize(8);
    return k;
}

bool valid_cookie(std::span<const std::byte, iperf3::cookie_size> c) {
    for (std::size_t i = 0; i + 1 < c.size(); ++i) {
        const auto ch = std::to_integer<char>(c[i]);
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '2' && ch <= '7'))) return false;
    }
    return std::to_integer<char>(c.back()) == '\0';
}

struct cpu_times {
    double user = 0, system = 0;
};
cpu_times cpu_now() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return {.user = static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6,
            .system = static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6};
}

void wake(int efd) noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(efd, &one, sizeof one);
}
void drain(int efd) noexcept {
    std::uint64_t v = 0;
    [[maybe_unused]] const auto n = ::read(efd, &v, sizeof v);
}

// iperf3 numbers streams 1, 3, 4, 5... in the order the server accepted them.
std::int64_t stream_id(std::size_t index) {
    return index == 0 ? 1 : static_cast<std::int64_t>(index) + 2;
}

// Session lines at most log_lines_per_second a second; beyond, one summary line a second.
class log_limiter {
public:
    explicit log_limiter(const responder_config& cfg) : cfg_(cfg) {}
    void line(std::string_view s) {
        if (!cfg_.log) return;
        std::lock_guard lock{mu_};
        roll(mono_clock::now());
        if (in_window_ < cfg_.log_lines_per_second) {
            ++in_window_;
            cfg_.log(s);
        } else {
            ++suppressed_;
        }
    }
    void tick() {
        if (!cfg_.log) return;
        std::lock_guard lock{mu_};
        roll(mono_clock::now());
    }

private:
    void roll(mono_clock::time_point now) {
        if (now - window_start_ < 1s) return;
        if (suppressed_ != 0) cfg_.log(fmt::format("{} more iperf3 log lines left out", suppressed_));
        suppressed_ = 0;
        in_window_ = 0;
        window_start_ = now;
    }
    const responder_config& cfg_;
    std::mutex mu_;
    mono_clock::time_point window_start_ = mono_clock::now();
    std::size_t in_window_ = 0;
    std::uint64_t suppressed_ = 0;
};

struct source_state {
    std::size_t active = 0;
    double tokens = 0;
    mono_clock::time_point refilled{};
};

struct counters {
    std::atomic<std::uint64_t> tests{0}, completed{0}, refused_busy{0}, refused_limits{0};
    std::atomic<std::uint64_t> ended_malformed{0}, ended_stalled{0}, ended_idle{0}, ended_other{0};
    std::atomic<std::uint64_t> no_cookie{0}, streams{0}, streams_refused{0};
    std::atomic<std::uint64_t> bytes_received{0}, bytes_sent{0};
    std::atomic<std::uint64_t> udp_datagrams{0}, udp_lost{0}, udp_connects_refused{0};
};

// A data connection handed to a test: in accept order (seq), so ids follow iperf3's.
struct incoming_stream {
    unique_fd fd;
    std::uint64_t seq = 0;
};

struct server_stream {
    unique_fd fd;
    std::int64_t id = 0;
    bool sends = false;
    std::uint64_t bytes = 0;
    mono_clock::time_point data_end{};
    tcp_info_snapshot info;
    int err = 0;
    std::uint64_t packets = 0;  // UDP: datagrams sent, or the highest sequence number received
    std::uint64_t lost = 0;     // UDP, received: sequence numbers that never arrived
    double jitter_s = 0;        // UDP, received: RFC 3550
};

enum class phase { params, create_streams, running, results };

std::int64_t realtime_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// One UDP stream's receive loop: recvmmsg in batches into `slots`, each datagram's header through
// the cursor into the sequence counter (loss, duplicates, reordering, jitter against the sender's
// clock). Ends when *stop is seen with nothing queued, at hard_end, or after `quiet` without a
// datagram. Nothing allocates; one clock read per batch.
constexpr std::size_t udp_batch = 16;
constexpr std::size_t udp_rx_bytes = 256 * 1024;  // per receiving stream: 16 datagrams, fewer when large
struct udp_rx {
    std::array<mmsghdr, udp_batch> msgs{};
    std::array<iovec, udp_batch> iov{};
    std::size_t count = 0;  // datagrams per recvmmsg
    std::size_t slot = 0;
    std::vector<std::byte> slots;
    explicit udp_rx(std::size_t len)
        : count(std::clamp<std::size_t>(udp_rx_bytes / (len + 1), 1, udp_batch)), slot(len + 1), slots(count * slot) {
        for (std::size_t i = 0; i < count; ++i) {
            iov[i] = {.iov_base = slots.data() + i * slot, .iov_len = slot};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
    }
};
void udp_receive_until(int fd, udp_rx& rx, mono_clock::time_point hard_end, std::chrono::nanoseconds quiet,
                       stream_counter& counter, server_stream& st, udp_sequence_counter& seq, bool c64,
                       const std::atomic<bool>* stop) noexcept {
    auto last = mono_clock::now();
    for (;;) {
        const int n = ::recvmmsg(fd, rx.msgs.data(), static_cast<unsigned>(rx.count), MSG_DONTWAIT, nullptr);
        if (n > 0) {
            const auto now_ns = realtime_ns();
            for (int i = 0; i < n; ++i) {
                const auto len = rx.msgs[static_cast<std::size_t>(i)].msg_len;
                st.bytes += len;
                const auto h = iperf3::parse_udp_header(
                    std::span{rx.slots}.subspan(static_cast<std::size_t>(i) * rx.slot, std::min<std::size_t>(len, rx.slot)),
                    c64);
                if (h)
                    seq.on_datagram(h->seq, now_ns - (static_cast<std::int64_t>(h->sec) * 1'000'000'000 +
                                                      static_cast<std::int64_t>(h->usec) * 1'000));
            }
            counter.bytes.store(st.bytes, std::memory_order_relaxed);
            last = st.data_end = mono_clock::now();
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            // A connected UDP socket reports an ICMP error from the peer once; carry on.
            if (errno == ECONNREFUSED) continue;
            st.err = errno;
            return;
        }
        if (stop && stop->load(std::memory_order_relaxed)) return;
        const auto now = mono_clock::now();
        if (now >= hard_end || now - last >= quiet) return;
        pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
        const auto wait = std::min<mono_clock::duration>({hard_end - now, last + quiet - now, 100ms});
        ::poll(&p, 1, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
    }
}

// One UDP stream's send loop, paced at `rate` bits/s: datagrams of buf.size() bytes with iperf3's
// header (the sender's clock, a sequence number from 1), until `end` or *stop. Only to the
// connected peer, the address the connect exchange came from.
void udp_send_until(int fd, std::span<std::byte> buf, std::uint64_t rate, mono_clock::time_point end,
                    stream_counter& counter, server_stream& st, bool c64, const std::atomic<bool>& stop) noexcept {
    const auto gap = std::chrono::nanoseconds{
        static_cast<std::int64_t>(static_cast<double>(buf.size()) * 8.0 * 1e9 / static_cast<double>(rate))};
    auto next = mono_clock::now();
    std::uint64_t seq = 1;
    for (;;) {
        auto now = mono_clock::now();
        if (now >= end || stop.load(std::memory_order_relaxed)) break;
        if (next > now + 50us) {
            // In slices, so a stop is seen within 50 ms however slow the rate.
            std::this_thread::sleep_for(std::min<mono_clock::duration>({next - now, end - now, 50ms}));
            continue;
        }
        if (now - next > 1s) next = now;  // fell behind (a stall): no burst to catch up
        const auto t = realtime_ns();
        iperf3::write_udp_header(buf,
                                 {.sec = static_cast<std::uint32_t>(t / 1'000'000'000),
                                  .usec = static_cast<std::uint32_t>((t % 1'000'000'000) / 1'000),
                                  .seq = seq},
                                 c64);
        const ssize_t r = ::send(fd, buf.data(), buf.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
                pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
                ::poll(&p, 1, 10);
                continue;
            }
            if (errno == EINTR || errno == ECONNREFUSED) continue;
            st.err = errno;
            break;
        }
        st.bytes += static_cast<std::uint64_t>(r);
        st.packets = seq;
        ++seq;
        next += gap;
        counter.bytes.store(st.bytes, std::memory_order_relaxed);
    }
    st.data_end = mono_clock::now();
}

class test;

}  // namespace
}  // namespace detail

struct iperf3_server::impl {
    iperf3_server_config cfg;
    detail::unique_fd listen_fd;
    detail::unique_fd udp_fd;  // UDP connect datagrams arrive here (same port)
    socket_address udp_local;
    bool v6only = false;
    detail::unique_fd wake_fd;
    std::uint16_t bound_port = 0;
    std::atomic<bool> stopping{false};
    bool stopped = false;
    std::mutex stop_mu;
    detail::counters n;
    detail::log_limiter log{cfg.guards};
    std::thread acceptor;

    std::mutex mu;  // guards tests, ended, sources
    std::map<std::string, std::shared_ptr<detail::test>> tests;
    std::deque<std::pair<std::string, mono_clock::time_point>> ended_order;
    std::set<std::string> ended;
    std::unordered_map<std::string, detail::source_state> sources;

    void accept_loop();
    void udp_connects(std::uint64_t& seq);
    void dispatch(detail::unique_fd fd, const socket_address& peer, std::uint64_t seq,
                  std::span<const std::byte, iperf3::cookie_size> cookie);
    void reap(bool all);
};

namespace detail {
namespace {

class test {
public:
    test(iperf3_server::impl& srv, unique_fd ctl, socket_address peer, std::string cookie)
        : srv_(srv), cfg_(srv.cfg.guards), ctl_(std::move(ctl)), peer_(peer), cookie_(std::move(cookie)),
          wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

    void start() {
        thread_ = std::thread([this] {
            run();
            done_ = true;
            wake(srv_.wake_fd.get());
        });
    }
    bool done() const noexcept { return done_; }
    void request_stop() noexcept { stop_ = true; }
    void join() {
        if (thread_.joinable()) thread_.join();
    }
    const socket_address& peer() const noexcept { return peer_; }

    // A data connection with this test's cookie: taken while the test waits for its streams.
    bool offer_stream(unique_fd& fd, const socket_address& from, std::uint64_t seq, std::string& why) {
        std::lock_guard lock{mu_};
        if (phase_ != phase::create_streams || udp_) {
            why = udp_ ? "a TCP data connection for a UDP test" : "a data connection outside CREATE_STREAMS";
            return false;
        }
        if (address_key(from) != address_key(peer_)) {
            why = "a data connection from another address than the test's control connection";
            return false;
        }
        if (incoming_.size() >= expected_) {
            why = fmt::format("a data connection beyond the {} the test asked for", expected_);
            return false;
        }
        incoming_.push_back({std::move(fd), seq});
        wake(wake_.get());
        return true;
    }

    // A UDP connect datagram from `from` on the listener bound at `local`: taken while this UDP
    // test waits for its streams, from its control connection's address only (so nothing is
    // ever sent to an address that has not completed a TCP handshake with this server). Opens a
    // socket on the same port connected to `from` and answers the connect from it.
    bool offer_udp(const socket_address& from, const socket_address& local, bool v6only, iperf3::connect_version v,
                   std::uint64_t seq, std::string& why) {
        std::lock_guard lock{mu_};
        if (phase_ != phase::create_streams || !udp_) {
            why = "no UDP test of its address awaits streams";
            return false;
        }
        if (address_key(from) != address_key(peer_)) {
            why = "from another address than the test's control connection";
            return false;
        }
        if (incoming_.size() >= expected_) {
            why = fmt::format("beyond the {} streams the test asked for", expected_);
            return false;
        }
        unique_fd fd{::socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
        if (!fd) {
            why = std::strerror(errno);
            return false;
        }
        set_int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
        if (local.is_v6()) set_int_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, v6only ? 1 : 0);
        set_int_option(fd.get(), SOL_SOCKET, SO_RCVBUF, 4 * 1024 * 1024);
        set_int_option(fd.get(), SOL_SOCKET, SO_SNDBUF, 4 * 1024 * 1024);
        std::array<std::byte, iperf3::udp_connect_size> reply{};
        iperf3::write_connect_reply(v, reply);
        if (::bind(fd.get(), local.data(), local.size()) != 0 || ::connect(fd.get(), from.data(), from.size()) != 0 ||
            ::send(fd.get(), reply.data(), reply.size(), MSG_DONTWAIT) != static_cast<ssize_t>(reply.size())) {
            why = fmt::format("opening its socket: {}", std::strerror(errno));
            return false;
        }
        incoming_.push_back({std::move(fd), seq});
        wake(wake_.get());
        return true;
    }

private:
    std::string who() const { return fmt::format("iperf3 test from {}", peer_.to_string()); }

    void run() noexcept;
    void converse();
    void run_streams();

    void set_phase(phase p) {
        std::lock_guard lock{mu_};
        phase_ = p;
    }

    // ---- the control connection -----------------------------------------------------------

    // `before`: bytes of the same item already read, for the words when it stalls.
    void read_exact(std::span<std::byte> out, mono_clock::time_point deadline, std::string_view what,
                    std::size_t before = 0) {
        std::size_t got = 0;
        const int fd = ctl_.get();
        while (got < out.size()) {
            const ssize_t r = ::recv(fd, out.data() + got, out.size() - got, 0);
            if (r > 0) {
                got += static_cast<std::size_t>(r);
                continue;
            }
            if (r == 0)
                throw ended{.kind = end_kind::other,
                            .why = got == 0 ? fmt::format("the client closed the control connection {}", what)
                                            : fmt::format("the client closed the control connection in the "
                                                          "middle of {} ({} of {} bytes)",
                                                          what, before + got, before + out.size())};
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                throw ended{.kind = end_kind::other,
                            .why = fmt::format("control connection: {} {}", std::strerror(errno), what)};
            if (stop_) throw ended{.kind = end_kind::other, .why = "the server is stopping", .terminate = true};
            const auto now = mono_clock::now();
            if (now >= deadline)
                throw ended{
                    .kind = end_kind::stalled,
                    .why = got + before == 0 ? fmt::format("the client sent nothing for {} {}",
                                                  format_duration(cfg_.handshake_timeout), what)
                                    : fmt::format("the client stalled in the middle of {} ({} of {} bytes, "
                                                  "nothing more for {})",
                                                  what, before + got, before + out.size(),
                                                  format_duration(cfg_.handshake_timeout)),
                    .iperf_error = ie_recvmessage};
            pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
            const auto wait = std::min<mono_clock::duration>(deadline - now, 100ms);
            ::poll(&p, 1, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
        }
    }

    iperf3::state read_state(mono_clock::time_point deadline, std::string_view what) {
        std::array<std::byte, 1> b{};
        read_exact(b, deadline, what);
        return to_state(std::to_integer<std::uint8_t>(b[0]), what);
    }
    iperf3::state to_state(std::uint8_t raw, std::string_view what) {
        const auto s = iperf3::parse_state(raw);
        if (!s)
            throw ended{.kind = end_kind::malformed,
                        .why = fmt::format("state byte {}, which iperf3 does not define, {}",
                                           static_cast<int>(static_cast<std::int8_t>(raw)), what),
                        .iperf_error = ie_message};
        if (*s == iperf3::state::client_terminate)
            throw ended{.kind = end_kind::other, .why = "the client terminated the test (CLIENT_TERMINATE)"};
        return *s;
    }
    [[noreturn]] void out_of_order(iperf3::state s, std::string_view where) {
        throw ended{.kind = end_kind::malformed,
                    .why = fmt::format("{} out of order {}", iperf3::state_name(static_cast<std::int8_t>(s)), where),
                    .iperf_error = ie_message};
    }

    // A length-prefixed message of at most cap bytes, whole (length included).
    std::vector<std::byte> read_message(std::uint32_t cap, std::string_view what, std::int32_t code) {
        const auto deadline = mono_clock::now() + cfg_.handshake_timeout;
        const auto waiting = fmt::format("where {} were expected", what);
        std::array<std::byte, 4> head{};
        read_exact(std::span{head}.first(1), deadline, waiting);
        // Every message iperf3 sends is under 16 MiB: a first byte other than 0 is no length. A
        // state byte there is the client running ahead (or behind) of the conversation.
        if (const auto first = std::to_integer<std::uint8_t>(head[0]); first != 0) {
            const auto s = to_state(first, waiting);
            out_of_order(s, waiting);
        }
        read_exact(std::span{head}.subspan(1), deadline, fmt::format("the length of {}", what), 1);
        const auto f = iperf3::parse_frame(head, 0);
        if (f.length == 0)
            throw ended{.kind = end_kind::malformed, .why = fmt::format("{} are empty", what), .iperf_error = code};
        if (f.length > cap)
            throw ended{.kind = end_kind::malformed,
                        .why = fmt::format("{} of {} bytes, over the {}-byte limit", what, f.length, cap),
                        .iperf_error = code};
        std::vector<std::byte> msg(4 + f.length);
        std::copy(head.begin(), head.end(), msg.begin());
        read_exact(std::span{msg}.subspan(4), deadline, what);  // the body's own count
        return msg;
    }

    void write(std::span<const std::byte> data, std::string_view what) {
        std::error_code ec;
        if (!detail::write_all(ctl_.get(), data, mono_clock::now() + cfg_.handshake_timeout, ec))
            throw ended{.kind = ec == errc::timed_out ? end_kind::stalled : end_kind::other,
                        .why = fmt::format("sending {}: {}", what, ec.message())};
    }
    void send_state(iperf3::state s) {
        const std::array<std::byte, 1> b{static_cast<std::byte>(static_cast<std::int8_t>(s))};
        write(b, iperf3::state_name(static_cast<std::int8_t>(s)));
    }
    void send_json(const std::string& json, std::string_view what) {
        std::vector<std::byte> msg(4 + json.size());
        byte_writer w{msg};
        w.u32(static_cast<std::uint32_t>(json.size()));
        std::memcpy(msg.data() + 4, json.data(), json.size());
        write(msg, what);
    }
    // Best effort, briefly: the test is over either way.
    void send_final(std::span<const std::byte> data) noexcept {
        std::error_code ec;
        detail::write_all(ctl_.get(), data, mono_clock::now() + 200ms, ec);
    }

    // ---- the data streams ---------------------------------------------------------------

    void wait_for_streams(unsigned n) {
        const auto deadline = mono_clock::now() + cfg_.handshake_timeout;
        for (;;) {
            {
                std::lock_guard lock{mu_};
                if (incoming_.size() >= n) {
                    phase_ = phase::running;  // late connections are refused from here on
                    return;
                }
            }
            if (stop_) throw ended{.kind = end_kind::other, .why = "the server is stopping", .terminate = true};
            const auto now = mono_clock::now();
            if (now >= deadline) {
                std::size_t have = 0;
                {
                    std::lock_guard lock{mu_};
                    have = incoming_.size();
                    phase_ = phase::running;
                }
                throw ended{.kind = end_kind::stalled,
                            .why = fmt::format("{} of {} data streams arrived within {}", have, n,
                                               format_duration(cfg_.handshake_timeout)),
                            .iperf_error = ie_streamaccept};
            }
            std::array<pollfd, 2> p{pollfd{.fd = ctl_.get(), .events = POLLIN, .revents = 0},
                                    pollfd{.fd = wake_.get(), .events = POLLIN, .revents = 0}};
            const auto wait = std::min<mono_clock::duration>(deadline - now, 100ms);
            ::poll(p.data(), p.size(), static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
            if (p[1].revents != 0) drain(wake_.get());
            if (p[0].revents != 0) {
                // The client has nothing to say before TEST_START.
                const auto s = read_state(deadline, "while the data streams were awaited");
                out_of_order(s, "before TEST_START (the data streams were awaited)");
            }
        }
    }

    iperf3_server::impl& srv_;
    const responder_config& cfg_;
    unique_fd ctl_;
    socket_address peer_;
    std::string cookie_;
    unique_fd wake_;
    std::thread thread_;
    std::atomic<bool> done_{false};
    std::atomic<bool> stop_{false};

    std::mutex mu_;  // guards phase_, expected_, incoming_
    phase phase_ = phase::params;
    std::size_t expected_ = 0;
    bool udp_ = false;
    std::vector<incoming_stream> incoming_;

    iperf3_params params_;
    detail::stream_layout layout_;
    std::vector<server_stream> streams_;
    double seconds_ = 0;
    iperf3::peer_results mine_;
    std::uint64_t received_ = 0, sent_ = 0;
    std::string client_summary_;
};

void test::run() noexcept {
    ended end{.kind = end_kind::completed};
    try {
        converse();
    } catch (ended& e) {
        end = std::move(e);
    } catch (const std::exception& e) {
        end = {.kind = end_kind::other, .why = fmt::format("failed: {}", e.what())};
    }
    try {
        if (end.iperf_error != 0) {
            std::array<std::byte, 9> b{};
            byte_writer w{b};
            w.u8(static_cast<std::uint8_t>(static_cast<std::int8_t>(iperf3::state::server_error)));
            w.u32(static_cast<std::uint32_t>(end.iperf_error));
            w.u32(0);
            send_final(b);
        } else if (end.terminate) {
            const std::array<std::byte, 1> b{
                static_cast<std::byte>(static_cast<std::int8_t>(iperf3::state::server_terminate))};
            send_final(b);
        }
        {
            std::lock_guard lock{mu_};
            phase_ = phase::results;
            incoming_.clear();
        }
        streams_.clear();
        if (end.kind == end_kind::completed) detail::close_gracefully(ctl_.get(), mono_clock::now() + 200ms);
        ctl_.reset();
        auto& n = srv_.n;
        switch (end.kind) {
            case end_kind::completed: ++n.completed; break;
            case end_kind::malformed: ++n.ended_malformed; break;
            case end_kind::stalled: ++n.ended_stalled; break;
            case end_kind::idle: ++n.ended_idle; break;
            case end_kind::other: ++n.ended_other; break;
        }
        if (end.kind == end_kind::completed) {
            srv_.log.line(fmt::format("{}: completed: {}", who(), client_summary_));
        } else {
            static constexpr std::array<const char*, 5> words{"completed", "malformed", "stalled", "idle",
                                                               "ended"};
            srv_.log.line(fmt::format("{}: {}: {}{}", who(), words[static_cast<std::size_t>(end.kind)], end.why,
                                      end.iperf_error != 0 ? fmt::format(" (SERVER_ERROR {}: {})", end.iperf_error,
                                                                         iperf3::describe_iperf_error(end.iperf_error))
                                                           : std::string{}));
        }
    } catch (...) {
        // Logging failed (out of memory): the test is over regardless.
    }
}

void test::converse() {
    detail::set_int_option(ctl_.get(), IPPROTO_TCP, TCP_NODELAY, 1);
    send_state(iperf3::state::param_exchange);
    const auto msg = read_message(iperf3_server_caps::max_params, "parameters", ie_recvparams);
    iperf3_params_error perr;
    params_ = parse_iperf3_params_message(msg, perr);
    if (perr.iperf_error != 0)
        throw ended{.kind = end_kind::malformed, .why = perr.why, .iperf_error = perr.iperf_error};
    const auto dir = params_.bidir     ? stream_direction::bidir
                     : params_.reverse ? stream_direction::download
                                       : stream_direction::upload;
    // The client's view: upload means the client sends, so this server receives.
    layout_ = detail::layout_streams(dir, params_.parallel);
    const unsigned total = layout_.total();
    {
        std::lock_guard lock{mu_};
        expected_ = total;
        udp_ = params_.udp;
        phase_ = phase::create_streams;
    }
    send_state(iperf3::state::create_streams);
    wait_for_streams(total);
    {
        std::lock_guard lock{mu_};
        std::sort(incoming_.begin(), incoming_.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
        streams_.resize(total);
        // --bidir: the client's sending streams come first, so this server's receiving ones do.
        for (std::size_t i = 0; i < total; ++i) {
            auto& s = streams_[i];
            s.fd = std::move(incoming_[i].fd);
            s.id = stream_id(i);
            s.sends = dir == stream_direction::download || (dir == stream_direction::bidir && i >= layout_.per_direction);
        }
        incoming_.clear();
    }
    for (auto& s : streams_) {
        if (!params_.congestion.empty() && !params_.udp)
            (void)::setsockopt(s.fd.get(), IPPROTO_TCP, TCP_CONGESTION, params_.congestion.data(),
                               static_cast<socklen_t>(params_.congestion.size()));
    }
    run_streams();

    // EXCHANGE_RESULTS: the client's results first, then this server's.
    send_state(iperf3::state::exchange_results);
    const auto theirs = read_message(iperf3::max_message, "the client's results", ie_recvresults);
    std::uint64_t client_bytes = 0;
    try {
        const auto r = iperf3::parse_results(std::span{theirs}.subspan(4));
        for (const auto& s : r.streams) client_bytes += s.bytes;
    } catch (const error& e) {
        std::string why = e.what();
        if (const auto at = why.find(": "); at != std::string::npos) why = why.substr(at + 2);
        throw ended{.kind = end_kind::malformed,
                    .why = fmt::format("the client's results are malformed: {}", why),
                    .iperf_error = ie_recvresults};
    }
    send_json(iperf3::results_json(mine_), "the server's results");
    send_state(iperf3::state::display_results);
    set_phase(phase::results);
    const auto s = read_state(mono_clock::now() + cfg_.handshake_timeout, "where IPERF_DONE was expected");
    if (s != iperf3::state::iperf_done) out_of_order(s, "where IPERF_DONE was expected");
    std::uint64_t lost = 0, packets = 0;
    for (std::size_t i = 0; i < mine_.streams.size() && i < streams_.size(); ++i) {
        if (streams_[i].sends) continue;
        lost += mine_.streams[i].errors;
        packets += mine_.streams[i].packets;
    }
    client_summary_ = fmt::format("{} {}, {} stream{}, {} received, {} sent in {:.2f} s (the client counted {}){}",
                                  params_.udp ? "UDP" : "TCP", to_string(dir), total, total == 1 ? "" : "s", format_bytes(static_cast<double>(received_)),
                                  format_bytes(static_cast<double>(sent_)), seconds_,
                                  format_bytes(static_cast<double>(client_bytes)),
                                  params_.udp && layout_.up ? fmt::format(", {} of {} datagrams lost", lost, packets)
                                                            : std::string{});
}

// TEST_START, TEST_RUNNING, data until the client's TEST_END (or a limit), the streams closed.
void test::run_streams() {
    const std::size_t n = streams_.size();
    std::vector<stream_counter> counters(n);
    const bool udp = params_.udp;
    const bool c64 = params_.udp_counters_64bit;
    // UDP datagrams are exactly "len" bytes; TCP writes and reads at most a block.
    const std::size_t block = udp ? params_.len : std::min<std::size_t>(params_.len, io_block);
    const detail::stream_payload payload{udp ? 0 : block};  // TCP's; UDP sends from udp_send_bufs
    std::vector<std::vector<std::byte>> recv_bufs(n);
    std::vector<std::vector<std::byte>> udp_send_bufs(n);
    std::vector<std::unique_ptr<udp_rx>> udp_rxs(n);
    std::vector<std::unique_ptr<udp_sequence_counter>> sequences(n);
    // -u -R: at the rate the client asked for, within the cap; "unlimited" (0) is the cap.
    const std::uint64_t rate = params_.bandwidth == 0 ? iperf3_server_caps::max_udp_rate
                                                      : std::min(params_.bandwidth, iperf3_server_caps::max_udp_rate);
    std::atomic<bool> stop_data{false};
    std::vector<std::thread> threads;
    struct joiner {
        std::atomic<bool>& stop;
        std::vector<std::thread>& threads;
        ~joiner() {
            stop = true;
            for (auto& t : threads)
                if (t.joinable()) t.join();
        }
    } join_guard{stop_data, threads};

    const auto requested = std::chrono::seconds{params_.time_s + params_.omit_s};
    const auto longest = (params_.time_s == 0 ? iperf3_server_caps::max_duration : requested) + iperf3_server_caps::end_margin;
    const auto idle = std::chrono::nanoseconds{cfg_.idle_timeout};

    send_state(iperf3::state::test_start);
    send_state(iperf3::state::test_running);
    const auto start = mono_clock::now();
    const auto hard_end = start + longest;
    const auto cpu0 = cpu_now();
    // A timed test's senders stop when the client's timer does (it starts at TEST_START, as this
    // one), not at its TEST_END: what was sent after the client stopped reading would be counted
    // here and never there. Bytes and block counts (-n, -k) send until TEST_END.
    const auto send_end = params_.time_s == 0 ? hard_end : std::min(hard_end, start + requested);
    for (std::size_t i = 0; i < n; ++i) {
        auto& s = streams_[i];
        s.data_end = start;
        if (udp && s.sends) {
            udp_send_bufs[i].assign(block, std::byte{0x5a});
            threads.emplace_back([&, i] {
                auto& st = streams_[i];
                udp_send_until(st.fd.get(), udp_send_bufs[i], rate, send_end, counters[i], st, c64, stop_data);
            });
        } else if (udp) {
            udp_rxs[i] = std::make_unique<udp_rx>(block);
            sequences[i] = std::make_unique<udp_sequence_counter>();
            threads.emplace_back([&, i] {
                auto& st = streams_[i];
                udp_receive_until(st.fd.get(), *udp_rxs[i], hard_end, idle, counters[i], st, *sequences[i], c64,
                                  &stop_data);
                if (stop_data) {
                    // What the client sent before its TEST_END and is still on the way.
                    udp_receive_until(st.fd.get(), *udp_rxs[i], mono_clock::now() + 250ms, 20ms, counters[i], st,
                                      *sequences[i], c64, nullptr);
                }
                const auto& q = *sequences[i];
                st.packets = q.next() > 0 ? q.next() - 1 : 0;  // iperf3's "packets": the highest sequence number
                st.lost = q.missing(1);
                st.jitter_s = q.jitter_ns() / 1e9;
            });
        } else if (s.sends) {
            threads.emplace_back([&, i] {
                auto& st = streams_[i];
                st.err = detail::send_until(st.fd.get(), payload, send_end, idle, counters[i], st.bytes, &stop_data);
                st.data_end = mono_clock::now();
                st.info = detail::read_tcp_info(st.fd.get());
            });
        } else {
            // Reads of any size suit TCP: larger ones take fewer system calls; memory stays
            // bounded (at most 256 KiB a stream for up to 32 streams, 128 KiB beyond).
            recv_bufs[i].resize(n <= 32 ? 2 * io_block : io_block);
            threads.emplace_back([&, i] {
                auto& st = streams_[i];
                int err = 0;
                const auto end = detail::receive_until(st.fd.get(), recv_bufs[i], hard_end, idle, counters[i],
                                                       st.bytes, st.data_end, err, &stop_data);
                if (end == receive_end::stopped) {
                    // What the client wrote before its TEST_END and is still on the way: read
                    // until the stream stays quiet for 20 ms (at most 250 ms).
                    mono_clock::time_point last = st.data_end;
                    detail::receive_until(st.fd.get(), recv_bufs[i], mono_clock::now() + 250ms, 20ms, counters[i],
                                          st.bytes, last, err, nullptr);
                    if (last > st.data_end) st.data_end = last;
                }
                st.err = err;
            });
        }
    }

    // Watch the control connection for TEST_END; meanwhile the limits: the hard end, idle data,
    // the progress rate.
    std::deque<std::pair<mono_clock::time_point, std::uint64_t>> window;
    std::uint64_t last_total = 0;
    auto last_move = start;
    const double floor_bytes = static_cast<double>(cfg_.min_progress_rate) *
                               std::chrono::duration<double>(cfg_.progress_window).count();
    for (;;) {
        const auto now = mono_clock::now();
        if (stop_) throw ended{.kind = end_kind::other, .why = "the server is stopping", .terminate = true};
        if (now >= hard_end)
            throw ended{.kind = end_kind::idle,
                        .why = fmt::format("still running {} after its requested {} s", format_duration(longest - requested),
                                           requested.count())};
        std::uint64_t total = 0;
        for (const auto& c : counters) total += c.bytes.load(std::memory_order_relaxed);
        if (total != last_total) {
            last_total = total;
            last_move = now;
        } else if (now - last_move >= idle) {
            throw ended{.kind = end_kind::idle,
                        .why = fmt::format("no data for {}", format_duration(idle))};
        }
        window.emplace_back(now, total);
        while (window.size() > 1 && now - window[1].first >= cfg_.progress_window) window.pop_front();
        if (cfg_.min_progress_rate > 0 && now - window.front().first >= cfg_.progress_window &&
            static_cast<double>(total - window.front().second) < floor_bytes)
            throw ended{.kind = end_kind::idle,
                        .why = fmt::format("moved {} in {}, under the minimum of {} B/s",
                                           format_bytes(static_cast<double>(total - window.front().second)),
                                           format_duration(cfg_.progress_window), cfg_.min_progress_rate)};
        pollfd p{.fd = ctl_.get(), .events = POLLIN, .revents = 0};
        const auto wait = std::min<mono_clock::duration>(hard_end - now, tick);
        ::poll(&p, 1, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
        if (p.revents == 0) continue;
        const auto s = read_state(mono_clock::now() + cfg_.handshake_timeout, "while the test was running");
        if (s == iperf3::state::test_end) break;
        out_of_order(s, "while the test was running");
    }
    stop_data = true;
    for (auto& t : threads)
        if (t.joinable()) t.join();
    const auto cpu1 = cpu_now();
    const double wall = std::chrono::duration<double>(mono_clock::now() - start).count();

    mono_clock::time_point last = start;
    double rtt_sum = 0;
    kernel_tcp_view k;
    for (const auto& s : streams_) {
        (s.sends ? sent_ : received_) += s.bytes;
        last = std::max(last, s.data_end);
        if (s.sends) detail::sample(k, s.info, rtt_sum);
    }
    srv_.n.bytes_received += received_;
    srv_.n.bytes_sent += sent_;
    for (std::size_t i = 0; i < n; ++i) {
        if (!sequences[i]) continue;
        srv_.n.udp_datagrams += sequences[i]->received();
        srv_.n.udp_lost += streams_[i].lost;
    }
    seconds_ = std::chrono::duration<double>(last - start).count();
    mine_ = {};
    if (wall > 0) {
        mine_.cpu_util_user = 100.0 * (cpu1.user - cpu0.user) / wall;
        mine_.cpu_util_system = 100.0 * (cpu1.system - cpu0.system) / wall;
        mine_.cpu_util_total = mine_.cpu_util_user + mine_.cpu_util_system;
    }
    mine_.sender_has_retransmits = layout_.down && !udp;  // the client receives: this server sent
    mine_.congestion_used = k.congestion_control;
    if (mine_.congestion_used.empty() && !streams_.empty()) {
        const auto info = detail::read_tcp_info(streams_.front().fd.get());
        mine_.congestion_used = info.congestion.data();
    }
    for (const auto& s : streams_) {
        iperf3::stream_report r{.id = s.id,
                                .bytes = s.bytes,
                                .end_time_s = std::chrono::duration<double>(s.data_end - start).count()};
        if (s.sends && s.info.valid && !udp) r.retransmits = s.info.total_retrans;
        if (udp) {
            r.packets = s.packets;
            r.errors = s.lost;
            r.jitter_s = s.jitter_s;
        }
        mine_.streams.push_back(r);
    }
    // iperf3's server closes every data stream at TEST_END.
    for (auto& s : streams_) s.fd.reset();
}

}  // namespace
}  // namespace detail

// ---- the accepting thread ---------------------------------------------------------------------

void iperf3_server::impl::accept_loop() {
    struct pending {
        detail::unique_fd fd;
        socket_address peer;
        std::array<std::byte, iperf3::cookie_size> buf{};
        std::size_t got = 0;
        mono_clock::time_point deadline{};
        std::uint64_t seq = 0;
    };
    std::vector<pending> pend;
    std::vector<pollfd> pfds;
    std::uint64_t seq = 0;
    mono_clock::time_point paused_until{};
    std::chrono::milliseconds backoff{0};
    const auto& g = cfg.guards;
    while (!stopping) {
        const auto now = mono_clock::now();
        const bool listening = now >= paused_until;
        pfds.clear();
        pfds.push_back({.fd = wake_fd.get(), .events = POLLIN, .revents = 0});
        pfds.push_back({.fd = listening ? listen_fd.get() : -1, .events = POLLIN, .revents = 0});
        pfds.push_back({.fd = udp_fd.get(), .events = POLLIN, .revents = 0});
        auto next = now + detail::tick;
        for (const auto& p : pend) {
            pfds.push_back({.fd = p.fd.get(), .events = POLLIN, .revents = 0});
            next = std::min(next, p.deadline);
        }
        if (!listening) next = std::min(next, paused_until);
        const auto wait = std::max<mono_clock::duration>(next - now, 0ms);
        ::poll(pfds.data(), pfds.size(), static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
        if (pfds[0].revents != 0) detail::drain(wake_fd.get());
        if (stopping) break;
        if (pfds[2].revents != 0) udp_connects(seq);

        // Cookies arriving, in accept order.
        for (std::size_t i = 0; i < pend.size(); ++i) {
            if (pfds[3 + i].revents == 0) continue;
            auto& p = pend[i];
            const ssize_t r = ::recv(p.fd.get(), p.buf.data() + p.got, p.buf.size() - p.got, 0);
            if (r > 0) {
                p.got += static_cast<std::size_t>(r);
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK)) {
                ++n.no_cookie;
                log.line(fmt::format("iperf3 connection from {}: closed after {} of the cookie's {} bytes",
                                     p.peer.to_string(), p.got, iperf3::cookie_size));
                p.fd.reset();
            }
        }
        const auto after = mono_clock::now();
        for (auto& p : pend) {
            if (p.fd && p.got == p.buf.size()) {
                dispatch(std::move(p.fd), p.peer, p.seq, p.buf);
            } else if (p.fd && after >= p.deadline) {
                ++n.no_cookie;
                log.line(fmt::format("iperf3 connection from {}: {} of the cookie's {} bytes within {}; closed",
                                     p.peer.to_string(), p.got, iperf3::cookie_size, format_duration(g.handshake_timeout)));
                p.fd.reset();
            }
        }
        std::erase_if(pend, [](const pending& p) { return !p.fd; });

        // New connections.
        if (listening && pfds[1].revents != 0) {
            for (int k = 0; k < 64; ++k) {
                sockaddr_storage ss{};
                socklen_t len = sizeof ss;
                const int fd = ::accept4(listen_fd.get(), reinterpret_cast<sockaddr*>(&ss), &len,
                                         SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                        backoff = std::clamp(backoff * 2, 50ms, 1000ms);
                        paused_until = mono_clock::now() + backoff;
                        log.line(fmt::format("iperf3: accept failed ({}); pausing accepts for {}",
                                             std::strerror(errno), format_duration(backoff)));
                    }
                    break;
                }
                backoff = 0ms;
                detail::unique_fd conn{fd};
                const auto peer = socket_address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
                if (pend.size() >= iperf3_server_caps::max_pending) {
                    ++n.no_cookie;
                    log.line(fmt::format("iperf3 connection from {}: {} connections already wait for their cookie; closed",
                                         peer.to_string(), pend.size()));
                    continue;
                }
                pend.push_back({.fd = std::move(conn),
                                .peer = peer,
                                .got = 0,
                                .deadline = mono_clock::now() + g.handshake_timeout,
                                .seq = ++seq});
            }
        }
        reap(false);
        log.tick();
    }
}

void iperf3_server::impl::dispatch(detail::unique_fd fd, const socket_address& peer, std::uint64_t seq,
                                   std::span<const std::byte, iperf3::cookie_size> cookie) {
    if (!detail::valid_cookie(cookie)) {
        ++n.no_cookie;
        log.line(fmt::format("iperf3 connection from {}: not an iperf3 cookie; closed", peer.to_string()));
        return;
    }
    std::string key(reinterpret_cast<const char*>(cookie.data()), cookie.size() - 1);
    std::unique_lock lock{mu};
    if (const auto it = tests.find(key); it != tests.end()) {
        std::string why;
        if (it->second->offer_stream(fd, peer, seq, why)) {
            ++n.streams;
            return;
        }
        lock.unlock();
        ++n.streams_refused;
        log.line(fmt::format("iperf3 connection from {}: {}; closed", peer.to_string(), why));
        return;
    }
    if (ended.contains(key)) {
        lock.unlock();
        ++n.streams_refused;
        log.line(fmt::format("iperf3 connection from {}: the cookie of a test that has ended; closed", peer.to_string()));
        return;
    }
    // A new test. The limits of the responder, a test counting as a session.
    const auto& g = cfg.guards;
    const char* refused = nullptr;
    const auto now = mono_clock::now();
    const auto src = detail::source_key(peer);
    if (tests.size() >= g.max_sessions) {
        refused = "busy";
        ++n.refused_busy;
    } else {
        const auto [it, fresh] = sources.try_emplace(src);
        auto& s = it->second;
        const auto rate = static_cast<double>(g.max_session_rate_per_source);
        s.tokens = fresh ? rate : std::min(rate, s.tokens + std::chrono::duration<double>(now - s.refilled).count() * rate);
        s.refilled = now;
        if (s.active >= g.max_sessions_per_source) {
            refused = "its source's session limit";
            ++n.refused_limits;
        } else if (s.tokens < 1.0) {
            refused = "its source's session rate";
            ++n.refused_limits;
        } else {
            s.tokens -= 1.0;
            ++s.active;
        }
    }
    if (refused) {
        lock.unlock();
        // What iperf3 -s answers when busy: its client prints "the server is busy running a test".
        const std::array<std::byte, 1> denied{
            static_cast<std::byte>(static_cast<std::int8_t>(iperf3::state::access_denied))};
        std::error_code ec;
        detail::write_all(fd.get(), denied, mono_clock::now() + 100ms, ec);
        log.line(fmt::format("iperf3 test from {}: refused (ACCESS_DENIED): {}", peer.to_string(), refused));
        return;
    }
    auto t = std::make_shared<detail::test>(*this, std::move(fd), peer, key);
    tests.emplace(key, t);
    ++n.tests;
    t->start();
}

// UDP connect datagrams: each answered only for a UDP test in CREATE_STREAMS whose control
// connection came from the same address; anything else is dropped unanswered.
void iperf3_server::impl::udp_connects(std::uint64_t& seq) {
    for (int k = 0; k < 64; ++k) {
        std::array<std::byte, 64> b{};
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const ssize_t r = ::recvfrom(udp_fd.get(), b.data(), b.size(), MSG_DONTWAIT | MSG_TRUNC,
                                     reinterpret_cast<sockaddr*>(&ss), &len);
        if (r < 0) return;
        const auto from = socket_address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
        const auto v = r == static_cast<ssize_t>(iperf3::udp_connect_size)
                           ? iperf3::parse_connect_message(std::span{b}.first(iperf3::udp_connect_size))
                           : std::nullopt;
        if (!v) {
            ++n.udp_connects_refused;
            log.line(fmt::format("iperf3 UDP datagram of {} bytes from {}: not a connect message; dropped", r,
                                 from.to_string()));
            continue;
        }
        bool taken = false;
        {
            std::lock_guard lock{mu};
            std::string why;
            for (auto& [cookie, t] : tests)
                if ((taken = t->offer_udp(from, udp_local, v6only, *v, ++seq, why))) break;
        }
        if (taken) {
            ++n.streams;
        } else {
            ++n.udp_connects_refused;
            log.line(fmt::format("iperf3 UDP connect from {}: no UDP test of that address awaits its streams; "
                                 "not answered",
                                 from.to_string()));
        }
    }
}

// Joins the threads of tests that have ended (all: every test, after asking it to stop).
void iperf3_server::impl::reap(bool all) {
    std::vector<std::shared_ptr<detail::test>> gone;
    {
        std::lock_guard lock{mu};
        const auto now = mono_clock::now();
        for (auto it = tests.begin(); it != tests.end();) {
            if (all) it->second->request_stop();
            if (all || it->second->done()) {
                if (const auto s = sources.find(detail::source_key(it->second->peer()));
                    s != sources.end() && s->second.active > 0)
                    --s->second.active;
                if (ended.insert(it->first).second) ended_order.emplace_back(it->first, now);
                gone.push_back(std::move(it->second));
                it = tests.erase(it);
            } else {
                ++it;
            }
        }
        while (!ended_order.empty() &&
               (ended_order.size() > detail::max_ended_remembered || now - ended_order.front().second > detail::ended_memory)) {
            ended.erase(ended_order.front().first);
            ended_order.pop_front();
        }
        std::erase_if(sources, [&](const auto& kv) { return kv.second.active == 0 && now - kv.second.refilled >= 1s; });
    }
    for (auto& t : gone) t->join();
}

// ---- start, stop, stats -------------------------------------------------------------------------

iperf3_server::iperf3_server(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}

iperf3_server::~iperf3_server() {
    stop();
}

namespace {

detail::unique_fd listen_on(const iperf3_server_config& cfg, std::error_code& ec, socket_address& bound, bool& v6only) {
    socket_address addr;
    bool dual = false;
    if (cfg.bind_address.empty()) {
        addr = socket_address::from_numeric("::", cfg.port, ec);
        dual = true;
    } else {
        addr = socket_address::from_numeric(cfg.bind_address, cfg.port, ec);
    }
    if (ec) return {};
    for (int attempt = 0; attempt < 2; ++attempt) {
        detail::unique_fd fd{::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
        if (!fd && dual && errno == EAFNOSUPPORT) {
            addr = socket_address::from_numeric("0.0.0.0", cfg.port, ec);
            dual = false;
            continue;
        }
        if (!fd) {
            ec = {errno, std::system_category()};
            return {};
        }
        detail::set_int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
        if (addr.is_v6()) detail::set_int_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, dual ? 0 : 1);
        if (::bind(fd.get(), addr.data(), addr.size()) != 0 || ::listen(fd.get(), SOMAXCONN) != 0) {
            ec = {errno, std::system_category()};
            return {};
        }
        ec.clear();
        bound = addr;
        bound.set_port(detail::local_address(fd.get()).port());
        v6only = addr.is_v6() && !dual;
        return fd;
    }
    ec = {EAFNOSUPPORT, std::system_category()};
    return {};
}
}  // namespace

std::unique_ptr<iperf3_server> iperf3_server::start(const iperf3_server_config& cfg, std::error_code& ec) {
    ec.clear();
    auto p = std::make_unique<impl>();
    p->cfg = cfg;
    p->cfg.guards = within_caps(cfg.guards);
    // TCP, then UDP on the same port number (with port 0, a few tries for a number free for both).
    for (int attempt = 0; attempt < 8; ++attempt) {
        p->listen_fd = listen_on(p->cfg, ec, p->udp_local, p->v6only);
        if (ec) return nullptr;
        p->bound_port = p->udp_local.port();
        p->udp_fd = detail::unique_fd{::socket(p->udp_local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
        if (!p->udp_fd) {
            ec = {errno, std::system_category()};
            return nullptr;
        }
        detail::set_int_option(p->udp_fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
        if (p->udp_local.is_v6())
            detail::set_int_option(p->udp_fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, p->v6only ? 1 : 0);
        if (::bind(p->udp_fd.get(), p->udp_local.data(), p->udp_local.size()) == 0) break;
        ec = {errno, std::system_category()};
        p->udp_fd.reset();
        p->listen_fd.reset();
        if (cfg.port != 0) return nullptr;
    }
    if (!p->udp_fd) return nullptr;
    ec.clear();
    p->wake_fd = detail::unique_fd{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    if (!p->wake_fd) {
        ec = {errno, std::system_category()};
        return nullptr;
    }
    p->acceptor = std::thread([raw = p.get()] { raw->accept_loop(); });
    return std::unique_ptr<iperf3_server>(new iperf3_server(std::move(p)));
}

std::uint16_t iperf3_server::port() const noexcept {
    return impl_->bound_port;
}

void iperf3_server::stop() noexcept {
    if (!impl_) return;
    std::lock_guard lock{impl_->stop_mu};
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->stopping = true;
    detail::wake(impl_->wake_fd.get());
    if (impl_->acceptor.joinable()) impl_->acceptor.join();
    impl_->reap(true);
    impl_->listen_fd.reset();
    impl_->udp_fd.reset();
}

iperf3_server_stats iperf3_server::stats() const noexcept {
    const auto& n = impl_->n;
    return {.tests = n.tests,
            .completed = n.completed,
            .refused_busy = n.refused_busy,
            .refused_limits = n.refused_limits,
            .ended_malformed = n.ended_malformed,
            .ended_stalled = n.ended_stalled,
            .ended_idle = n.ended_idle,
            .ended_other = n.ended_other,
            .no_cookie = n.no_cookie,
            .streams = n.streams,
            .streams_refused = n.streams_refused,
            .bytes_received = n.bytes_received,
            .bytes_sent = n.bytes_sent,
            .udp_datagrams = n.udp_datagrams,
            .udp_lost = n.udp_lost,
            .udp_connects_refused = n.udp_connects_refused};
}

void to_json(nlohmann::json& j, const iperf3_server_stats& s) {
    j = {{"tests", s.tests},
         {"completed", s.completed},
         {"refused_busy", s.refused_busy},
         {"refused_limits", s.refused_limits},
         {"ended_malformed", s.ended_malformed},
         {"ended_stalled", s.ended_stalled},
         {"ended_idle", s.ended_idle},
         {"ended_other", s.ended_other},
         {"no_cookie", s.no_cookie},
         {"streams", s.streams},
         {"streams_refused", s.streams_refused},
         {"bytes_received", s.bytes_received},
         {"bytes_sent", s.bytes_sent},
         {"udp_datagrams", s.udp_datagrams},
         {"udp_lost", s.udp_lost},
         {"udp_connects_refused", s.udp_connects_refused}};
}

std::string summary(const iperf3_server_stats& s) {
    return fmt::format(
        "{} iperf3 tests ({} completed), {} refused busy, {} refused by the per-source limits, ended: {} malformed, "
        "{} stalled, {} idle or too slow, {} otherwise; {} without a cookie; {} data streams ({} refused); {} "
        "received, {} sent; {} UDP datagrams ({} lost, {} connects refused)",
        s.tests, s.completed, s.refused_busy, s.refused_limits, s.ended_malformed, s.ended_stalled, s.ended_idle,
        s.ended_other, s.no_cookie, s.streams, s.streams_refused, format_bytes(static_cast<double>(s.bytes_received)),
        format_bytes(static_cast<double>(s.bytes_sent)), s.udp_datagrams, s.udp_lost, s.udp_connects_refused);
}

}  // namespace nettool
