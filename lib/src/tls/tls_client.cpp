#include "tls/tls_client.hpp"

#include "net/socket.hpp"
#include "tls/certificate.hpp"
#include "tls/openssl_api.hpp"
#include "tls/server_bytes.hpp"

#include <nettool/core/error.hpp>
#include <nettool/core/version.hpp>
#include <nettool/net/address.hpp>

#include <fmt/format.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace nettool::detail {

void session_free::operator()(ssl_session_st* s) const noexcept {
    ossl().SSL_SESSION_free(s);
}

std::string timeout_text(std::chrono::nanoseconds d) {
    const double s = std::chrono::duration<double>(d).count();
    if (s < 1) return fmt::format("{:g} ms", s * 1000);
    return fmt::format("{:g} s", s);
}

namespace {

// What the callbacks below write to. A connection runs on one thread from SSL_do_handshake to
// its close, so the thread's current connection is the one OpenSSL calls back for.
struct callback_target {
    std::vector<std::pair<int, int>> verify_errors;  // X509_V_ERR_*, depth; each pair once
    tls_session* session = nullptr;                  // where a session offered for resumption goes
};
thread_local callback_target* current = nullptr;

// Every verification problem is recorded and the handshake goes on: the probe reports them all
// and decides afterwards (--insecure, or a failure with the reasons).
int on_verify(int ok, X509_STORE_CTX* store) {
    if (ok == 0 && current != nullptr && current->verify_errors.size() < 32) {
        const std::pair<int, int> e{ossl().X509_STORE_CTX_get_error(store), ossl().X509_STORE_CTX_get_error_depth(store)};
        if (std::find(current->verify_errors.begin(), current->verify_errors.end(), e) == current->verify_errors.end())
            current->verify_errors.push_back(e);
    }
    return 1;
}

// TLS 1.2 offers its session at the end of the handshake; TLS 1.3 in NewSessionTicket messages
// after it. Either way OpenSSL calls this; returning 1 keeps the reference.
int on_new_session(SSL*, SSL_SESSION* s) {
    if (current == nullptr || current->session == nullptr) return 0;
    current->session->reset(s);
    return 1;
}

// The socket helpers' deadlines say errc::timed_out; the kernel's own timeouts say ETIMEDOUT.
bool is_timeout(const std::error_code& ec) noexcept {
    return ec == errc::timed_out || ec == std::errc::timed_out;
}

std::string openssl_errors() {
    const auto& api = ossl();
    std::string out;
    while (const unsigned long e = api.ERR_get_error()) {
        std::array<char, 256> buf{};
        api.ERR_error_string_n(e, buf.data(), buf.size());
        // "error:0A00010B:SSL routines::wrong version number": the words after the last colon.
        std::string_view text{buf.data()};
        if (const auto colon = text.rfind(':'); colon != std::string_view::npos) text.remove_prefix(colon + 1);
        if (!out.empty()) out += "; ";
        out += text;
    }
    return out.empty() ? "no reason given" : out;
}

// The socket side of one connection: what the memory BIOs hold goes out, what arrives goes in.
class connection_io {
public:
    connection_io(int fd, BIO* in, BIO* out) : fd_(fd), in_(in), out_(out) {}

    /// Writes whatever OpenSSL queued. false with ec on a socket error.
    bool flush(mono_clock::time_point deadline, std::uint64_t& counter, std::error_code& ec) {
        const auto& api = ossl();
        while (api.BIO_ctrl_pending(out_) > 0) {
            const int n = api.BIO_read(out_, buf_.data(), static_cast<int>(buf_.size()));
            if (n <= 0) break;
            if (!write_all(fd_, std::span{buf_.data(), static_cast<std::size_t>(n)}, deadline, ec)) return false;
            counter += static_cast<std::uint64_t>(n);
            wrote_ = true;
        }
        return true;
    }

    /// Waits for bytes from the server and hands them to OpenSSL. 0 on end of stream, -1 with ec.
    long receive(mono_clock::time_point deadline, std::error_code& ec) {
        for (;;) {
            const auto n = ::recv(fd_, buf_.data(), buf_.size(), 0);
            if (n > 0) {
                if (first_.size() < 64)
                    first_.insert(first_.end(), buf_.begin(), buf_.begin() + std::min<long>(n, 64 - static_cast<long>(first_.size())));
                if (ossl().BIO_write(in_, buf_.data(), static_cast<int>(n)) != n) {
                    ec = std::make_error_code(std::errc::not_enough_memory);
                    return -1;
                }
                return n;
            }
            if (n == 0) return 0;
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                ec = {errno, std::system_category()};
                return -1;
            }
            if (!wait_readable(fd_, deadline, ec)) return -1;
        }
    }

    /// True once, after a flush wrote something: the client sent a flight.
    bool take_wrote() noexcept { return std::exchange(wrote_, false); }
    std::span<const std::byte> first_bytes() const noexcept { return {first_.data(), first_.size()}; }

private:
    int fd_;
    BIO* in_;
    BIO* out_;
    bool wrote_ = false;
    std::vector<std::byte> first_;
    std::array<std::byte, 16 * 1024> buf_{};
};

struct ssl_free {
    void operator()(SSL* s) const noexcept { ossl().SSL_free(s); }
};

// The ALPN wire format: each protocol as a length byte and its name.
std::string alpn_wire(const std::vector<std::string>& protocols) {
    std::string out;
    for (const auto& p : protocols) {
        if (p.empty() || p.size() > 255)
            throw error(errc::bad_argument, fmt::format("--alpn: '{}' is not a protocol name (1 to 255 bytes)", p));
        out += static_cast<char>(p.size());
        out += p;
    }
    return out;
}

void set_version(SSL_CTX* ctx, tls_version v) {
    const auto& api = ossl();
    // SSL_CTX_set_min_proto_version / SSL_CTX_set_max_proto_version
    const long min = v == tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
    const long max = v == tls_version::tls1_2 ? TLS1_2_VERSION : 0;
    api.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, min, nullptr);
    api.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, max, nullptr);
}

}  // namespace

tls_client::tls_client(const tls_options& opt, std::string sni, std::string verify_name)
    : opt_(opt), sni_(std::move(sni)), verify_name_(std::move(verify_name)) {
    const auto& api = ossl();
    verify_ip_ = ip_address::parse(verify_name_).has_value();
    ctx_ = api.SSL_CTX_new(api.TLS_client_method());
    if (ctx_ == nullptr) throw error(std::make_error_code(std::errc::not_enough_memory), "SSL_CTX_new: " + openssl_errors());
    try {
        set_version(ctx_, opt_.version);
        api.SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, on_verify);
        if (!opt_.ca_file.empty()) {
            if (api.SSL_CTX_load_verify_locations(ctx_, opt_.ca_file.c_str(), nullptr) != 1)
                throw error(errc::bad_argument, fmt::format("--ca {}: not a file of PEM certificates OpenSSL can load ({})",
                                                            opt_.ca_file, openssl_errors()));
        } else {
            api.SSL_CTX_set_default_verify_paths(ctx_);
            api.ERR_clear_error();
        }
        if (!opt_.alpn.empty()) {
            const auto wire = alpn_wire(opt_.alpn);
            if (api.SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                                            static_cast<unsigned>(wire.size())) != 0)
                throw error(errc::bad_argument, "--alpn: OpenSSL refused the list");
        }
        // SSL_CTX_set_session_cache_mode: the client side, without OpenSSL's own store; sessions
        // reach on_new_session and the probe decides which one to offer.
        api.SSL_CTX_ctrl(ctx_, SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE,
                         nullptr);
        api.SSL_CTX_sess_set_new_cb(ctx_, on_new_session);
    } catch (...) {
        api.SSL_CTX_free(ctx_);
        throw;
    }
}

tls_client::~tls_client() {
    ossl().SSL_CTX_free(ctx_);
}

tls_connection tls_client::connect(const socket_address& to, const tls_connection_request& req) {
    const auto& api = ossl();
    tls_connection c;
    callback_target target;
    target.session = req.want_session ? &c.session : nullptr;
    current = &target;
    struct reset_current {
        ~reset_current() { current = nullptr; }
    } reset;
    api.ERR_clear_error();

    // Everything OpenSSL needs is ready before connect(): the timed phases pay for the protocol.
    std::unique_ptr<SSL, ssl_free> ssl{api.SSL_new(ctx_)};
    BIO* in = api.BIO_new(api.BIO_s_mem());
    BIO* out = api.BIO_new(api.BIO_s_mem());
    if (!ssl || in == nullptr || out == nullptr) {
        if (in != nullptr) api.BIO_free(in);
        if (out != nullptr) api.BIO_free(out);
        throw error(std::make_error_code(std::errc::not_enough_memory), "SSL_new: " + openssl_errors());
    }
    api.BIO_ctrl(in, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, nullptr);  // empty means "wait", not "closed"
    api.SSL_set_bio(ssl.get(), in, out);                            // ssl owns both now
    api.SSL_set_connect_state(ssl.get());
    if (!sni_.empty()) api.SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, sni_.data());
    if (verify_ip_)
        api.X509_VERIFY_PARAM_set1_ip_asc(api.SSL_get0_param(ssl.get()), verify_name_.c_str());
    else
        api.SSL_set1_host(ssl.get(), verify_name_.c_str());
    if (req.resume != nullptr && *req.resume) api.SSL_set_session(ssl.get(), req.resume->get());

    const auto timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(opt_.timeout);
    std::error_code ec;
    c.started = mono_clock::now();
    unique_fd fd = tcp_connect(to, c.started + timeout, ec, &c.timeline.connect);
    if (!fd) {
        c.outcome = tls_outcome::connect_failed;
        c.error = is_timeout(ec) ? fmt::format("TCP connect to {} timed out after {}", to.to_string(), timeout_text(timeout))
                                             : fmt::format("TCP connect to {}: {}", to.to_string(), ec.message());
        c.ended = mono_clock::now();
        return c;
    }
    c.local = local_address(fd.get());
    c.handshake.tcp_rtt_us = read_tcp_info(fd.get()).rtt_us;  // the SYN/SYN-ACK sample
    set_int_option(fd.get(), IPPROTO_TCP, TCP_NODELAY, 1);    // as curl: a flight leaves at once

    connection_io io{fd.get(), in, out};
    auto& hs = c.handshake;
    const auto fail = [&](tls_outcome o, std::string why) {
        c.outcome = o;
        c.error = std::move(why);
        c.ended = mono_clock::now();
        return std::move(c);
    };
    // A failure while the server's bytes were not TLS at all is "not TLS", whatever OpenSSL said.
    const auto not_tls = [&] {
        const auto first = io.first_bytes();
        return !first.empty() && !looks_like_tls_record(first);
    };
    const auto not_tls_text = [&] {
        return fmt::format("the server's answer is not TLS: it begins \"{}\"", quote_bytes(io.first_bytes(), 40));
    };

    const auto t0 = mono_clock::now();
    const auto hs_deadline = t0 + timeout;
    for (;;) {
        const int rc = api.SSL_do_handshake(ssl.get());
        const int err = rc == 1 ? SSL_ERROR_NONE : api.SSL_get_error(ssl.get(), rc);
        if (!io.flush(hs_deadline, hs.client_bytes, ec))
            return fail(tls_outcome::handshake_failed, fmt::format("sending the handshake: {}", ec.message()));
        if (rc == 1) break;
        if (err != SSL_ERROR_WANT_READ) {
            if (not_tls()) return fail(tls_outcome::not_tls, not_tls_text());
            return fail(tls_outcome::handshake_failed, fmt::format("the handshake failed: {}", openssl_errors()));
        }
        if (io.take_wrote()) {  // a flight went out and now the client waits: one round trip
            ++hs.flights;
            hs.client_flight_ends.push_back(hs.client_bytes);
            if (hs.server_bytes > 0) hs.server_flight_ends.push_back(hs.server_bytes);
        }
        const long n = io.receive(hs_deadline, ec);
        if (n > 0) {
            hs.server_bytes += static_cast<std::uint64_t>(n);
            continue;
        }
        if (n == 0) {
            if (not_tls()) return fail(tls_outcome::not_tls, not_tls_text());
            return fail(tls_outcome::handshake_failed,
                        hs.server_bytes == 0 ? "the server closed the connection without answering the ClientHello"
                                             : fmt::format("the server closed the connection during the handshake, after {} bytes",
                                                           hs.server_bytes));
        }
        if (is_timeout(ec)) {
            if (not_tls()) return fail(tls_outcome::not_tls, not_tls_text());
            return fail(tls_outcome::timeout,
                        hs.server_bytes == 0
                            ? fmt::format("no ServerHello within {}", timeout_text(timeout))
                            : fmt::format("the handshake stalled: nothing more from the server within {} after {} bytes",
                                          timeout_text(timeout), hs.server_bytes));
        }
        return fail(tls_outcome::handshake_failed, fmt::format("receiving the handshake: {}", ec.message()));
    }
    c.timeline.handshake = mono_clock::now() - t0;
    if (hs.client_flight_ends.empty() || hs.client_flight_ends.back() != hs.client_bytes)
        hs.client_flight_ends.push_back(hs.client_bytes);
    if (hs.server_flight_ends.empty() || hs.server_flight_ends.back() != hs.server_bytes)
        hs.server_flight_ends.push_back(hs.server_bytes);

    // What was negotiated.
    hs.version = api.SSL_get_version(ssl.get());
    if (const SSL_CIPHER* cipher = api.SSL_get_current_cipher(ssl.get())) hs.cipher = api.SSL_CIPHER_get_name(cipher);
    // SSL_get_negotiated_group
    if (const long group = api.SSL_ctrl(ssl.get(), SSL_CTRL_GET_NEGOTIATED_GROUP, 0, nullptr); group > 0)
        if (const char* name = api.SSL_group_to_name(ssl.get(), static_cast<int>(group))) hs.group = name;
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    api.SSL_get0_alpn_selected(ssl.get(), &alpn, &alpn_len);
    if (alpn != nullptr && alpn_len > 0)
        hs.alpn = quote_bytes({reinterpret_cast<const std::byte*>(alpn), alpn_len}, 255);
    hs.resumed = api.SSL_session_reused(ssl.get()) == 1;

    if (req.want_chain) {
        c.chain = describe_chain(ssl.get());
        auto& v = c.verification;
        v.checked = true;
        v.name = verify_name_;
        for (const auto& [code, depth] : target.verify_errors) {
            const auto word = verify_reason(code);
            // One sentence per word: "unable to get local issuer certificate" comes with "unable
            // to verify the first certificate", both "unknown issuer".
            if (std::find(v.reasons.begin(), v.reasons.end(), word) != v.reasons.end()) continue;
            v.reasons.push_back(word);
            const auto* subject = static_cast<std::size_t>(depth) < c.chain.size() ? &c.chain[depth].subject : nullptr;
            v.details.push_back(fmt::format("{} ({}: certificate {} of the chain{}{})", word,
                                            api.X509_verify_cert_error_string(code), depth,
                                            subject != nullptr ? ", " : "", subject != nullptr ? *subject : ""));
        }
        v.ok = target.verify_errors.empty();
    } else if (!target.verify_errors.empty()) {
        c.verification.checked = true;
        c.verification.reasons.push_back(verify_reason(target.verify_errors.front().first));
    } else {
        c.verification.checked = c.verification.ok = true;
    }

    // The GET, timed from the request leaving to the first and the last byte of the answer.
    std::array<std::byte, 16 * 1024> plain{};
    std::uint64_t ignored = 0;
    // Decrypted bytes, or 0 with done at the end of the stream; waits for the socket only while
    // enough() is false (the ticket wait ends when a session came with no application data).
    const auto read_some = [&](mono_clock::time_point deadline, bool& done, auto enough) -> long {
        for (;;) {
            const int n = api.SSL_read(ssl.get(), plain.data(), static_cast<int>(plain.size()));
            if (n > 0) return n;
            const int err = api.SSL_get_error(ssl.get(), n);
            if (!io.flush(deadline, ignored, ec)) return -1;  // key updates, alerts
            if (err == SSL_ERROR_ZERO_RETURN) {
                done = true;
                return 0;
            }
            if (err != SSL_ERROR_WANT_READ) {
                ec = std::make_error_code(std::errc::protocol_error);
                return -1;
            }
            if (enough()) return 0;
            const long got = io.receive(deadline, ec);
            if (got == 0) {
                done = true;  // closed without close_notify: HTTP/1.0 servers do
                return 0;
            }
            if (got < 0) return -1;
        }
    };
    if (!opt_.http_path.empty()) {
        if (!hs.alpn.empty() && hs.alpn != "http/1.1" && hs.alpn != "http/1.0")
            return fail(tls_outcome::handshake_failed,
                        fmt::format("the server chose ALPN '{}'; --http speaks HTTP/1.1 (offer --alpn http/1.1)", hs.alpn));
        const auto request = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: nettool/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
                                         opt_.http_path, sni_.empty() ? to.address_string() : sni_, version_string);
        const auto t_req = mono_clock::now();
        const auto deadline = t_req + timeout;
        if (api.SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) <= 0 ||
            !io.flush(deadline, ignored, ec))
            return fail(tls_outcome::handshake_failed, fmt::format("sending the HTTP request: {}", ec ? ec.message() : openssl_errors()));
        constexpr std::uint64_t max_response = 64ull << 20;  // read and dropped; the cap ends the wait
        bool done = false;
        std::vector<std::byte> head;
        while (!done && c.http_bytes < max_response) {
            const long n = read_some(deadline, done, [] { return false; });
            if (n < 0) {
                if (is_timeout(ec))
                    return fail(tls_outcome::timeout, c.http_bytes == 0 ? fmt::format("no HTTP response within {}", timeout_text(timeout))
                                                                        : fmt::format("the HTTP response stalled after {} bytes", c.http_bytes));
                return fail(tls_outcome::handshake_failed, fmt::format("reading the HTTP response: {}", openssl_errors()));
            }
            if (n == 0) continue;
            if (c.http_bytes == 0) c.timeline.first_byte = mono_clock::now() - t_req;
            if (head.size() < 16) head.insert(head.end(), plain.begin(), plain.begin() + std::min<long>(n, 16));
            c.http_bytes += static_cast<std::uint64_t>(n);
        }
        c.timeline.total = mono_clock::now() - t_req;
        const auto status = parse_http_status(head);
        if (!status)
            return fail(tls_outcome::handshake_failed,
                        c.http_bytes == 0 ? std::string{"the server closed the connection without an HTTP response"}
                                          : fmt::format("the answer is not HTTP/1: it begins \"{}\"", quote_bytes(head, 16)));
        c.http_status = *status;
    } else if (req.want_session && !c.session && (!hs.resumed || hs.version == "TLSv1.3")) {
        // TLS 1.3 sends its tickets after the handshake, also after a resumed one: read until one
        // came (bounded). Its tickets are single use (RFC 8446, C.4; OpenSSL will not offer one
        // twice). A resumed TLS 1.2 handshake keeps the session it resumed.
        bool done = false;
        const auto deadline = mono_clock::now() + timeout;
        const auto have_session = [&] { return static_cast<bool>(c.session); };
        while (!have_session() && !done && read_some(deadline, done, have_session) >= 0) {
        }
    }

    api.SSL_shutdown(ssl.get());  // close_notify
    io.flush(mono_clock::now() + timeout, ignored, ec);
    fd.reset();
    c.ended = mono_clock::now();
    return c;
}

}  // namespace nettool::detail
