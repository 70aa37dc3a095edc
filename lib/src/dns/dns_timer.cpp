// Direct DNS query timing and system resolver timing. ldns builds and reads the messages
// (detail/dns_message.cpp); transport, deadlines and timing are Asio's and nettool's own.

#include <nettool/dns/dns_timer.hpp>

#include "dns/dns_message.hpp"

#include <nettool/core/clock.hpp>
#include <nettool/core/error.hpp>
#include <nettool/net/endpoint.hpp>
#include <nettool/core/report.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <asio.hpp>
#include "dns/ldns_api.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace nettool {

namespace {

struct c_free {
    void operator()(void* p) const noexcept { std::free(p); }
};

std::string upper(std::string_view s) {
    std::string out{s};
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

bool parse_u16(std::string_view s, std::uint16_t& out) noexcept {
    if (s.empty()) return false;
    unsigned v = 0;
    const auto [p, e] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (e != std::errc{} || p != s.data() + s.size() || v > 65535) return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Input checking

std::error_code validate_dns_name(std::string_view name) noexcept {
    const auto bad = make_error_code(errc::bad_dns_name);
    if (name.empty()) return bad;
    if (name == ".") return {};
    std::size_t wire = 1;  // the root label
    std::size_t label = 0;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        if (c == '.') {
            if (label == 0) return bad;  // empty label: leading dot or ".."
            wire += label + 1;
            label = 0;
            continue;
        }
        if (c == '\\') {  // \DDD or \X stands for one octet
            if (i + 1 >= name.size()) return bad;
            if (std::isdigit(static_cast<unsigned char>(name[i + 1]))) {
                if (name.size() - i < 4) return bad;
                for (std::size_t k = 1; k <= 3; ++k) {
                    if (!std::isdigit(static_cast<unsigned char>(name[i + k]))) return bad;
                }
                const int v = (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
                if (v > 255) return bad;
                i += 3;
            } else {
                i += 1;
            }
        }
        if (++label > 63) return bad;
    }
    if (label > 0) wire += label + 1;
    if (wire > 255) return bad;
    return {};
}

std::optional<std::uint16_t> parse_dns_type(std::string_view text) noexcept {
    std::uint16_t v = 0;
    if (parse_u16(text, v)) return v;
    try {
        const std::string u = upper(text);
        if (u == "ANY") return std::uint16_t{255};
        if (u.size() > 4 && u.compare(0, 4, "TYPE") == 0) {
            if (parse_u16(std::string_view{u}.substr(4), v)) return v;
            return std::nullopt;
        }
        const ldns_rr_type t = detail::ldns().get_rr_type_by_name(u.c_str());
        if (t == 0) return std::nullopt;
        return static_cast<std::uint16_t>(t);
    } catch (...) {
        return std::nullopt;
    }
}

std::string dns_type_name(std::uint16_t type) {
    std::unique_ptr<char, c_free> s{detail::ldns().rr_type2str(static_cast<ldns_rr_type>(type))};
    return s ? std::string{s.get()} : "TYPE" + std::to_string(type);
}

std::string dns_server::to_string() const {
    if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
    return address + ":" + std::to_string(port);
}

dns_server parse_dns_server(std::string_view text) {
    // The one HOST[:PORT] grammar (nettool/net/endpoint.hpp); a DNS server must be numeric.
    const host_port hp = parse_host_port(text, 53);
    asio::error_code aec;
    const auto addr = asio::ip::make_address(hp.host, aec);
    if (aec) throw error(errc::bad_address, fmt::format("'{}' is not a numeric IPv4 or IPv6 address", hp.host));
    return dns_server{addr.to_string(), hp.port};
}

dns_server parse_dns_server(std::string_view text, std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return parse_dns_server(text); });
}

std::vector<dns_server> parse_resolv_conf(line_reader& in) {
    std::vector<dns_server> out;
    while (auto line = in.next()) {
        std::istringstream words{std::string{*line}};
        std::string key, value;
        if (!(words >> key >> value) || key != "nameserver") continue;
        std::error_code ec;
        // resolv.conf may carry a zone index (fe80::1%eth0); asio understands it.
        auto s = parse_dns_server(value.find(':') != std::string::npos ? "[" + value + "]" : value, ec);
        if (!ec) out.push_back(std::move(s));
    }
    return out;
}

std::vector<dns_server> resolv_conf_servers(const std::string& path) {
    auto in = line_reader::open(path, resolv_conf_limits);
    return parse_resolv_conf(in);
}

// ---------------------------------------------------------------------------------------------
// Direct queries

namespace {

using asio::ip::tcp;
using asio::ip::udp;

/// Runs io until the operation started by start completes or the deadline passes; on the deadline
/// cancel() is called and errc::timed_out returned. The one place a network wait gets its timer.
template <class Start, class Cancel>
std::error_code run_until(asio::io_context& io, asio::steady_timer& timer, mono_clock::time_point deadline,
                          std::size_t& n, Start&& start, Cancel&& cancel) {
    std::error_code op_ec;
    bool done = false;
    bool expired = false;
    n = 0;
    start([&](const std::error_code& ec, std::size_t bytes) {
        op_ec = ec;
        n = bytes;
        done = true;
        timer.cancel();
    });
    timer.expires_at(deadline);
    timer.async_wait([&](const std::error_code& ec) {
        if (!ec && !done) {
            expired = true;
            cancel();
        }
    });
    io.restart();
    io.run();
    if (expired) return make_error_code(errc::timed_out);
    return op_ec;
}

/// How one exchange ended.
enum class ending { timed_out, answered, unreachable, closed };

struct exchange_outcome {
    ending how = ending::timed_out;
    detail::checked_response response;
    bool answered() const noexcept { return how == ending::answered; }
};

/// ICMP errors a UDP socket reports (with IP_RECVERR even when it is not connected), and a
/// refused TCP connection: nothing answers at that address and port.
bool is_unreachable(const std::error_code& ec) noexcept {
    // Standalone Asio reports errno values in a category of its own ("asio.system") that does
    // not compare equal to std::errc, so compare the values.
    if (ec.category() != asio::error::get_system_category() && ec.category() != std::system_category() &&
        ec.category() != std::generic_category()) {
        return false;
    }
    return ec.value() == ECONNREFUSED || ec.value() == EHOSTUNREACH || ec.value() == ENETUNREACH;
}

/// Empties the socket's error queue (IP_RECVERR keeps one entry per ICMP error received).
void drain_error_queue(int fd) noexcept {
    std::array<std::byte, 512> control{};
    for (int i = 0; i < 64; ++i) {
        msghdr m{};
        m.msg_control = control.data();
        m.msg_controllen = control.size();
        if (::recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
    }
}

/// The largest UDP answer a query allows: its EDNS payload size, or 512 bytes without EDNS.
std::size_t udp_answer_limit(bool edns, std::uint16_t edns_size) noexcept {
    return edns ? std::max<std::size_t>(512, edns_size) : 512;
}

class query_timer {
public:
    query_timer(const udp::endpoint& server, const dns_query_options& o, dns_query_result& r)
        : server_(server),
          opt_(o),
          r_(r),
          udp_(io_),
          timer_(io_),
          rng_(std::random_device{}()),
          buf_(65535) {}

    std::error_code open() {
        std::error_code ec;
        udp_.open(server_.protocol(), ec);
        if (ec) return ec;
        // Unconnected (so answers from the wrong source can be seen and counted), yet told of
        // ICMP errors: a port unreachable ends the query at once instead of at its timeout.
        const int on = 1;
        const bool v6 = server_.protocol() == udp::v6();
        if (::setsockopt(udp_.native_handle(), v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVERR : IP_RECVERR,
                         &on, sizeof on) != 0) {
            return {errno, std::system_category()};
        }
        return {};
    }

    std::error_code run() {
        auto next_send = mono_clock::now();
        for (unsigned i = 0; i < opt_.count; ++i) {
            if (i > 0 && opt_.interval.count() > 0) {
                std::error_code ignored;
                timer_.expires_at(next_send);
                timer_.wait(ignored);
            }
            std::error_code ec;
            const auto id = static_cast<std::uint16_t>(rng_() & 0xffffu);
            auto q = detail::build_dns_query(opt_.name, opt_.type, id, opt_.recurse, opt_.edns,
                                             opt_.edns_size, ec);
            if (ec) return ec;
            const auto start = mono_clock::now();
            next_send = start + opt_.interval;
            ++r_.sent;
            exchange_outcome out = opt_.transport == dns_transport::tcp ? tcp_exchange(q, start + opt_.timeout)
                                                                        : udp_exchange(q, start + opt_.timeout);
            if (opt_.transport == dns_transport::udp && out.answered() && out.response.truncated) {
                ++r_.tcp_retries;
                out = tcp_exchange(q, mono_clock::now() + opt_.timeout);
                if (!out.answered()) {
                    ++r_.tcp_failures;
                    continue;
                }
            }
            switch (out.how) {
                case ending::answered: break;
                case ending::timed_out: ++r_.timeouts; continue;
                case ending::unreachable: ++r_.unreachable; continue;
                case ending::closed: ++r_.closed; continue;
            }
            r_.rtt.record(mono_clock::now() - start);
            ++r_.answered;
            ++r_.rcodes[out.response.records.rcode];
            r_.last = std::move(out.response.records);
        }
        return {};
    }

private:
    exchange_outcome udp_exchange(const detail::dns_query_wire& q, mono_clock::time_point deadline) {
        exchange_outcome out;
        std::error_code ec;
        udp_.send_to(asio::buffer(q.wire), server_, 0, ec);
        if (is_unreachable(ec)) {
            // An ICMP error that came after the last query gave up is reported on this send; it
            // is not this query's: send again.
            drain_error_queue(udp_.native_handle());
            udp_.send_to(asio::buffer(q.wire), server_, 0, ec);
        }
        if (ec) {
            ++r_.send_errors;
            return out;
        }
        while (mono_clock::now() < deadline) {
            udp::endpoint from;
            std::size_t n = 0;
            ec = run_until(
                io_, timer_, deadline, n,
                [&](auto handler) { udp_.async_receive_from(asio::buffer(buf_), from, handler); },
                [&] { udp_.cancel(); });
            if (ec == errc::timed_out) return out;
            if (is_unreachable(ec)) {
                // Our only destination is the server, so the ICMP error is about this query.
                drain_error_queue(udp_.native_handle());
                out.how = ending::unreachable;
                return out;
            }
            if (ec) continue;
            if (from != server_) {
                ++r_.ignored.wrong_source;
                continue;
            }
            if (n > udp_answer_limit(opt_.edns, opt_.edns_size)) {
                ++r_.ignored.oversized;
                continue;
            }
            if (classify(std::span<const std::byte>{buf_.data(), n}, q, out)) return out;
        }
        return out;
    }

    exchange_outcome tcp_exchange(const detail::dns_query_wire& q, mono_clock::time_point deadline) {
        exchange_outcome out;
        tcp::socket sock{io_};
        const tcp::endpoint ep{server_.address(), server_.port()};
        std::size_t n = 0;
        auto ec = run_until(
            io_, timer_, deadline, n,
            [&](auto handler) {
                sock.async_connect(ep, [handler](const std::error_code& e) mutable { handler(e, 0); });
            },
            [&] { sock.close(); });
        if (is_unreachable(ec)) out.how = ending::unreachable;
        if (ec) return out;
        std::vector<std::byte> framed(q.wire.size() + 2);
        framed[0] = std::byte{static_cast<std::uint8_t>(q.wire.size() >> 8)};
        framed[1] = std::byte{static_cast<std::uint8_t>(q.wire.size() & 0xffu)};
        std::copy(q.wire.begin(), q.wire.end(), framed.begin() + 2);
        ec = run_until(
            io_, timer_, deadline, n,
            [&](auto handler) { asio::async_write(sock, asio::buffer(framed), handler); },
            [&] { sock.close(); });
        if (ec) return closed_or_timed_out(ec, out);
        while (mono_clock::now() < deadline) {
            std::array<std::byte, 2> prefix{};
            ec = run_until(
                io_, timer_, deadline, n,
                [&](auto handler) { asio::async_read(sock, asio::buffer(prefix), handler); },
                [&] { sock.close(); });
            if (ec) return closed_or_timed_out(ec, out);
            const auto len = detail::dns_tcp_length(prefix);
            if (!len) return out;
            ec = run_until(
                io_, timer_, deadline, n,
                [&](auto handler) { asio::async_read(sock, asio::buffer(buf_.data(), *len), handler); },
                [&] { sock.close(); });
            if (ec) return closed_or_timed_out(ec, out);
            if (classify(std::span<const std::byte>{buf_.data(), n}, q, out)) {
                // A truncated answer over TCP is still the answer; resolvers stop here.
                return out;
            }
        }
        return out;
    }

    /// A TCP exchange that failed after connecting: the deadline passed, or the server closed
    /// (end of file) or reset the connection first.
    static exchange_outcome& closed_or_timed_out(const std::error_code& ec, exchange_outcome& out) {
        out.how = ec == errc::timed_out ? ending::timed_out : ending::closed;
        return out;
    }

    /// true when msg is the answer (out filled); false after counting an ignored message.
    bool classify(std::span<const std::byte> msg, const detail::dns_query_wire& q, exchange_outcome& out) {
        auto chk = detail::check_dns_response(msg, q.question, true);
        switch (chk.verdict) {
            case detail::response_verdict::accepted:
                out.how = ending::answered;
                out.response = std::move(chk);
                return true;
            case detail::response_verdict::wrong_id: ++r_.ignored.wrong_id; break;
            case detail::response_verdict::wrong_question: ++r_.ignored.wrong_question; break;
            case detail::response_verdict::malformed: ++r_.ignored.malformed; break;
        }
        return false;
    }

    udp::endpoint server_;
    const dns_query_options& opt_;
    dns_query_result& r_;
    asio::io_context io_;
    udp::socket udp_;
    asio::steady_timer timer_;
    std::mt19937 rng_;
    std::vector<std::byte> buf_;
};

}  // namespace

dns_query_result time_dns_queries(const dns_server& server, const dns_query_options& options,
                                  std::error_code& ec) noexcept {
    ec.clear();
    dns_query_result r;
    try {
        r.server = server;
        r.name = options.name;
        r.type = options.type;
        r.transport = options.transport;
        if (auto e = validate_dns_name(options.name)) {
            ec = e;
            return r;
        }
        asio::error_code aec;
        const auto addr = asio::ip::make_address(server.address, aec);
        if (aec) {
            ec = make_error_code(errc::bad_address);
            return r;
        }
        query_timer t{udp::endpoint{addr, server.port}, options, r};
        if ((ec = t.open())) return r;
        ec = t.run();
    } catch (...) {
        ec = detail::code_of_current_exception(errc::protocol_error);
    }
    return r;
}

namespace {
const char* transport_name(dns_transport t) {
    return t == dns_transport::tcp ? "tcp" : "udp";
}
}  // namespace

void to_json(nlohmann::json& j, const dns_ignored_counts& c) {
    j = nlohmann::json{{"wrong_id", c.wrong_id},
                       {"wrong_source", c.wrong_source},
                       {"wrong_question", c.wrong_question},
                       {"malformed", c.malformed},
                       {"oversized", c.oversized}};
}

void to_json(nlohmann::json& j, const dns_records& r) {
    j = nlohmann::json{{"rcode", r.rcode},         {"authoritative", r.authoritative},
                       {"truncated", r.truncated}, {"answer", r.answer},
                       {"authority", r.authority}, {"additional", r.additional}};
}

void to_json(nlohmann::json& j, const dns_query_result& r) {
    j = nlohmann::json{{"server", r.server.to_string()},
                       {"name", r.name},
                       {"type", dns_type_name(r.type)},
                       {"transport", transport_name(r.transport)},
                       {"sent", r.sent},
                       {"answered", r.answered},
                       {"timeouts", r.timeouts},
                       {"unreachable", r.unreachable},
                       {"closed", r.closed},
                       {"tcp_retries", r.tcp_retries},
                       {"tcp_failures", r.tcp_failures},
                       {"send_errors", r.send_errors},
                       {"latency", latency_summary::from(r.rtt)},
                       {"rcodes", r.rcodes},
                       {"ignored", r.ignored}};
    if (r.last) {
        to_json(j["response"], *r.last);
    } else {
        j["response"] = nullptr;
    }
}

// ---------------------------------------------------------------------------------------------
// System resolver

system_lookup_result time_system_lookups(const std::string& name, unsigned count,
                                         std::chrono::nanoseconds interval) noexcept {
    system_lookup_result r;
    try {
        r.name = name;
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        for (unsigned i = 0; i < count; ++i) {
            if (i > 0 && interval.count() > 0) std::this_thread::sleep_for(interval);
            addrinfo* res = nullptr;
            stopwatch sw;
            const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res);
            const auto took = sw.elapsed();
            ++r.lookups;
            if (i == 0) {
                r.cold = took;
            } else {
                r.warm.record(took);
            }
            if (rc != 0) {
                ++r.failures;
                r.gai_error = rc;
                r.error = ::gai_strerror(rc);
                continue;
            }
            std::vector<std::string> addrs;
            for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
                std::array<char, NI_MAXHOST> host{};
                if (::getnameinfo(a->ai_addr, a->ai_addrlen, host.data(), host.size(), nullptr, 0,
                                  NI_NUMERICHOST) == 0) {
                    std::string h{host.data()};
                    if (std::find(addrs.begin(), addrs.end(), h) == addrs.end()) addrs.push_back(h);
                }
            }
            ::freeaddrinfo(res);
            r.addresses = std::move(addrs);
        }
    } catch (...) {
        // Out of memory while collecting strings: what was measured so far stands.
    }
    return r;
}

void to_json(nlohmann::json& j, const system_lookup_result& r) {
    j = nlohmann::json{
        {"name", r.name},
        {"lookups", r.lookups},
        {"cold_us", r.cold ? nlohmann::json(std::chrono::duration<double, std::micro>(*r.cold).count())
                           : nlohmann::json(nullptr)},
        {"warm", latency_summary::from(r.warm)},
        {"addresses", r.addresses},
        {"failures", r.failures},
        {"error", r.failures ? nlohmann::json(r.error) : nlohmann::json(nullptr)}};
}

}  // namespace nettool
