// Load mode: replays a dnsperf-style query list against one server as fast as it answers (or at
// a set rate), with a bounded number of queries outstanding.
//
// Hot path design: every wire query is built once by ldns before the run; sending patches the ID
// in place; outstanding queries live in a fixed table indexed by ID; answers are matched by
// reading the header through the packet layer's dns_view and comparing the question section bytes
// with the ones sent. Nothing is allocated or formatted per query.

#include <nettool/dns/dns_timer.hpp>

#include "dns/dns_message.hpp"

#include <nettool/core/clock.hpp>
#include <nettool/core/error.hpp>
#include <nettool/core/report.hpp>
#include <nettool/packet/packet.hpp>

#include <nlohmann/json.hpp>

#include <asio.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <random>
#include <sstream>

#include <cerrno>
#include <sys/socket.h>
#include <sys/uio.h>

namespace nettool {

std::vector<dns_load_query> parse_dns_query_file(line_reader& in) {
    std::vector<dns_load_query> out;
    while (auto text = in.next()) {
        std::string line{*text};
        if (const auto hash = line.find_first_of("#;"); hash != std::string::npos) line.erase(hash);
        std::istringstream words{line};
        std::string name, type, extra;
        if (!(words >> name)) continue;
        words >> type;
        dns_load_query q;
        q.name = name;
        if (validate_dns_name(name)) in.fail(errc::bad_dns_name, "bad name " + quoted_excerpt(name));
        if (!type.empty()) {
            const auto t = parse_dns_type(type);
            if (!t || (words >> extra)) in.fail(errc::bad_argument, "bad type in " + quoted_excerpt(line));
            q.type = *t;
        }
        out.push_back(std::move(q));
    }
    return out;
}

std::vector<dns_load_query> parse_dns_query_file(std::string_view text) {
    auto in = line_reader::from_text(text, "query file", query_file_limits);
    return parse_dns_query_file(in);
}

std::vector<dns_load_query> read_dns_query_file(const std::string& path) {
    auto in = line_reader::open(path, query_file_limits);
    return parse_dns_query_file(in);
}

std::vector<dns_load_query> parse_dns_query_file(std::string_view text, std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return parse_dns_query_file(text); });
}

void to_json(nlohmann::json& j, const dns_load_result& r) {
    j = nlohmann::json{{"server", r.server.to_string()},
                       {"sent", r.sent},
                       {"answered", r.answered},
                       {"lost", r.lost},
                       {"late", r.late},
                       {"truncated", r.truncated},
                       {"unreachable", r.unreachable},
                       {"send_errors", r.send_errors},
                       {"elapsed_s", std::chrono::duration<double>(r.elapsed).count()},
                       {"queries_per_second", r.queries_per_second},
                       {"latency", latency_summary::from(r.latency)},
                       {"rcodes", r.rcodes},
                       {"ignored", r.ignored}};
}

namespace {

using asio::ip::udp;

struct prebuilt {
    std::vector<std::byte> wire;
    std::size_t question_len = 0;  ///< bytes after the 12-byte header that form the question
};

enum class slot_state : std::uint8_t { free, outstanding, lost };

struct slot {
    std::uint64_t sent_ns = 0;
    std::uint32_t query = 0;
    slot_state state = slot_state::free;
};

struct sent_entry {
    std::uint64_t sent_ns = 0;
    std::uint16_t id = 0;
};

class load_runner {
public:
    load_runner(const udp::endpoint& server, const dns_load_options& o, dns_load_result& r)
        : server_(server),
          opt_(o),
          r_(r),
          sock_(io_),
          timer_(io_),
          slots_(65536),
          sent_ring_(ring_size),
          answer_limit_(o.edns ? std::max<std::size_t>(512, o.edns_size) : 512),
          recv_slot_(std::max<std::size_t>(4096, std::size_t{o.edns_size} + 512)),
          recv_bufs_(batch_size * recv_slot_),
          send_bufs_(batch_size * send_slot) {}

    std::error_code prepare() {
        std::error_code ec;
        for (const auto& q : opt_.queries) {
            auto with =
                detail::build_dns_query(q.name, q.type, 0, opt_.recurse, opt_.edns, opt_.edns_size, ec);
            if (ec) return ec;
            auto without = detail::build_dns_query(q.name, q.type, 0, opt_.recurse, false, 0, ec);
            if (ec) return ec;
            if (with.wire.size() > send_slot || without.wire.size() < 12)
                return make_error_code(errc::bad_dns_name);
            prebuilt p;
            p.wire = std::move(with.wire);
            p.question_len = without.wire.size() - 12;
            queries_.push_back(std::move(p));
        }
        // Free IDs in random order, reused first-in first-out so a lost query's ID rests as long
        // as possible before it is used again (late answers stay recognisable).
        free_ids_.resize(65536);
        for (std::size_t i = 0; i < free_ids_.size(); ++i) free_ids_[i] = static_cast<std::uint16_t>(i);
        std::shuffle(free_ids_.begin(), free_ids_.end(), std::mt19937{std::random_device{}()});
        free_head_ = 0;
        free_count_ = free_ids_.size();

        sock_.open(server_.protocol(), ec);
        if (ec) return ec;
        // Connected: the kernel keeps the route and drops datagrams from any other source, so
        // wrong_source stays 0 in load mode (the timing mode counts them).
        sock_.connect(server_, ec);
        if (ec) return ec;
        sock_.non_blocking(true, ec);
        if (ec) return ec;
        std::error_code ignored;
        sock_.set_option(asio::socket_base::receive_buffer_size{4 << 20}, ignored);
        sock_.set_option(asio::socket_base::send_buffer_size{4 << 20}, ignored);
        return {};
    }

    void run() {
        start_ = mono_now_ns();
        end_ = start_ + static_cast<std::uint64_t>(opt_.duration.count());
        timeout_ns_ = static_cast<std::uint64_t>(opt_.timeout.count());
        fill(start_);
        arm_read();
        arm_timer();
        io_.run();
        const std::uint64_t stop = std::max(end_, last_answer_ns_);
        r_.elapsed = std::chrono::nanoseconds{stop - start_};
        const double secs = static_cast<double>(stop - start_) / 1e9;
        r_.queries_per_second = secs > 0 ? static_cast<double>(r_.answered) / secs : 0.0;
        for (unsigned i = 0; i < rcodes_.size(); ++i) {
            if (rcodes_[i]) r_.rcodes[std::string{dns_rcode_name(i)}] = rcodes_[i];
        }
    }

private:
    static constexpr std::size_t ring_size = std::size_t{1} << 18;
    static constexpr std::size_t batch_size = 64;
    static constexpr std::size_t send_slot = 512;  ///< a query is at most 12 + 255 + 4 + 11 bytes

    void arm_read() {
        sock_.async_wait(udp::socket::wait_read, [this](const std::error_code& ec) {
            if (ec || done_) return;
            drain();
            fill(mono_now_ns());
            arm_read();
        });
    }

    void arm_timer() {
        timer_.expires_after(std::chrono::milliseconds{1});
        timer_.async_wait([this](const std::error_code& ec) {
            if (ec) return;
            const auto now = mono_now_ns();
            expire(now);
            fill(now);
            if (now >= end_ && (outstanding_ == 0 || now >= end_ + timeout_ns_)) {
                expire(~std::uint64_t{0} / 2);  // whatever is left is lost
                done_ = true;
                std::error_code ignored;
                sock_.cancel(ignored);
                return;
            }
            arm_timer();
        });
    }

    /// Sends as many queries as concurrency, free IDs and --rate allow, batch_size per sendmmsg.
    void fill(std::uint64_t now) {
        const int fd = sock_.native_handle();
        while (now < end_) {
            std::size_t room = std::min<std::uint64_t>(
                {batch_size, opt_.concurrency - std::min<std::uint64_t>(outstanding_, opt_.concurrency),
                 free_count_, ring_size - ring_count_});
            if (opt_.rate > 0) {
                const double allowed = static_cast<double>(now - start_) / 1e9 * opt_.rate + 1.0;
                const double left = allowed - static_cast<double>(r_.sent);
                room = left < 1.0 ? 0 : std::min(room, static_cast<std::size_t>(left));
            }
            if (room == 0) return;
            std::size_t n = 0;
            for (; n < room; ++n) {
                const auto& q = queries_[(next_query_ + n) % queries_.size()];
                std::byte* buf = send_bufs_.data() + n * send_slot;
                std::memcpy(buf, q.wire.data(), q.wire.size());
                detail::set_dns_query_id(std::span<std::byte>{buf, q.wire.size()},
                                         free_ids_[(free_head_ + n) % free_ids_.size()]);
                send_iov_[n].iov_base = buf;
                send_iov_[n].iov_len = q.wire.size();
                send_msgs_[n] = mmsghdr{};
                send_msgs_[n].msg_hdr.msg_iov = &send_iov_[n];
                send_msgs_[n].msg_hdr.msg_iovlen = 1;
            }
            const int sent = ::sendmmsg(fd, send_msgs_.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
            if (sent <= 0) {
                if (sent < 0 && is_unreachable_errno(errno)) {
                    unreachable(now);  // reported on the send: an answer to an earlier query
                    continue;
                }
                if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS &&
                    errno != EINTR) {
                    ++r_.send_errors;
                }
                return;
            }
            now = mono_now_ns();
            for (int i = 0; i < sent; ++i) {
                const std::uint16_t id = free_ids_[free_head_];
                free_head_ = (free_head_ + 1) % free_ids_.size();
                --free_count_;
                auto& sl = slots_[id];
                sl.sent_ns = now;
                sl.query = static_cast<std::uint32_t>(next_query_);
                sl.state = slot_state::outstanding;
                sent_ring_[(ring_head_ + ring_count_) % ring_size] = sent_entry{now, id};
                ++ring_count_;
                next_query_ = (next_query_ + 1) % queries_.size();
            }
            outstanding_ += static_cast<std::uint64_t>(sent);
            r_.sent += static_cast<std::uint64_t>(sent);
            if (static_cast<std::size_t>(sent) < n) return;  // socket buffer full: wait for answers
        }
    }

    void release(std::uint16_t id) {
        free_ids_[(free_head_ + free_count_) % free_ids_.size()] = id;
        ++free_count_;
    }

    void expire(std::uint64_t now) {
        while (ring_count_ > 0) {
            const auto& e = sent_ring_[ring_head_];
            auto& s = slots_[e.id];
            const bool live = s.state == slot_state::outstanding && s.sent_ns == e.sent_ns;
            if (live && now - e.sent_ns < timeout_ns_) break;
            if (live) {
                s.state = slot_state::lost;
                ++r_.lost;
                --outstanding_;
                release(e.id);
            }
            ring_head_ = (ring_head_ + 1) % ring_size;
            --ring_count_;
        }
    }

    /// Receives every datagram waiting, batch_size per recvmmsg, and matches each to its query.
    void drain() {
        const int fd = sock_.native_handle();
        for (;;) {
            for (std::size_t i = 0; i < batch_size; ++i) {
                recv_iov_[i].iov_base = recv_bufs_.data() + i * recv_slot_;
                recv_iov_[i].iov_len = recv_slot_;
                recv_msgs_[i] = mmsghdr{};
                recv_msgs_[i].msg_hdr.msg_name = &recv_addr_[i];
                recv_msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
                recv_msgs_[i].msg_hdr.msg_iov = &recv_iov_[i];
                recv_msgs_[i].msg_hdr.msg_iovlen = 1;
            }
            const int got = ::recvmmsg(fd, recv_msgs_.data(), batch_size, MSG_DONTWAIT, nullptr);
            if (got < 0 && is_unreachable_errno(errno)) {
                unreachable(mono_now_ns());
                continue;  // the error is cleared once reported: answers may still wait
            }
            if (got <= 0) return;  // EAGAIN: drained
            const auto now = mono_now_ns();
            for (int i = 0; i < got; ++i) {
                const auto& m = recv_msgs_[static_cast<std::size_t>(i)];
                udp::endpoint from;
                const std::size_t alen = std::min<std::size_t>(m.msg_hdr.msg_namelen, from.capacity());
                std::memcpy(from.data(), &recv_addr_[static_cast<std::size_t>(i)], alen);
                from.resize(alen);
                if (from != server_) {
                    ++r_.ignored.wrong_source;
                    continue;
                }
                // Larger than the query's EDNS size (512 without), or than the buffer: the header
                // and question are still in the buffer to match it to its query.
                const bool oversized = (m.msg_hdr.msg_flags & MSG_TRUNC) != 0 || m.msg_len > answer_limit_;
                handle(std::span<const std::byte>{recv_bufs_.data() + static_cast<std::size_t>(i) * recv_slot_,
                                                  std::min<std::size_t>(m.msg_len, recv_slot_)},
                       now, oversized);
            }
            if (static_cast<std::size_t>(got) < batch_size) return;
        }
    }

    void handle(std::span<const std::byte> msg, std::uint64_t now, bool oversized) {
        const auto h = dns_view::parse(msg);
        if (!h) {
            ++r_.ignored.malformed;
            return;
        }
        auto& s = slots_[h->id()];
        if (s.state == slot_state::free) {
            ++r_.ignored.wrong_id;
            return;
        }
        const auto& q = queries_[s.query];
        cursor c{msg};
        c.skip(12);
        const auto question = c.take(q.question_len);
        if (!c.ok()) {
            ++r_.ignored.malformed;
            return;
        }
        if (!h->is_response() || h->question_count() != 1 ||
            std::memcmp(question.data(), q.wire.data() + 12, q.question_len) != 0) {
            ++r_.ignored.wrong_question;
            return;
        }
        // The answer to this query, but is it whole? A message whose records run past its end
        // (or whose names loop or point forward) is malformed; TC set means the server could not
        // fit the answer. Either way the query is over, but it was not answered.
        const bool whole = !oversized && h->well_formed();
        if (s.state == slot_state::lost) {
            if (whole) ++r_.late;
            else if (oversized) ++r_.ignored.oversized;
            else ++r_.ignored.malformed;
            s.state = slot_state::free;  // its ID is already back in the free queue
            return;
        }
        if (oversized) {
            ++r_.ignored.oversized;
        } else if (!whole) {
            ++r_.ignored.malformed;
        } else if (h->truncated_flag()) {
            ++r_.truncated;
        } else {
            r_.latency.record(now - s.sent_ns);
            ++r_.answered;
            ++rcodes_[h->rcode()];
            last_answer_ns_ = now;
        }
        s.state = slot_state::free;
        --outstanding_;
        release(h->id());
    }

    static bool is_unreachable_errno(int e) noexcept {
        return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH;
    }

    /// The socket reported an ICMP unreachable. Before any answer it means nothing listens at
    /// the server's address: the run ends now (what is outstanding is counted lost) instead of
    /// sending for the whole --duration. After answers it is counted and the run goes on.
    void unreachable(std::uint64_t now) {
        ++r_.unreachable;
        if (r_.answered == 0 && now < end_) {
            end_ = now;
            timeout_ns_ = 0;
        }
    }

    udp::endpoint server_;
    const dns_load_options& opt_;
    dns_load_result& r_;
    asio::io_context io_{1};
    udp::socket sock_;
    asio::steady_timer timer_;
    std::vector<prebuilt> queries_;
    std::vector<slot> slots_;
    std::vector<std::uint16_t> free_ids_;
    std::size_t free_head_ = 0, free_count_ = 0;
    std::vector<sent_entry> sent_ring_;
    std::size_t ring_head_ = 0, ring_count_ = 0;
    std::size_t answer_limit_;  ///< the largest UDP answer the queries allow
    std::size_t recv_slot_;
    std::vector<std::byte> recv_bufs_;
    std::vector<std::byte> send_bufs_;
    std::array<mmsghdr, batch_size> recv_msgs_{}, send_msgs_{};
    std::array<iovec, batch_size> recv_iov_{}, send_iov_{};
    std::array<sockaddr_storage, batch_size> recv_addr_{};
    std::array<std::uint64_t, 16> rcodes_{};
    std::size_t next_query_ = 0;
    std::uint64_t outstanding_ = 0;
    std::uint64_t start_ = 0, end_ = 0, timeout_ns_ = 0, last_answer_ns_ = 0;
    bool done_ = false;
};

}  // namespace

dns_load_result run_dns_load(const dns_server& server, const dns_load_options& options,
                             std::error_code& ec) noexcept {
    ec.clear();
    dns_load_result r;
    try {
        r.server = server;
        if (options.queries.empty() || options.concurrency == 0) {
            ec = make_error_code(errc::bad_argument);
            return r;
        }
        asio::error_code aec;
        const auto addr = asio::ip::make_address(server.address, aec);
        if (aec) {
            ec = make_error_code(errc::bad_address);
            return r;
        }
        load_runner runner{udp::endpoint{addr, server.port}, options, r};
        if ((ec = runner.prepare())) return r;
        runner.run();
    } catch (...) {
        ec = detail::code_of_current_exception(errc::protocol_error);
    }
    return r;
}

}  // namespace nettool
