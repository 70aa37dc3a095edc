// The TCP stream loops (probe/stream_loop.hpp) on real loopback connections: what the sender sends
// from the payload's memfd is the payload, counted to the byte; a connection that can no longer
// be written ends it with an error, never with SIGPIPE; the receiver counts every byte and
// copies none.

#include "probe/stream_loop.hpp"

#include "net/socket.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

namespace {

using namespace std::chrono_literals;
using namespace nettool;

// A TCP connection on 127.0.0.1: the accepted end (blocking) and the connecting end (non-blocking,
// as every stream's socket).
struct tcp_pair {
    detail::unique_fd accepted, connected;
};

tcp_pair connect_pair() {
    tcp_pair p;
    detail::unique_fd listener{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    EXPECT_EQ(::listen(listener.get(), 1), 0);
    std::error_code ec;
    p.connected = detail::tcp_connect(detail::local_address(listener.get()), mono_clock::now() + 3s, ec);
    EXPECT_FALSE(ec) << ec.message();
    p.accepted = detail::unique_fd{::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC)};
    EXPECT_TRUE(p.accepted) << std::strerror(errno);
    return p;
}

TEST(StreamLoop, SendsThePayloadFromItsMemfdAndCountsEveryByte) {
    const detail::stream_payload payload{128 * 1024};
    ASSERT_EQ(payload.bytes().size(), 128u * 1024);
    EXPECT_GE(payload.file(), 0) << "no memfd: every write would be copied from user memory";
    auto p = connect_pair();
    ASSERT_TRUE(p.accepted && p.connected);

    std::uint64_t received = 0;
    bool all_payload = true;
    std::thread reader([&] {
        std::vector<std::byte> buf(64 * 1024);
        for (;;) {
            const ssize_t n = ::recv(p.accepted.get(), buf.data(), buf.size(), 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            all_payload = all_payload && std::all_of(buf.begin(), buf.begin() + n,
                                                     [](std::byte b) { return b == std::byte{0x5a}; });
            received += static_cast<std::uint64_t>(n);
        }
    });
    detail::stream_counter counter;
    std::uint64_t sent = 0;
    const int err = detail::send_until(p.connected.get(), payload, mono_clock::now() + 200ms, 3s, counter, sent);
    ::shutdown(p.connected.get(), SHUT_WR);
    reader.join();
    EXPECT_EQ(err, 0) << std::strerror(err);
    EXPECT_GT(sent, 128u * 1024);
    EXPECT_EQ(received, sent);
    EXPECT_EQ(counter.bytes.load(), sent);
    EXPECT_TRUE(all_payload) << "a byte other than the payload's 0x5a arrived";
}

// SIGPIPE is at its default disposition here, which ends the process: if the loop let one
// through, this test would not fail, the whole test binary would die.
class StreamLoopSigpipe : public ::testing::Test {
protected:
    void SetUp() override {
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        ASSERT_EQ(::sigaction(SIGPIPE, &dfl, &old_), 0);
    }
    void TearDown() override { ::sigaction(SIGPIPE, &old_, nullptr); }
    static bool sigpipe_pending() {
        sigset_t pending;
        return ::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    }
    struct sigaction old_ {};
};

TEST_F(StreamLoopSigpipe, AConnectionShutForWritingEndsTheLoopWithEpipe) {
    const detail::stream_payload payload{64 * 1024};
    auto p = connect_pair();
    ASSERT_TRUE(p.accepted && p.connected);
    ::shutdown(p.connected.get(), SHUT_WR);
    detail::stream_counter counter;
    std::uint64_t sent = 0;
    EXPECT_EQ(detail::send_until(p.connected.get(), payload, mono_clock::now() + 3s, 3s, counter, sent), EPIPE);
    EXPECT_EQ(sent, 0u);
    EXPECT_FALSE(sigpipe_pending());
}

TEST_F(StreamLoopSigpipe, APeerThatResetsEndsTheLoopWithAnError) {
    const detail::stream_payload payload{64 * 1024};
    auto p = connect_pair();
    ASSERT_TRUE(p.accepted && p.connected);
    std::thread closer([&] {
        std::this_thread::sleep_for(50ms);
        p.accepted.reset();  // with bytes unread: a reset
    });
    detail::stream_counter counter;
    std::uint64_t sent = 0;
    const int err = detail::send_until(p.connected.get(), payload, mono_clock::now() + 10s, 3s, counter, sent);
    closer.join();
    EXPECT_TRUE(err == ECONNRESET || err == EPIPE) << std::strerror(err);
    EXPECT_GT(sent, 0u);
    EXPECT_FALSE(sigpipe_pending());
}

// receive_until counts every byte the peer wrote, to the end, and copies none of them: TCP
// discards them in the kernel (MSG_TRUNC), so the buffer keeps what it held.
TEST(StreamLoop, ReceivesEveryByteWithoutCopyingIt) {
    auto p = connect_pair();
    ASSERT_TRUE(p.accepted && p.connected);
    const std::size_t total = 3 * 1024 * 1024 + 17;
    std::thread writer([&] {
        const std::vector<std::byte> bytes(total, std::byte{0x5a});
        std::error_code ec;
        EXPECT_TRUE(detail::write_all(p.accepted.get(), bytes, mono_clock::now() + 10s, ec)) << ec.message();
        ::shutdown(p.accepted.get(), SHUT_WR);
    });
    std::vector<std::byte> buf(64 * 1024, std::byte{0});
    detail::stream_counter counter;
    std::uint64_t received = 0;
    mono_clock::time_point last{};
    int err = 0;
    const auto end = detail::receive_until(p.connected.get(), buf, mono_clock::now() + 10s, 5s, counter, received,
                                           last, err);
    writer.join();
    EXPECT_EQ(end, detail::receive_end::closed);
    EXPECT_EQ(received, total);
    EXPECT_EQ(counter.bytes.load(), total);
    EXPECT_TRUE(std::all_of(buf.begin(), buf.end(), [](std::byte b) { return b == std::byte{0}; }))
        << "the bytes were copied into the buffer";
}

}  // namespace
