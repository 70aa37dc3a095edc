#pragma once
// One TLS client configuration (an SSL_CTX) and one connection through it. OpenSSL runs over
// memory BIOs; this code moves the bytes between them and the socket, so it knows each flight
// the client sent, each wait for the server, and the first bytes the server answered with.

#include <nettool/core/clock.hpp>
#include <nettool/tls/tls_probe.hpp>

#include <memory>
#include <string>
#include <vector>

struct ssl_ctx_st;
struct ssl_session_st;

namespace nettool::detail {

/// A session to resume (SSL_SESSION), owned.
struct session_free {
    void operator()(ssl_session_st* s) const noexcept;
};
using tls_session = std::unique_ptr<ssl_session_st, session_free>;

/// What one connection did.
struct tls_connection {
    tls_outcome outcome = tls_outcome::ok;
    std::string error;
    socket_address local;
    tls_timeline timeline;  ///< name_lookup is left 0: the probe times it once
    tls_handshake handshake;
    std::vector<tls_certificate> chain;  ///< when asked for
    tls_verification verification;       ///< when a chain was checked
    int http_status = 0;
    std::uint64_t http_bytes = 0;
    tls_session session;  ///< the session the server offered for resumption, when asked for
    mono_clock::time_point started{};  ///< connect() called
    mono_clock::time_point ended{};    ///< socket closed
};

/// What a connection should do besides the handshake.
struct tls_connection_request {
    const tls_session* resume = nullptr;  ///< offer this session
    bool want_session = false;  ///< wait (up to the timeout) for a session to resume later
    bool want_chain = false;    ///< describe the chain and the verification
};

class tls_client {
public:
    /// Builds the SSL_CTX: versions, ALPN, the trust store (opt.ca_file or the system's), the
    /// verification callback. sni: the name to send ("" for none); verify_name: the name or
    /// address literal the leaf must match. Throws nettool::error: a CA file OpenSSL cannot load
    /// (errc::bad_argument, naming it), libssl missing.
    tls_client(const tls_options& opt, std::string sni, std::string verify_name);
    ~tls_client();
    tls_client(const tls_client&) = delete;
    tls_client& operator=(const tls_client&) = delete;

    /// One connection to `to`: TCP connect, TLS handshake, the GET when opt.http_path is set,
    /// close_notify and close. Never throws for what the network or the server did.
    tls_connection connect(const socket_address& to, const tls_connection_request& req);

private:
    tls_options opt_;
    std::string sni_;
    std::string verify_name_;
    bool verify_ip_ = false;
    ssl_ctx_st* ctx_ = nullptr;
};

/// "5 s", "0.5 s", "250 ms": a timeout as the messages name it.
std::string timeout_text(std::chrono::nanoseconds d);

}  // namespace nettool::detail
