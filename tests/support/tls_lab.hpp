#pragma once
// A TLS lab for tests (issue 13), all on 127.0.0.1 and all gone when the objects are:
//
// * tls_certs: a temporary directory with certificates made by the openssl CLI, every key EC
//   P-256 (handshakes stay cheap): a CA; a good leaf signed by it (CN localhost, SANs
//   DNS:localhost and IP:127.0.0.1); an expired leaf (2020-01-01 to 2020-02-01, made with
//   `openssl ca -startdate/-enddate`: OpenSSL 3.0's `x509 -req` takes no start date and no
//   negative -days); a leaf not valid before 2040; a leaf for the wrong name (SAN
//   DNS:wrong.example only); a self-signed leaf (DNS:localhost). The directory is removed in the
//   destructor.
// * tls_server: `openssl s_server` with one of those certificates on a port the kernel chose
//   (`-accept 127.0.0.1:0`, the port read back from its "ACCEPT host:port" line, so there is no
//   race for a free port), extra arguments as given ("-tls1_2", "-www", "-num_tickets", "2"...),
//   its output in a log file (log(): "Reused session-id" once per resumed connection). Its stdin
//   is a pipe that this object holds open and never writes: s_server reads stdin while a client
//   is connected, and without -quiet an end of file there ("DONE") closes its listening socket,
//   so /dev/null would end it after the first client. SIGTERM, then SIGKILL, and reaped in the
//   destructor; PR_SET_PDEATHSIG takes it down with a crashed test.
// * stall_server: a thread that accepts, reads what arrives (a ClientHello) and never answers.
// * garbage_server: a thread that answers each connection's first bytes with given bytes, then
//   closes (FIN, not RST: it reads on until the client closes, or 1 s).
//
// Every wait is bounded; a lab that could not be built says why in error() and ok() is false.

#include "support/files.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nettool::test {

/// True when the openssl command line tool runs (the lab needs it; tests skip without it).
inline bool have_openssl() {
    return run_process({"openssl", "version"}, std::chrono::seconds{10}).exit_code == 0;
}

/// True when curl runs.
inline bool have_curl() {
    return run_process({"curl", "--version"}, std::chrono::seconds{10}).exit_code == 0;
}

enum class cert_kind {
    good,           ///< signed by the CA, CN localhost, DNS:localhost and IP:127.0.0.1, a year valid
    expired,        ///< as good, but valid from 2020-01-01 to 2020-02-01
    not_yet_valid,  ///< as good, but valid from 2040-01-01 to 2041-01-01
    wrong_name,     ///< signed by the CA, CN wrong.example, DNS:wrong.example only
    self_signed,    ///< CN localhost, DNS:localhost, signed by its own key
};

inline const char* to_string(cert_kind k) {
    switch (k) {
        case cert_kind::good: return "good";
        case cert_kind::expired: return "expired";
        case cert_kind::not_yet_valid: return "not_yet_valid";
        case cert_kind::wrong_name: return "wrong_name";
        case cert_kind::self_signed: return "self_signed";
    }
    return "?";
}

/// The certificates, in a temporary directory removed in the destructor.
class tls_certs {
public:
    tls_certs() {
        namespace fs = std::filesystem;
        std::string templ = (fs::temp_directory_path() / "nettool-tls-lab-XXXXXX").string();
        if (::mkdtemp(templ.data()) == nullptr) {
            error_ = "mkdtemp " + templ + ": " + std::strerror(errno);
            return;
        }
        dir_ = templ;
        ok_ = make();
    }
    ~tls_certs() {
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }
    tls_certs(const tls_certs&) = delete;
    tls_certs& operator=(const tls_certs&) = delete;

    bool ok() const noexcept { return ok_; }
    /// What failed: the openssl command and what it printed.
    const std::string& error() const noexcept { return error_; }
    const std::string& dir() const noexcept { return dir_; }
    std::string ca_cert() const { return dir_ + "/ca.pem"; }
    std::string ca_key() const { return dir_ + "/ca.key"; }
    std::string cert(cert_kind k) const { return dir_ + "/" + to_string(k) + ".pem"; }
    std::string key(cert_kind k) const { return dir_ + "/" + to_string(k) + ".key"; }
    /// A fresh file name inside the directory (logs, session files).
    std::string file(const std::string& stem) const {
        return dir_ + "/" + stem + "-" + std::to_string(counter_.fetch_add(1));
    }

private:
    bool run(const std::vector<std::string>& argv) {
        const auto r = run_process(argv, std::chrono::seconds{30});
        if (r.exit_code == 0) return true;
        std::string cmd;
        for (const auto& a : argv) cmd += a + " ";
        error_ = cmd + "exited " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") + ": " +
                 r.out + r.err;
        return false;
    }
    bool key_for(const std::string& stem) {
        return run({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                    dir_ + "/" + stem + ".key"});
    }
    bool make() {
        // One configuration for `req` and `ca`, so nothing depends on the system's openssl.cnf.
        {
            std::ofstream cnf(dir_ + "/lab.cnf");
            cnf << "[req]\n"
                   "distinguished_name = dn\n"
                   "prompt = no\n"
                   "[dn]\n"
                   "CN = unused\n"
                   "[ca]\n"
                   "default_ca = lab_ca\n"
                   "[lab_ca]\n"
                   "database = "
                << dir_
                << "/index.txt\n"
                   "new_certs_dir = "
                << dir_
                << "\n"
                   "serial = "
                << dir_
                << "/serial\n"
                   "default_md = sha256\n"
                   "policy = any_name\n"
                   "unique_subject = no\n"
                   "copy_extensions = none\n"
                   "email_in_dn = no\n"
                   "[any_name]\n"
                   "organizationName = optional\n"
                   "commonName = supplied\n"
                   "[ca_ext]\n"
                   "basicConstraints = critical,CA:TRUE\n"
                   "keyUsage = critical,keyCertSign,cRLSign\n"
                   "subjectKeyIdentifier = hash\n"
                   "[localhost_ext]\n"
                   "basicConstraints = CA:FALSE\n"
                   "keyUsage = critical,digitalSignature\n"
                   "extendedKeyUsage = serverAuth\n"
                   "subjectKeyIdentifier = hash\n"
                   "authorityKeyIdentifier = keyid\n"
                   "subjectAltName = DNS:localhost,IP:127.0.0.1\n"
                   "[wrong_ext]\n"
                   "basicConstraints = CA:FALSE\n"
                   "keyUsage = critical,digitalSignature\n"
                   "extendedKeyUsage = serverAuth\n"
                   "subjectKeyIdentifier = hash\n"
                   "authorityKeyIdentifier = keyid\n"
                   "subjectAltName = DNS:wrong.example\n"
                   "[self_ext]\n"
                   "basicConstraints = CA:FALSE\n"
                   "subjectKeyIdentifier = hash\n"
                   "subjectAltName = DNS:localhost\n";
            std::ofstream(dir_ + "/index.txt").flush();
            std::ofstream(dir_ + "/serial") << "1000\n";
            if (!cnf) {
                error_ = "cannot write " + dir_ + "/lab.cnf";
                return false;
            }
        }
        const std::string cnf = dir_ + "/lab.cnf";
        if (!key_for("ca") || !run({"openssl", "req", "-config", cnf, "-x509", "-new", "-key", ca_key(),
                                    "-subj", "/O=nettool test/CN=nettool test CA", "-days", "3650",
                                    "-extensions", "ca_ext", "-out", ca_cert()}))
            return false;
        struct leaf {
            cert_kind kind;
            const char* subject;
            const char* ext;
            std::vector<std::string> validity;
        };
        const std::vector<leaf> leaves{
            {cert_kind::good, "/O=nettool test/CN=localhost", "localhost_ext", {"-days", "365"}},
            {cert_kind::expired,
             "/O=nettool test/CN=localhost",
             "localhost_ext",
             {"-startdate", "20200101000000Z", "-enddate", "20200201000000Z"}},
            {cert_kind::not_yet_valid,
             "/O=nettool test/CN=localhost",
             "localhost_ext",
             {"-startdate", "20400101000000Z", "-enddate", "20410101000000Z"}},
            {cert_kind::wrong_name, "/O=nettool test/CN=wrong.example", "wrong_ext", {"-days", "365"}},
        };
        for (const auto& l : leaves) {
            const std::string stem = to_string(l.kind);
            const std::string csr = dir_ + "/" + stem + ".csr";
            if (!key_for(stem) || !run({"openssl", "req", "-config", cnf, "-new", "-key", key(l.kind),
                                        "-subj", l.subject, "-out", csr}))
                return false;
            std::vector<std::string> argv{"openssl", "ca",         "-batch",      "-notext", "-config", cnf,
                                          "-cert",   ca_cert(),    "-keyfile",    ca_key(),  "-in",     csr,
                                          "-out",    cert(l.kind), "-extensions", l.ext};
            argv.insert(argv.end(), l.validity.begin(), l.validity.end());
            if (!run(argv)) return false;
        }
        return key_for("self_signed") &&
               run({"openssl", "req", "-config", cnf, "-x509", "-new", "-key", key(cert_kind::self_signed),
                    "-subj", "/O=nettool test/CN=localhost", "-days", "365", "-extensions", "self_ext",
                    "-out", cert(cert_kind::self_signed)});
    }

    std::string dir_;
    std::string error_;
    bool ok_ = false;
    mutable std::atomic<unsigned> counter_{0};
};

namespace detail {

/// True when something listens on TCP port on 127.0.0.1 or any address (/proc/net/tcp, state 0A):
/// checked without connecting, so a one-connection-at-a-time server is not disturbed.
inline bool tcp_listening(std::uint16_t port) {
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line);  // the header
        while (std::getline(in, line)) {
            std::istringstream f(line);
            std::string slot, local, remote, state;
            f >> slot >> local >> remote >> state;
            const auto colon = local.rfind(':');
            if (colon == std::string::npos || state != "0A") continue;
            if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) return true;
        }
    }
    return false;
}

}  // namespace detail

/// `openssl s_server` on 127.0.0.1 (or host) with one of the lab's certificates. The tls_certs
/// must outlive it.
class tls_server {
public:
    /// extra: more s_server arguments, one token each ({"-tls1_2"}, {"-num_tickets", "2"}).
    /// -quiet and -brief are refused: the port is read from the line they would silence.
    tls_server(const tls_certs& certs, cert_kind kind, const std::vector<std::string>& extra = {},
               const std::string& host = "127.0.0.1")
        : host_(host) {
        if (!certs.ok()) {
            error_ = "no certificates: " + certs.error();
            return;
        }
        for (const auto& e : extra)
            if (e == "-quiet" || e == "-brief") {
                error_ = "tls_server reads the port from s_server's output: " + e + " would hide it";
                return;
            }
        log_ = certs.file("s_server") + ".log";
        std::vector<std::string> argv{"openssl", "s_server",       "-accept", host + ":0",
                                      "-cert",   certs.cert(kind), "-key",    certs.key(kind)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        for (const auto& a : argv) command_ += a + " ";
        start(argv);
    }
    ~tls_server() { stop(); }
    tls_server(const tls_server&) = delete;
    tls_server& operator=(const tls_server&) = delete;

    bool ok() const noexcept { return port_ != 0 && pid_ > 0; }
    const std::string& error() const noexcept { return error_; }
    std::uint16_t port() const noexcept { return port_; }
    /// "127.0.0.1:PORT"
    std::string target() const { return host_ + ":" + std::to_string(port_); }
    pid_t pid() const noexcept { return pid_; }
    const std::string& command() const noexcept { return command_; }
    /// Everything s_server printed so far.
    std::string log() const { return read_text(log_); }
    /// Connections s_server resumed (its "Reused session-id" lines).
    std::size_t reused() const {
        const auto text = log();
        std::size_t n = 0;
        for (auto at = text.find("Reused session-id"); at != std::string::npos;
             at = text.find("Reused session-id", at + 1))
            ++n;
        return n;
    }

    /// SIGTERM, SIGKILL after 2 s, reaped; the stdin pipe closed. Idempotent.
    void stop() {
        if (stdin_fd_ >= 0) {
            ::close(stdin_fd_);
            stdin_fd_ = -1;
        }
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{2};
        while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, nullptr, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{5});
        }
        pid_ = -1;
    }

private:
    void start(const std::vector<std::string>& argv) {
        int in[2];
        if (::pipe2(in, O_CLOEXEC) != 0) {
            error_ = std::string{"pipe: "} + std::strerror(errno);
            return;
        }
        const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (log_fd < 0) {
            error_ = "open " + log_ + ": " + std::strerror(errno);
            ::close(in[0]);
            ::close(in[1]);
            return;
        }
        spawn_options o;
        o.stdin_fd = in[0];
        o.stdout_fd = log_fd;
        o.stderr_fd = log_fd;
        o.die_with_parent = true;
        pid_ = spawn(argv, o);
        ::close(in[0]);
        ::close(log_fd);
        stdin_fd_ = in[1];
        if (pid_ < 0) {
            error_ = std::string{"fork: "} + std::strerror(errno);
            return;
        }
        // Wait (at most 5 s) for "ACCEPT 127.0.0.1:PORT", then for the socket to listen.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                error_ = command_ + "exited " +
                         std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) +
                         ": " + log();
                return;
            }
            if (port_ == 0) port_ = accept_port(log());
            if (port_ != 0 && detail::tcp_listening(port_)) return;
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
        }
        error_ = command_ + "did not listen within 5 s: " + log();
        port_ = 0;
        stop();
    }

    static std::uint16_t accept_port(const std::string& text) {
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("ACCEPT ", 0) != 0) continue;
            const auto colon = line.rfind(':');
            if (colon == std::string::npos) continue;
            try {
                const auto port = std::stoul(line.substr(colon + 1));
                if (port > 0 && port < 65536) return static_cast<std::uint16_t>(port);
            } catch (const std::exception&) {
            }
        }
        return 0;
    }

    std::string host_;
    std::string log_;
    std::string command_;
    std::string error_;
    pid_t pid_ = -1;
    int stdin_fd_ = -1;
    std::uint16_t port_ = 0;
};

/// n bytes from a fixed seed; the first is no TLS record type (20 to 24), so what a client
/// reads cannot pass for a TLS record by chance.
inline std::string random_bytes(std::size_t n, std::uint32_t seed = 13) {
    std::mt19937 gen(seed);
    std::string out(n, '\0');
    for (auto& c : out) c = static_cast<char>(gen() & 0xff);
    if (n > 0 && static_cast<unsigned char>(out[0]) >= 20 && static_cast<unsigned char>(out[0]) <= 24)
        out[0] = static_cast<char>(out[0] | 0x80);
    return out;
}

/// A TCP listener on 127.0.0.1 (a free port the kernel chose) served by one thread: it accepts,
/// reads, and either never answers (stall) or answers each connection's first bytes and closes.
class raw_tcp_server {
public:
    ~raw_tcp_server() {
        done_.store(true);
        if (wake_ >= 0) {
            const std::uint64_t one = 1;
            [[maybe_unused]] const auto n = ::write(wake_, &one, sizeof one);
        }
        if (thread_.joinable()) thread_.join();
        for (const auto& c : conns_) ::close(c.fd);
        if (listen_fd_ >= 0) ::close(listen_fd_);
        if (wake_ >= 0) ::close(wake_);
    }
    raw_tcp_server(const raw_tcp_server&) = delete;
    raw_tcp_server& operator=(const raw_tcp_server&) = delete;

    bool ok() const noexcept { return port_ != 0; }
    const std::string& error() const noexcept { return error_; }
    std::uint16_t port() const noexcept { return port_; }
    std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
    std::size_t connections() const noexcept { return accepted_.load(); }
    std::size_t bytes_received() const noexcept { return received_.load(); }
    /// The first bytes (up to 64) the first connection sent: a ClientHello begins 0x16 0x03.
    std::string first_bytes() const {
        std::lock_guard lock(mutex_);
        return first_;
    }

protected:
    /// answer empty: stall. Otherwise send answer after the first bytes (or 0.5 s of silence).
    raw_tcp_server(bool answers, std::string answer) : answers_(answers), answer_(std::move(answer)) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (listen_fd_ < 0 || wake_ < 0 ||
            ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(listen_fd_, 64) != 0 ||
            ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            error_ = std::string{"listening socket on 127.0.0.1: "} + std::strerror(errno);
            return;
        }
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { loop(); });
    }

private:
    using clock = std::chrono::steady_clock;
    struct conn {
        int fd;
        clock::time_point accepted;
        bool answered = false;
        clock::time_point close_at{};
    };

    void answer(conn& c) {
        std::size_t sent = 0;
        const auto deadline = clock::now() + std::chrono::seconds{1};
        while (sent < answer_.size() && clock::now() < deadline) {
            const ssize_t n = ::send(c.fd, answer_.data() + sent, answer_.size() - sent, MSG_NOSIGNAL);
            if (n > 0) {
                sent += static_cast<std::size_t>(n);
            } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                pollfd p{c.fd, POLLOUT, 0};
                ::poll(&p, 1, 50);
            } else {
                break;
            }
        }
        ::shutdown(c.fd, SHUT_WR);
        c.answered = true;
        c.close_at = clock::now() + std::chrono::seconds{1};
    }

    void loop() {
        char buf[16384];
        while (!done_.load()) {
            std::vector<pollfd> fds{{wake_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
            for (const auto& c : conns_) fds.push_back({c.fd, POLLIN, 0});
            if (::poll(fds.data(), fds.size(), 50) < 0 && errno != EINTR) break;
            if (fds[0].revents != 0) break;
            if (fds[1].revents & POLLIN) {
                for (int fd;
                     (fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
                    if (accepted_++ == 0) first_fd_ = fd;
                    conns_.push_back({fd, clock::now()});
                    if (conns_.size() > 256) {  // a bound on what a runaway client can hold open
                        if (conns_.front().fd == first_fd_) first_fd_ = -1;
                        ::close(conns_.front().fd);
                        conns_.erase(conns_.begin());
                    }
                }
            }
            const auto now = clock::now();
            std::vector<int> closing;
            for (std::size_t i = 2; i < fds.size(); ++i) {
                auto it = std::find_if(conns_.begin(), conns_.end(),
                                       [&](const conn& c) { return c.fd == fds[i].fd; });
                if (it == conns_.end()) continue;
                if (fds[i].revents != 0) {
                    const ssize_t n = ::recv(it->fd, buf, sizeof buf, 0);
                    if (n > 0) {
                        received_ += static_cast<std::size_t>(n);
                        if (it->fd == first_fd_) {
                            std::lock_guard lock(mutex_);
                            first_.append(buf, std::min(static_cast<std::size_t>(n),
                                                        64 - std::min<std::size_t>(first_.size(), 64)));
                        }
                        if (answers_ && !it->answered) answer(*it);
                    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                        closing.push_back(it->fd);
                        continue;
                    }
                }
                if (answers_ && !it->answered && now - it->accepted > std::chrono::milliseconds{500})
                    answer(*it);
                if (it->answered && now > it->close_at) closing.push_back(it->fd);
            }
            for (int fd : closing) {
                auto it =
                    std::find_if(conns_.begin(), conns_.end(), [&](const conn& c) { return c.fd == fd; });
                if (fd == first_fd_) first_fd_ = -1;  // the number may come back for another connection
                if (it != conns_.end()) {
                    ::close(it->fd);
                    conns_.erase(it);
                }
            }
        }
    }

    bool answers_;
    std::string answer_;
    int listen_fd_ = -1;
    int wake_ = -1;
    std::uint16_t port_ = 0;
    std::string error_;
    std::atomic<bool> done_{false};
    std::atomic<std::size_t> accepted_{0};
    std::atomic<std::size_t> received_{0};
    mutable std::mutex mutex_;
    std::string first_;
    int first_fd_ = -1;        // the thread's own
    std::vector<conn> conns_;  // the thread's own
    std::thread thread_;
};

/// Accepts, reads the ClientHello, never answers; connections stay open until it is destroyed.
class stall_server : public raw_tcp_server {
public:
    stall_server() : raw_tcp_server(false, {}) {}
};

/// Answers each connection with bytes (after its first bytes arrived, or 0.5 s of silence),
/// then closes its side.
class garbage_server : public raw_tcp_server {
public:
    explicit garbage_server(std::string bytes) : raw_tcp_server(true, std::move(bytes)) {}
};

}  // namespace nettool::test
