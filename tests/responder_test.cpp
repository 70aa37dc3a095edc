#include <nettool/probe/responder.hpp>

#include <nettool/probe/protocol.hpp>
#include <nettool/probe/udp_probe.hpp>

#include "probe/session.hpp"
#include "net/socket.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <array>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>

namespace {

using namespace std::chrono_literals;
using namespace nettool;

std::unique_ptr<responder> start_loopback(responder_config cfg = {}) {
    cfg.bind_address = cfg.bind_address.empty() ? "127.0.0.1" : cfg.bind_address;
    cfg.port = 0;
    std::error_code ec;
    auto r = responder::start(cfg, ec);
    EXPECT_TRUE(r) << ec.message();
    return r;
}

proto::hello_reply exchange(const socket_address& to, std::span<const std::byte> hello_bytes,
                            detail::unique_fd& keep) {
    std::error_code ec;
    const auto deadline = mono_clock::now() + 3s;
    keep = detail::tcp_connect(to, deadline, ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(detail::write_all(keep.get(), hello_bytes, deadline, ec));
    std::array<std::byte, proto::hello_reply_size> in{};
    EXPECT_TRUE(detail::read_exact(keep.get(), in, deadline, ec)) << ec.message();
    const auto d = proto::decode_hello_reply(in);
    EXPECT_TRUE(d);
    return d.value;
}

proto::hello_reply exchange(const socket_address& to, const proto::hello& h, detail::unique_fd& keep) {
    std::array<std::byte, proto::hello_size> out{};
    proto::encode(h, out);
    return exchange(to, out, keep);
}

TEST(Responder, BindsOnePortForTcpAndUdp) {
    auto r = start_loopback();
    ASSERT_TRUE(r);
    EXPECT_NE(r->port(), 0);
    EXPECT_EQ(r->local_endpoint().to_string(), "127.0.0.1:" + std::to_string(r->port()));
}

// Bound to every address, the responder answers each datagram from the address it came to: a
// client's connected socket takes nothing else. Loopback's 127.0.0.0/8 makes the case without a
// namespace: a request to 127.0.0.2 comes from 127.0.0.1, and the route back to 127.0.0.1 would
// pick 127.0.0.1 as the source.
TEST(Responder, AnswersUdpFromTheAddressTheRequestCameTo) {
    for (const char* bind : {"", "0.0.0.0"}) {
        responder_config cfg;
        cfg.bind_address = bind;
        cfg.port = 0;
        std::error_code ec;
        auto r = responder::start(cfg, ec);
        ASSERT_TRUE(r) << ec.message();
        const auto port = r->local_endpoint().port();
        for (const char* host : {"127.0.0.1", "127.0.0.2", "127.3.4.5"}) {
            udp_rr_options o;
            o.count = 5;
            o.warm_up = false;
            o.drain = 0ns;
            const auto to = socket_address::from_numeric(host, port, ec);
            ASSERT_FALSE(ec);
            const auto u = udp_rr_probe(to, o);
            EXPECT_TRUE(u.error.empty()) << bind << " " << host << ": " << u.error;
            EXPECT_EQ(u.received, 5u) << "bound to '" << bind << "', asked at " << host;
        }
    }
}

TEST(Responder, RefusesOtherVersionsBadModesAndBadSizes) {
    auto r = start_loopback();
    detail::unique_fd fd;
    std::array<std::byte, proto::hello_size> raw{};
    proto::encode(proto::hello{proto::mode::echo, 64, 0}, raw);
    raw[4] = std::byte{9};
    EXPECT_EQ(exchange(r->local_endpoint(), raw, fd).st, proto::status::bad_version);
    raw[4] = std::byte{1};
    raw[5] = std::byte{42};
    EXPECT_EQ(exchange(r->local_endpoint(), raw, fd).st, proto::status::bad_mode);
    EXPECT_EQ(exchange(r->local_endpoint(), proto::hello{proto::mode::echo, 0, 0}, fd).st,
              proto::status::bad_param);
    EXPECT_EQ(
        exchange(r->local_endpoint(), proto::hello{proto::mode::echo, proto::max_tcp_message + 1, 0}, fd).st,
        proto::status::bad_param);
    EXPECT_EQ(
        exchange(r->local_endpoint(), proto::hello{proto::mode::source, 0, proto::max_duration_ms + 1}, fd)
            .st,
        proto::status::bad_param);
    EXPECT_EQ(exchange(r->local_endpoint(), proto::hello{proto::mode::udp_echo, 31, 0}, fd).st, proto::status::bad_param);
    EXPECT_EQ(r->stats().rejected, 6u);
}

TEST(Responder, CapsSessions) {
    responder_config cfg;
    cfg.max_sessions = 2;
    auto r = start_loopback(cfg);
    detail::unique_fd a, b, c;
    EXPECT_EQ(exchange(r->local_endpoint(), proto::hello{proto::mode::echo, 8, 0}, a).st, proto::status::ok);
    EXPECT_EQ(exchange(r->local_endpoint(), proto::hello{proto::mode::echo, 8, 0}, b).st, proto::status::ok);
    EXPECT_EQ(exchange(r->local_endpoint(), proto::hello{proto::mode::echo, 8, 0}, c).st,
              proto::status::busy);
    a.reset();
    // The slot frees once the responder sees the close.
    proto::status st = proto::status::busy;
    for (int i = 0; i < 50 && st == proto::status::busy; ++i) {
        std::this_thread::sleep_for(20ms);
        st = exchange(r->local_endpoint(), proto::hello{proto::mode::echo, 8, 0}, c).st;
    }
    EXPECT_EQ(st, proto::status::ok);
}

TEST(Responder, DropsAPeerThatSendsNoHello) {
    responder_config cfg;
    cfg.handshake_timeout = 300ms;
    auto r = start_loopback(cfg);
    std::error_code ec;
    auto fd = detail::tcp_connect(r->local_endpoint(), mono_clock::now() + 2s, ec);
    ASSERT_FALSE(ec);
    std::array<std::byte, 1> one{};
    const auto t0 = mono_clock::now();
    // The responder closes: the read sees end of stream, well before our own 5 s limit.
    EXPECT_FALSE(detail::read_exact(fd.get(), one, t0 + 5s, ec));
    EXPECT_EQ(ec, std::errc::connection_aborted) << ec.message();
    EXPECT_LT(mono_clock::now() - t0, 4s);
    EXPECT_EQ(r->stats().dropped_idle, 1u);
}

// Sends raw UDP datagrams and collects whatever comes back within a short wait.
std::vector<std::vector<std::byte>> udp_exchange(const socket_address& to,
                                                 const std::vector<std::vector<std::byte>>& out) {
    std::error_code ec;
    auto fd = detail::udp_connect(to, ec);
    EXPECT_FALSE(ec);
    for (const auto& d : out) ::send(fd.get(), d.data(), d.size(), 0);
    std::vector<std::vector<std::byte>> in;
    std::array<std::byte, 65536> buf{};
    const auto deadline = mono_clock::now() + 300ms;
    while (detail::wait_readable(fd.get(), deadline, ec)) {
        const auto n = ::recv(fd.get(), buf.data(), buf.size(), 0);
        if (n < 0) break;
        in.emplace_back(buf.begin(), buf.begin() + n);
    }
    return in;
}

std::vector<std::byte> datagram(proto::udp_kind kind, std::uint64_t cookie, std::uint64_t seq,
                                std::size_t size) {
    std::vector<std::byte> d(size, std::byte{0x77});
    proto::encode(proto::udp_header{kind, cookie, seq, mono_now_ns()}, d);
    return d;
}

TEST(Responder, EchoesOnlyLiveCookiesAndNeverAmplifies) {
    auto r = start_loopback();
    detail::unique_fd control;
    const auto reply = exchange(r->local_endpoint(), proto::hello{proto::mode::udp_echo, 100, 0}, control);
    ASSERT_EQ(reply.st, proto::status::ok);
    ASSERT_NE(reply.cookie, 0u);

    // A wrong cookie, garbage and a truncated header get silence.
    auto silent =
        udp_exchange(r->local_endpoint(),
                     {datagram(proto::udp_kind::echo_request, reply.cookie + 1, 0, 100),
                      std::vector<std::byte>(40, std::byte{1}), std::vector<std::byte>(10, std::byte{0})});
    EXPECT_TRUE(silent.empty());
    EXPECT_EQ(r->stats().udp_dropped, 3u);

    // The live cookie gets an answer exactly as long as the request, at every size.
    for (std::size_t size : {32u, 100u, 1400u, 9000u}) {
        auto got = udp_exchange(r->local_endpoint(),
                                {datagram(proto::udp_kind::echo_request, reply.cookie, 5, size)});
        ASSERT_EQ(got.size(), 1u) << size;
        EXPECT_EQ(got[0].size(), size);
        const auto h = proto::decode_udp_header(got[0]);
        ASSERT_TRUE(h);
        EXPECT_EQ(h.value.kind, proto::udp_kind::echo_reply);
        EXPECT_EQ(h.value.seq, 5u);
    }

    // Once the control connection closes, the cookie is dead.
    control.reset();
    std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(
        udp_exchange(r->local_endpoint(), {datagram(proto::udp_kind::echo_request, reply.cookie, 6, 64)})
            .empty());
}

TEST(Responder, CountsDuplicatesAndReorderingInAStream) {
    auto r = start_loopback();
    detail::unique_fd control;
    const auto reply = exchange(r->local_endpoint(), proto::hello{proto::mode::udp_sink, 0, 0}, control);
    ASSERT_EQ(reply.st, proto::status::ok);
    std::vector<std::vector<std::byte>> out;
    for (std::uint64_t seq : {0, 1, 3, 2, 2, 5})
        out.push_back(datagram(proto::udp_kind::stream, reply.cookie, seq, 64));
    EXPECT_TRUE(udp_exchange(r->local_endpoint(), out).empty());  // a sink never answers over UDP

    std::array<std::byte, proto::report_request_size> req{};
    proto::encode_report_request(req);
    std::error_code ec;
    ASSERT_TRUE(detail::write_all(control.get(), req, mono_clock::now() + 2s, ec));
    std::array<std::byte, proto::udp_report_size> rep{};
    ASSERT_TRUE(detail::read_exact(control.get(), rep, mono_clock::now() + 2s, ec)) << ec.message();
    const auto d = proto::decode_udp_report(rep);
    ASSERT_TRUE(d);
    EXPECT_EQ(d.value.received, 6u);
    EXPECT_EQ(d.value.duplicates, 1u);
    EXPECT_EQ(d.value.out_of_order, 1u);  // 2 arrived after 3
    EXPECT_EQ(d.value.max_displacement, 1u);
    EXPECT_EQ(d.value.highest_seq, 6u);  // 4 never came: the client counts it lost
    EXPECT_EQ(d.value.bytes, 6u * 64u);
}

// flag_receiver_drops: asked for, granted, and the reports grow by the drop counter; not asked
// for (an older client), the reply's flags stay 0 and the report keeps its 72 bytes.
TEST(Responder, ReportsSocketDropsOnlyWhenAsked) {
    auto r = start_loopback();
    for (const bool ask : {true, false}) {
        detail::unique_fd control;
        const auto reply = exchange(
            r->local_endpoint(),
            proto::hello{proto::mode::udp_sink, 0, 0, ask ? proto::flag_receiver_drops : std::uint16_t{0}}, control);
        ASSERT_EQ(reply.st, proto::status::ok);
        EXPECT_EQ(reply.flags, ask ? proto::flag_receiver_drops : 0) << ask;
        EXPECT_TRUE(udp_exchange(r->local_endpoint(), {datagram(proto::udp_kind::stream, reply.cookie, 0, 64)})
                        .empty());
        std::array<std::byte, proto::report_request_size> req{};
        proto::encode_report_request(req);
        std::error_code ec;
        ASSERT_TRUE(detail::write_all(control.get(), req, mono_clock::now() + 2s, ec));
        std::array<std::byte, proto::udp_report_extended_size> rep{};
        const std::size_t want = ask ? proto::udp_report_extended_size : proto::udp_report_size;
        ASSERT_TRUE(detail::read_exact(control.get(), std::span<std::byte>(rep).first(want), mono_clock::now() + 2s,
                                       ec))
            << ec.message();
        const auto d = proto::decode_udp_report(std::span<const std::byte>(rep).first(want));
        ASSERT_TRUE(d);
        EXPECT_EQ(d.value.received, 1u);
        EXPECT_EQ(d.value.receiver_drops, ask ? std::optional<std::uint64_t>{0} : std::nullopt);
        // Nothing more follows the report.
        std::byte extra{};
        EXPECT_EQ(::recv(control.get(), &extra, 1, MSG_DONTWAIT), -1);
    }
}

// flag_interval_counts: each datagram's header names its sender interval, and the responder
// counts each interval apart: received, duplicates, out of order. Interval 1 is skipped (all
// lost, or never sent), interval 700 is past the table and counts only in the totals; an
// interval request on a session that was not granted the flag ends the session.
TEST(Responder, CountsEachSenderIntervalApartWhenAsked) {
    auto r = start_loopback();
    detail::unique_fd control;
    const auto reply = exchange(r->local_endpoint(),
                                proto::hello{proto::mode::udp_sink, 0, 0, proto::flag_interval_counts}, control);
    ASSERT_EQ(reply.st, proto::status::ok);
    EXPECT_EQ(reply.flags, proto::flag_interval_counts);
    struct sent {
        std::uint64_t seq;
        std::uint16_t interval;
    };
    std::vector<std::vector<std::byte>> out;
    for (const auto [seq, interval] : {sent{0, 0}, sent{1, 0}, sent{1, 0}, sent{3, 2}, sent{2, 2}, sent{4, 2},
                                       sent{5, 700}}) {
        std::vector<std::byte> d(64, std::byte{0x77});
        proto::encode(proto::udp_header{proto::udp_kind::stream, reply.cookie, seq, mono_now_ns(), interval}, d);
        out.push_back(std::move(d));
    }
    EXPECT_TRUE(udp_exchange(r->local_endpoint(), out).empty());

    std::array<std::byte, proto::report_request_size> req{};
    proto::encode_interval_request(req);
    std::error_code ec;
    ASSERT_TRUE(detail::write_all(control.get(), req, mono_clock::now() + 2s, ec));
    std::array<std::byte, proto::max_interval_report_size> rep{};
    const std::span<std::byte> head{rep.data(), proto::interval_report_header_size};
    ASSERT_TRUE(detail::read_exact(control.get(), head, mono_clock::now() + 2s, ec)) << ec.message();
    const auto count = proto::decode_interval_report_count(head);
    ASSERT_TRUE(count);
    ASSERT_GE(count.value, 3u);  // the table grows in steps: at least through interval 2
    ASSERT_LE(count.value, proto::max_report_intervals);
    const std::span<std::byte> whole{rep.data(), head.size() + count.value * proto::interval_counts_size};
    ASSERT_TRUE(detail::read_exact(control.get(), whole.subspan(head.size()), mono_clock::now() + 2s, ec));
    std::array<proto::udp_interval_counts, proto::max_report_intervals> got{};
    const auto d = proto::decode_interval_report(whole, got);
    ASSERT_TRUE(d);
    EXPECT_EQ(got[0], (proto::udp_interval_counts{3, 1, 0}));
    EXPECT_EQ(got[1], (proto::udp_interval_counts{0, 0, 0}));
    EXPECT_EQ(got[2], (proto::udp_interval_counts{3, 0, 1}));  // 2 arrived after 3
    for (std::size_t i = 3; i < d.value; ++i) EXPECT_EQ(got[i], proto::udp_interval_counts{}) << i;

    // The totals hold every datagram, the one past the table too; the control connection goes on.
    proto::encode_report_request(req);
    ASSERT_TRUE(detail::write_all(control.get(), req, mono_clock::now() + 2s, ec));
    std::array<std::byte, proto::udp_report_size> total{};
    ASSERT_TRUE(detail::read_exact(control.get(), total, mono_clock::now() + 2s, ec)) << ec.message();
    EXPECT_EQ(proto::decode_udp_report(total).value.received, 7u);

    // Not asked for: not granted, and an interval request is a protocol error that ends the session.
    detail::unique_fd plain;
    const auto old = exchange(r->local_endpoint(), proto::hello{proto::mode::udp_sink, 0, 0}, plain);
    ASSERT_EQ(old.st, proto::status::ok);
    EXPECT_EQ(old.flags, 0);
    proto::encode_interval_request(req);
    ASSERT_TRUE(detail::write_all(plain.get(), req, mono_clock::now() + 2s, ec));
    std::byte b{};
    EXPECT_FALSE(detail::read_exact(plain.get(), {&b, 1}, mono_clock::now() + 2s, ec));
}

// The progress rule with a 1 s window: a session that declared 1 MiB and trickles is reset
// within the window and a watchdog period; one that completes its messages is not.
TEST(Responder, ResetsASessionBelowTheMinimumProgressRate) {
    responder_config cfg;
    cfg.progress_window = 1s;
    auto r = start_loopback(cfg);
    detail::unique_fd slow, fine;
    ASSERT_EQ(exchange(r->local_endpoint(), proto::hello{proto::mode::echo, proto::max_tcp_message, 0}, slow).st,
              proto::status::ok);
    ASSERT_EQ(exchange(r->local_endpoint(), proto::hello{proto::mode::echo, 64, 0}, fine).st, proto::status::ok);
    std::error_code ec;
    const auto t0 = mono_clock::now();
    std::array<std::byte, 64> msg{};
    while (mono_clock::now() - t0 < 2s) {
        const std::byte one{1};
        (void)::send(slow.get(), &one, 1, MSG_NOSIGNAL);
        ASSERT_TRUE(detail::write_all(fine.get(), msg, mono_clock::now() + 1s, ec)) << ec.message();
        ASSERT_TRUE(detail::read_exact(fine.get(), msg, mono_clock::now() + 1s, ec)) << ec.message();
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(r->stats().dropped_slow, 1u);
    std::array<std::byte, 1> in{};
    EXPECT_LE(::recv(slow.get(), in.data(), in.size(), MSG_DONTWAIT), 0);  // reset
}

// The same cookie from the session's own address and from another: only the first counts.
TEST(Responder, CookieCountsOnlyFromItsClientsAddress) {
    auto r = start_loopback();
    detail::unique_fd control;
    const auto reply = exchange(r->local_endpoint(), proto::hello{proto::mode::udp_echo, 64, 0}, control);
    ASSERT_EQ(reply.st, proto::status::ok);
    EXPECT_EQ(udp_exchange(r->local_endpoint(), {datagram(proto::udp_kind::echo_request, reply.cookie, 1, 64)}).size(),
              1u);
    detail::unique_fd other{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(0x7f000102);  // 127.0.1.2
    ASSERT_EQ(::bind(other.get(), reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(r->port());
    const auto d = datagram(proto::udp_kind::echo_request, reply.cookie, 2, 64);
    ASSERT_EQ(::sendto(other.get(), d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 64);
    std::this_thread::sleep_for(200ms);
    std::array<std::byte, 128> in{};
    EXPECT_LT(::recv(other.get(), in.data(), in.size(), MSG_DONTWAIT), 0);
    const auto st = r->stats();
    EXPECT_EQ(st.udp_wrong_source, 1u);
    EXPECT_EQ(st.udp_dropped, 1u);
    EXPECT_EQ(st.udp_replies, 1u);
}

// Per-source limits from the config, and the log budget: 2 session lines a second, then one
// summary line with what was left out.
TEST(Responder, LimitsEachSourceAndSumsUpItsLogLines) {
    responder_config cfg;
    cfg.max_sessions_per_source = 3;
    cfg.log_lines_per_second = 2;
    std::vector<std::string> lines;
    std::mutex mu;
    cfg.log = [&](std::string_view l) {
        std::lock_guard lock{mu};
        lines.emplace_back(l);
    };
    auto r = start_loopback(cfg);
    std::vector<detail::unique_fd> held(6);
    int ok = 0;
    for (auto& fd : held) ok += exchange(r->local_endpoint(), proto::hello{proto::mode::echo, 8, 0}, fd).st == proto::status::ok;
    EXPECT_EQ(ok, 3);
    EXPECT_EQ(r->stats().refused_busy, 3u);
    std::this_thread::sleep_for(1300ms);
    std::lock_guard lock{mu};
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_NE(lines[0].find("rejected: responder busy (session limit reached) (127.0.0.1 holds its maximum of 3 sessions)"),
              std::string::npos)
        << lines[0];
    EXPECT_EQ(lines[2], "1 more sessions ended (1 refused busy)");
}

// An IPv6 source is a /64: addresses of one /64 share its per-source limit, another /64 has its
// own. Runs on a thread moved into a network namespace of its own (root only), where loopback
// gets the addresses; the responder's threads, started from there, stay in it.
TEST(Responder, CountsAnIpv6Slash64AsOneSource) {
    if (!test::is_root()) GTEST_SKIP() << "needs root for a network namespace";
    std::string skip;
    std::thread inside([&] {
        if (::unshare(CLONE_NEWNET) != 0) {
            skip = "unshare(CLONE_NEWNET) failed";
            return;
        }
        if (test::sh("ip link set lo up && ip -6 addr add fd00:18::1/64 dev lo nodad && "
                     "ip -6 addr add fd00:18::2/64 dev lo nodad && ip -6 addr add fd00:18::3/64 dev lo nodad && "
                     "ip -6 addr add fd00:19::1/64 dev lo nodad") != 0) {
            skip = "cannot add IPv6 addresses to the namespace's loopback";
            return;
        }
        responder_config cfg;
        cfg.bind_address = "fd00:18::1";
        cfg.port = 0;
        cfg.max_sessions_per_source = 2;
        std::error_code ec;
        auto r = responder::start(cfg, ec);
        if (!r) {
            skip = "no responder on fd00:18::1: " + ec.message();
            return;
        }
        const auto open_from = [&](const char* source, detail::unique_fd& fd) {
            fd = detail::unique_fd{::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)};
            sockaddr_in6 a{};
            a.sin6_family = AF_INET6;
            ::inet_pton(AF_INET6, source, &a.sin6_addr);
            EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << source;
            a.sin6_port = htons(r->port());
            ::inet_pton(AF_INET6, "fd00:18::1", &a.sin6_addr);
            EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << source;
            std::array<std::byte, proto::hello_size> hello{};
            proto::encode(proto::hello{proto::mode::echo, 8, 0}, hello);
            EXPECT_EQ(::send(fd.get(), hello.data(), hello.size(), 0), static_cast<ssize_t>(hello.size()));
            std::array<std::byte, proto::hello_reply_size> in{};
            EXPECT_EQ(::recv(fd.get(), in.data(), in.size(), MSG_WAITALL), static_cast<ssize_t>(in.size()));
            return proto::decode_hello_reply(in).value.st;
        };
        detail::unique_fd a, b, c, d;
        EXPECT_EQ(open_from("fd00:18::2", a), proto::status::ok);
        EXPECT_EQ(open_from("fd00:18::3", b), proto::status::ok);
        EXPECT_EQ(open_from("fd00:18::2", c), proto::status::busy) << "fd00:18::/64 holds its 2 sessions";
        EXPECT_EQ(open_from("fd00:19::1", d), proto::status::ok) << "another /64 is another source";
    });
    inside.join();
    if (!skip.empty()) GTEST_SKIP() << skip;
}

TEST(Responder, ServesIpv6) {
    responder_config cfg;
    cfg.bind_address = "::1";
    cfg.port = 0;
    std::error_code ec;
    auto r = responder::start(cfg, ec);
    if (!r) GTEST_SKIP() << "no IPv6 loopback on this host: " << ec.message();
    EXPECT_TRUE(r->local_endpoint().is_v6());
    detail::unique_fd fd;
    EXPECT_EQ(exchange(r->local_endpoint(), proto::hello{proto::mode::echo, 16, 0}, fd).st,
              proto::status::ok);
}

// Bursts of 64 datagrams (garbage: the responder reads and drops them) in one sendmmsg each:
// the UDP thread cannot wake for every one.
void flood(const socket_address& to, int bursts) {
    detail::unique_fd fd{::socket(to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    ASSERT_TRUE(fd);
    ASSERT_EQ(::connect(fd.get(), to.data(), to.size()), 0);
    std::array<std::byte, 64> payload{};
    std::array<iovec, 64> iov{};
    std::array<mmsghdr, 64> msgs{};
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        iov[i] = {payload.data(), payload.size()};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    for (int b = 0; b < bursts; ++b)
        ASSERT_EQ(::sendmmsg(fd.get(), msgs.data(), msgs.size(), 0), static_cast<int>(msgs.size()));
}

double cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// responder_config::udp_poll: request/response traffic (one datagram per wake-up) never turns the
// UDP thread to polling, a flood does, and once the flood stops the thread sleeps again: an idle
// socket costs no CPU. With udp_poll 0 it never polls. No option lifts the cap.
TEST(Responder, PollsUdpOnlyWhileDatagramsOutrunItsWakeUps) {
    auto r = start_loopback();
    udp_rr_options o;
    o.count = 200;
    const auto rr = udp_rr_probe(r->local_endpoint(), o);
    ASSERT_TRUE(rr.error.empty()) << rr.error;
    EXPECT_EQ(r->stats().udp_polls, 0u) << "request/response traffic made the UDP thread poll";

    flood(r->local_endpoint(), 200);
    const auto until = mono_clock::now() + 5s;
    while (r->stats().udp_dropped < 200u * 64 && mono_clock::now() < until) std::this_thread::sleep_for(1ms);
    EXPECT_GE(r->stats().udp_polls, 1u) << "12,800 datagrams in bursts of 64 and the thread never polled";

    std::this_thread::sleep_for(50ms);  // 1,000 times udp_poll
    const double before = cpu_seconds();
    std::this_thread::sleep_for(500ms);
    EXPECT_LT(cpu_seconds() - before, 0.1) << "the responder kept a core busy on an idle socket";

    responder_config off;
    off.udp_poll = 0us;
    auto quiet = start_loopback(off);
    flood(quiet->local_endpoint(), 50);
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(quiet->stats().udp_polls, 0u);

    responder_config big;
    big.udp_poll = 10s;
    EXPECT_EQ(within_caps(big).udp_poll, responder_caps::max_udp_poll);
}

}  // namespace
