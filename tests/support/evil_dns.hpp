#pragma once
// A malicious DNS server for tests (issue 18): it listens on one 127.0.0.1 port over UDP and TCP
// and answers every query wrongly in one chosen way. The answers are written byte by byte here,
// not by a DNS library, because no library will write them: records that run past the end of
// the message, compression pointers that loop or point forward, answers larger than the query
// allowed. Real servers (dnsmasq, unbound) cover the right answers in dns_timer_test.cpp.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace nettool::test {

enum class evil_dns {
    good,              ///< a correct answer (A 192.0.2.1), to show the fixture itself is right
    pointer_loop,      ///< the answer's owner name is a pointer to itself
    forward_pointer,   ///< the answer's owner name points forward, into its own data
    records_past_end,  ///< the header counts 5 answers; the message holds 1
    tsig_not_last,     ///< two TSIG records in the additional section (RFC 8945: one, the last)
    two_opt,           ///< two OPT records in the additional section (RFC 6891: at most one)
    oversized,         ///< a well-formed answer of about 3000 bytes, past any EDNS size asked
    wrong_id,          ///< a correct answer with another ID
    truncated,         ///< UDP: TC set and no answer; TCP: the correct answer
    stall_tcp,         ///< UDP: TC set; TCP: reads the query and never answers
    close_tcp,         ///< UDP: TC set; TCP: reads the query and closes
};

class evil_dns_server {
public:
    explicit evil_dns_server(evil_dns mode) : mode_(mode) {
        udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (udp_ < 0 || tcp_ < 0) throw std::runtime_error("evil_dns_server: socket");
        // One port for both: bind UDP to an ephemeral port, then TCP to the same (retry on the
        // rare clash with a TCP socket already there).
        for (int attempt = 0; attempt < 20; ++attempt) {
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (::bind(udp_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) break;
            socklen_t len = sizeof a;
            ::getsockname(udp_, reinterpret_cast<sockaddr*>(&a), &len);
            const int on = 1;
            ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
            if (::bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(tcp_, 16) == 0) {
                port_ = ntohs(a.sin_port);
                break;
            }
            ::close(udp_);
            udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        }
        if (port_ == 0) throw std::runtime_error("evil_dns_server: no port for both UDP and TCP");
        thread_ = std::thread([this] { serve(); });
    }
    ~evil_dns_server() {
        stop_ = true;
        thread_.join();
        for (int fd : held_) ::close(fd);
        ::close(udp_);
        ::close(tcp_);
    }
    evil_dns_server(const evil_dns_server&) = delete;
    evil_dns_server& operator=(const evil_dns_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// Queries received so far over UDP and over TCP.
    std::uint64_t udp_queries() const noexcept { return udp_queries_; }
    std::uint64_t tcp_queries() const noexcept { return tcp_queries_; }

    /// The answer the server sends to `query` over `tcp` (the message, without a TCP length).
    static std::vector<std::byte> answer(evil_dns mode, const std::vector<std::byte>& query, bool tcp) {
        const auto qend = question_end(query);
        if (!qend) return {};
        std::vector<std::byte> m(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(*qend));
        m[2] = std::byte{0x81};  // QR, opcode 0, RD
        m[3] = std::byte{0x80};  // RA, rcode 0
        put16(m, 4, 1);          // one question, no EDNS record in the answer
        put16(m, 6, 1);
        put16(m, 8, 0);
        put16(m, 10, 0);
        const bool tc_on_udp = mode == evil_dns::truncated || mode == evil_dns::stall_tcp || mode == evil_dns::close_tcp;
        if (!tcp && tc_on_udp) {
            m[2] |= std::byte{0x02};  // TC
            put16(m, 6, 0);
            return m;
        }
        switch (mode) {
            case evil_dns::pointer_loop: {
                const auto self = m.size();
                m.push_back(std::byte{static_cast<std::uint8_t>(0xc0 | (self >> 8))});
                m.push_back(std::byte{static_cast<std::uint8_t>(self & 0xff)});
                append_rr_tail(m, 1, {192, 0, 2, 1});
                break;
            }
            case evil_dns::forward_pointer: {
                // Owner: a pointer to the name "\3www\0" that sits in this record's own data.
                const auto target = m.size() + 2 + 10;
                m.push_back(std::byte{static_cast<std::uint8_t>(0xc0 | (target >> 8))});
                m.push_back(std::byte{static_cast<std::uint8_t>(target & 0xff)});
                append_rr_tail(m, 16, {3, 'w', 'w', 'w', 0});  // TXT
                break;
            }
            case evil_dns::records_past_end:
                put16(m, 6, 5);
                append_a(m);
                break;
            case evil_dns::tsig_not_last:
            case evil_dns::two_opt:
                append_a(m);
                put16(m, 10, 2);
                for (int i = 0; i < 2; ++i) {
                    m.push_back(std::byte{0});  // owner: the root
                    append_rr_tail(m, mode == evil_dns::two_opt ? 41 : 250, {});
                }
                break;
            case evil_dns::oversized:
                put16(m, 6, 180);
                for (int i = 0; i < 180; ++i) append_a(m);
                break;
            case evil_dns::wrong_id:
                m[0] ^= std::byte{0x5a};
                append_a(m);
                break;
            default:
                append_a(m);
                break;
        }
        return m;
    }

private:
    static void put16(std::vector<std::byte>& m, std::size_t at, std::uint16_t v) {
        m[at] = std::byte{static_cast<std::uint8_t>(v >> 8)};
        m[at + 1] = std::byte{static_cast<std::uint8_t>(v & 0xff)};
    }
    static void append_rr_tail(std::vector<std::byte>& m, std::uint16_t type, std::vector<std::uint8_t> rdata) {
        const std::uint8_t fixed[] = {static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type & 0xff),
                                      0, 1,   // class IN
                                      0, 0, 0, 60,  // TTL
                                      0, static_cast<std::uint8_t>(rdata.size())};
        for (auto b : fixed) m.push_back(std::byte{b});
        for (auto b : rdata) m.push_back(std::byte{b});
    }
    static void append_a(std::vector<std::byte>& m) {
        m.push_back(std::byte{0xc0});  // owner: pointer to the question's name
        m.push_back(std::byte{0x0c});
        append_rr_tail(m, 1, {192, 0, 2, 1});
    }
    /// Offset just past the first question, or nullopt when the query is not a plain one.
    static std::optional<std::size_t> question_end(const std::vector<std::byte>& q) {
        std::size_t at = 12;
        while (at < q.size()) {
            const auto len = std::to_integer<std::size_t>(q[at]);
            if (len == 0) return at + 5 <= q.size() ? std::optional<std::size_t>{at + 5} : std::nullopt;
            if (len > 63) return std::nullopt;
            at += 1 + len;
        }
        return std::nullopt;
    }

    void serve() {
        std::vector<std::byte> buf(65536);
        while (!stop_) {
            pollfd p[2] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
            if (::poll(p, 2, 50) <= 0) continue;
            if (p[0].revents & POLLIN) {
                sockaddr_storage from{};
                socklen_t len = sizeof from;
                const ssize_t n = ::recvfrom(udp_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
                if (n > 0) {
                    ++udp_queries_;
                    const auto a = answer(mode_, {buf.begin(), buf.begin() + n}, false);
                    ::sendto(udp_, a.data(), a.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
                }
            }
            if (p[1].revents & POLLIN) serve_tcp(buf);
        }
    }

    void serve_tcp(std::vector<std::byte>& buf) {
        const int c = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        // One query per connection, read with a short bound so a silent client cannot hold us.
        timeval tv{0, 500000};
        ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::size_t got = 0;
        while (got < 2 || got < 2 + ((std::to_integer<std::size_t>(buf[0]) << 8) | std::to_integer<std::size_t>(buf[1]))) {
            const ssize_t n = ::recv(c, buf.data() + got, buf.size() - got, 0);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        if (got < 2) {
            ::close(c);
            return;
        }
        ++tcp_queries_;
        if (mode_ == evil_dns::close_tcp) {
            ::close(c);
            return;
        }
        if (mode_ == evil_dns::stall_tcp) {
            held_.push_back(c);  // never answered; closed when the server goes
            return;
        }
        const auto a = answer(mode_, {buf.begin() + 2, buf.begin() + static_cast<std::ptrdiff_t>(got)}, true);
        std::vector<std::byte> framed(2 + a.size());
        put16(framed, 0, static_cast<std::uint16_t>(a.size()));
        std::copy(a.begin(), a.end(), framed.begin() + 2);
        ::send(c, framed.data(), framed.size(), MSG_NOSIGNAL);
        ::close(c);
    }

    evil_dns mode_;
    int udp_ = -1, tcp_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> udp_queries_{0}, tcp_queries_{0};
    std::vector<int> held_;
    std::thread thread_;
};

}  // namespace nettool::test
