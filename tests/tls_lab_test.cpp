// The TLS lab itself (tests/support/tls_lab.hpp), checked with real clients before anything is
// measured against it: openssl s_client and curl must see exactly the servers the lab promises,
// or the nettool tls tests (tls_live_test.cpp) would be checking nettool against a broken lab.
#include "support/tls_lab.hpp"

#include "support/process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using nettool::test::cert_kind;
using nettool::test::run_process;

bool contains(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
}

// True when a TCP connection to 127.0.0.1:port opens.
bool connects(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

class TlsLab : public ::testing::Test {
protected:
    void SetUp() override {
        if (!nettool::test::have_openssl())
            GTEST_SKIP() << "openssl (the command line tool) is not installed";
        certs_ = std::make_unique<nettool::test::tls_certs>();
        ASSERT_TRUE(certs_->ok()) << certs_->error();
    }

    // openssl s_client against the server, stdin /dev/null, -brief, verification errors fatal;
    // err holds what it printed on both streams (-brief writes its summary to stderr).
    nettool::test::process_result s_client(const nettool::test::tls_server& s,
                                           std::vector<std::string> extra = {},
                                           std::chrono::seconds timeout = 10s) {
        std::vector<std::string> argv{"openssl",
                                      "s_client",
                                      "-connect",
                                      s.target(),
                                      "-CAfile",
                                      certs_->ca_cert(),
                                      "-verify_return_error",
                                      "-servername",
                                      "localhost",
                                      "-brief"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        auto r = run_process(argv, timeout);
        r.err = r.out + r.err;
        return r;
    }

    // The text of `openssl x509 -noout -text` and a few fields of one certificate.
    std::string x509(const std::string& file) {
        const auto r = run_process({"openssl", "x509", "-in", file, "-noout", "-text"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.out;
    }

    std::unique_ptr<nettool::test::tls_certs> certs_;
};

TEST_F(TlsLab, CertificatesHaveTheNamesDatesAndKeysAsked) {
    for (auto k : {cert_kind::good, cert_kind::expired, cert_kind::not_yet_valid, cert_kind::wrong_name,
                   cert_kind::self_signed}) {
        const auto text = x509(certs_->cert(k));
        EXPECT_TRUE(contains(text, "Public-Key: (256 bit)")) << to_string(k) << text;
        EXPECT_TRUE(contains(text, "NIST CURVE: P-256")) << to_string(k);
        EXPECT_TRUE(contains(text, "Signature Algorithm: ecdsa-with-SHA256")) << to_string(k);
    }
    const auto ca = x509(certs_->ca_cert());
    EXPECT_TRUE(contains(ca, "CA:TRUE")) << ca;

    const auto good = x509(certs_->cert(cert_kind::good));
    EXPECT_TRUE(contains(good, "DNS:localhost, IP Address:127.0.0.1")) << good;
    EXPECT_TRUE(contains(good, "Issuer: O = nettool test, CN = nettool test CA")) << good;
    EXPECT_TRUE(contains(good, "Subject: O = nettool test, CN = localhost")) << good;

    const auto expired = x509(certs_->cert(cert_kind::expired));
    EXPECT_TRUE(contains(expired, "Not Before: Jan  1 00:00:00 2020 GMT")) << expired;
    EXPECT_TRUE(contains(expired, "Not After : Feb  1 00:00:00 2020 GMT")) << expired;
    EXPECT_TRUE(contains(expired, "DNS:localhost, IP Address:127.0.0.1")) << expired;

    const auto future = x509(certs_->cert(cert_kind::not_yet_valid));
    EXPECT_TRUE(contains(future, "Not Before: Jan  1 00:00:00 2040 GMT")) << future;

    const auto wrong = x509(certs_->cert(cert_kind::wrong_name));
    EXPECT_TRUE(contains(wrong, "DNS:wrong.example")) << wrong;
    EXPECT_FALSE(contains(wrong, "localhost")) << wrong;
    EXPECT_FALSE(contains(wrong, "IP Address")) << wrong;

    const auto self = x509(certs_->cert(cert_kind::self_signed));
    EXPECT_TRUE(contains(self, "Issuer: O = nettool test, CN = localhost")) << self;
    EXPECT_TRUE(contains(self, "Subject: O = nettool test, CN = localhost")) << self;

    // openssl verify is the oracle for the chain: only the good and the wrong-name leaves verify
    // (a name is not part of a chain check), each other one for its own reason.
    const auto verify = [&](cert_kind k) {
        return run_process({"openssl", "verify", "-CAfile", certs_->ca_cert(), certs_->cert(k)});
    };
    EXPECT_EQ(verify(cert_kind::good).exit_code, 0) << verify(cert_kind::good).out;
    EXPECT_EQ(verify(cert_kind::wrong_name).exit_code, 0);
    const auto e = verify(cert_kind::expired);
    EXPECT_NE(e.exit_code, 0);
    EXPECT_TRUE(contains(e.out + e.err, "certificate has expired")) << e.out << e.err;
    const auto f = verify(cert_kind::not_yet_valid);
    EXPECT_TRUE(contains(f.out + f.err, "certificate is not yet valid")) << f.out << f.err;
    const auto s = verify(cert_kind::self_signed);
    EXPECT_TRUE(contains(s.out + s.err, "self-signed certificate")) << s.out << s.err;
}

TEST_F(TlsLab, TheDirectoryIsGoneWithTheObject) {
    std::string dir;
    {
        nettool::test::tls_certs certs;
        ASSERT_TRUE(certs.ok()) << certs.error();
        dir = certs.dir();
        EXPECT_EQ(::access(certs.cert(cert_kind::good).c_str(), R_OK), 0);
    }
    EXPECT_NE(::access(dir.c_str(), F_OK), 0) << dir << " is still there";
}

TEST_F(TlsLab, GoodCertificateVerifiesWithTheHostname) {
    nettool::test::tls_server s(*certs_, cert_kind::good);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto r = s_client(s, {"-verify_hostname", "localhost"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "Verification: OK")) << r.err;
    EXPECT_TRUE(contains(r.err, "Protocol version: TLSv1.3")) << r.err;  // the default server allows 1.3
    EXPECT_TRUE(contains(r.err, "Peer certificate: O = nettool test, CN = localhost")) << r.err;
    // The IP SAN verifies as well (what a client checks for an address literal).
    const auto ip = s_client(s, {"-verify_ip", "127.0.0.1"});
    EXPECT_EQ(ip.exit_code, 0) << ip.err;
}

TEST_F(TlsLab, ExpiredCertificateFailsVerification) {
    nettool::test::tls_server s(*certs_, cert_kind::expired);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto r = s_client(s);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.out + r.err, "certificate has expired")) << r.out << r.err;
}

TEST_F(TlsLab, NotYetValidCertificateFailsVerification) {
    nettool::test::tls_server s(*certs_, cert_kind::not_yet_valid);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto r = s_client(s);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.out + r.err, "certificate is not yet valid")) << r.out << r.err;
}

TEST_F(TlsLab, WrongNameFailsOnlyTheHostnameCheck) {
    nettool::test::tls_server s(*certs_, cert_kind::wrong_name);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto r = s_client(s, {"-verify_hostname", "localhost"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.out + r.err, "hostname mismatch")) << r.out << r.err;
    // -servername alone checks no name: the chain itself is fine.
    const auto chain_only = s_client(s);
    EXPECT_EQ(chain_only.exit_code, 0) << chain_only.err;
    EXPECT_TRUE(contains(chain_only.err, "Verification: OK")) << chain_only.err;
}

TEST_F(TlsLab, SelfSignedFailsVerification) {
    nettool::test::tls_server s(*certs_, cert_kind::self_signed);
    ASSERT_TRUE(s.ok()) << s.error();
    const auto r = s_client(s);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.out + r.err, "self-signed certificate")) << r.out << r.err;
}

TEST_F(TlsLab, Tls12OnlyServerRefusesTls13) {
    nettool::test::tls_server s(*certs_, cert_kind::good, {"-tls1_2"});
    ASSERT_TRUE(s.ok()) << s.error();
    const auto r13 = s_client(s, {"-tls1_3"});
    EXPECT_NE(r13.exit_code, 0);
    EXPECT_TRUE(contains(r13.out + r13.err, "protocol version")) << r13.err;
    EXPECT_FALSE(contains(r13.err, "Protocol version: TLSv1.3")) << r13.err;
    const auto any = s_client(s);
    EXPECT_EQ(any.exit_code, 0) << any.err;
    EXPECT_TRUE(contains(any.err, "Protocol version: TLSv1.2")) << any.err;
}

TEST_F(TlsLab, Tls13OnlyServerRefusesTls12) {
    nettool::test::tls_server s(*certs_, cert_kind::good, {"-tls1_3"});
    ASSERT_TRUE(s.ok()) << s.error();
    const auto r12 = s_client(s, {"-tls1_2"});
    EXPECT_NE(r12.exit_code, 0);
    EXPECT_TRUE(contains(r12.out + r12.err, "protocol version")) << r12.err;
    const auto any = s_client(s);
    EXPECT_EQ(any.exit_code, 0) << any.err;
    EXPECT_TRUE(contains(any.err, "Protocol version: TLSv1.3")) << any.err;
}

TEST_F(TlsLab, ServerKeepsServingOneClientAfterAnother) {
    // Without -www s_server reads its stdin while a client is connected; the lab's pipe must keep
    // it serving (with stdin on /dev/null it would stop after the first client).
    nettool::test::tls_server s(*certs_, cert_kind::good);
    ASSERT_TRUE(s.ok()) << s.error();
    for (int i = 0; i < 5; ++i) {
        const auto r = s_client(s);
        ASSERT_EQ(r.exit_code, 0) << "client " << i << ": " << r.err << "\ns_server: " << s.log();
        EXPECT_TRUE(contains(r.err, "Verification: OK")) << r.err;
    }
}

TEST_F(TlsLab, SessionsResumeAndTheServerLogSaysSo) {
    for (const char* version : {"-tls1_2", "-tls1_3"}) {
        nettool::test::tls_server s(*certs_, cert_kind::good, {version});
        ASSERT_TRUE(s.ok()) << s.error();
        const auto sess = certs_->file("session");
        // s_client must stay a moment: a TLS 1.3 ticket arrives after the handshake, and with
        // stdin at its end s_client would close before reading it.
        const auto first = run_process({"/bin/sh", "-c",
                                        "sleep 0.3 | openssl s_client -connect " + s.target() + " -CAfile " +
                                            certs_->ca_cert() + " -servername localhost -sess_out " + sess});
        ASSERT_EQ(first.exit_code, 0) << first.err;
        EXPECT_TRUE(contains(first.out, "New, ")) << version << first.out;
        for (int i = 0; i < 2; ++i) {
            const auto again =
                run_process({"/bin/sh", "-c",
                             "sleep 0.3 | openssl s_client -connect " + s.target() + " -CAfile " +
                                 certs_->ca_cert() + " -servername localhost -sess_in " + sess});
            ASSERT_EQ(again.exit_code, 0) << again.err;
            EXPECT_TRUE(contains(again.out, "Reused, ")) << version << again.out;
        }
        EXPECT_EQ(s.reused(), 2u) << version << s.log();
    }
}

TEST_F(TlsLab, WwwServerAnswersCurlWith200) {
    if (!nettool::test::have_curl()) GTEST_SKIP() << "curl is not installed";
    nettool::test::tls_server s(*certs_, cert_kind::good, {"-www"});
    ASSERT_TRUE(s.ok()) << s.error();
    const auto port = std::to_string(s.port());
    for (int i = 0; i < 3; ++i) {
        const auto r = run_process({"curl", "-sS", "-o", "/dev/null", "--max-time", "10", "--cacert",
                                    certs_->ca_cert(), "--resolve", "localhost:" + port + ":127.0.0.1", "-w",
                                    "%{http_code} %{time_connect} %{time_appconnect}",
                                    "https://localhost:" + port + "/"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        std::istringstream in(r.out);
        int code = 0;
        double connect = 0, appconnect = 0;
        in >> code >> connect >> appconnect;
        EXPECT_EQ(code, 200) << r.out;
        EXPECT_GT(connect, 0.0) << r.out;
        EXPECT_GT(appconnect, connect) << r.out;  // the TLS handshake ends after the TCP one
        EXPECT_LT(appconnect, 2.0) << r.out;
    }
}

TEST_F(TlsLab, StallServerTakesTheClientHelloAndNeverAnswers) {
    nettool::test::stall_server stall;
    ASSERT_TRUE(stall.ok()) << stall.error();
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = run_process({"timeout", "3", "openssl", "s_client", "-connect", stall.target(),
                                "-servername", "localhost", "-brief"},
                               10s);
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(r.exit_code, 124) << r.out << r.err;  // timeout(1): the command was still waiting
    EXPECT_FALSE(contains(r.out + r.err, "CONNECTION ESTABLISHED")) << r.err;
    EXPECT_FALSE(contains(r.out + r.err, "Protocol version")) << r.err;
    EXPECT_GE(took, 2900ms);
    EXPECT_EQ(stall.connections(), 1u);
    const auto hello = stall.first_bytes();
    ASSERT_GE(hello.size(), 6u);
    EXPECT_EQ(hello[0], '\x16');  // a handshake record
    EXPECT_EQ(hello[1], '\x03');
    EXPECT_EQ(hello[5], '\x01');  // holding a ClientHello
}

TEST_F(TlsLab, GarbageServerAnswersWithItsBytesAndCloses) {
    for (const std::string& bytes : {std::string{"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"},
                                     nettool::test::random_bytes(200)}) {
        nettool::test::garbage_server g(bytes);
        ASSERT_TRUE(g.ok()) << g.error();
        // A plain TCP client (nc is not always there: bash's /dev/tcp is) sends a line and reads the answer.
        const auto raw = run_process(
            {"timeout", "5", "/bin/bash", "-c",
             "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(g.port()) + "; printf 'hello\\n' >&3; cat <&3"});
        EXPECT_EQ(raw.exit_code, 0) << raw.err;  // cat ended: the server closed its side
        EXPECT_EQ(raw.out, bytes);
        // openssl s_client gets no handshake from it.
        const auto r = run_process({"timeout", "5", "openssl", "s_client", "-connect", g.target(),
                                    "-servername", "localhost", "-brief"});
        EXPECT_NE(r.exit_code, 0);
        EXPECT_NE(r.exit_code, 124) << "s_client waited: the server did not close";
        EXPECT_FALSE(contains(r.out + r.err, "CONNECTION ESTABLISHED")) << r.err;
        EXPECT_EQ(g.connections(), 2u);
        EXPECT_EQ(g.first_bytes(), "hello\n");
    }
}

TEST_F(TlsLab, RandomBytesAreNoTlsRecord) {
    for (std::uint32_t seed = 0; seed < 200; ++seed) {
        const auto b = nettool::test::random_bytes(16, seed);
        const auto first = static_cast<unsigned char>(b[0]);
        EXPECT_TRUE(first < 20 || first > 24) << seed;
    }
    EXPECT_EQ(nettool::test::random_bytes(200), nettool::test::random_bytes(200));
}

TEST_F(TlsLab, StoppedServerLeavesNothingBehind) {
    std::uint16_t port = 0;
    pid_t pid = -1;
    {
        nettool::test::tls_server s(*certs_, cert_kind::good, {"-www"});
        ASSERT_TRUE(s.ok()) << s.error();
        port = s.port();
        pid = s.pid();
        EXPECT_TRUE(connects(port));
    }
    EXPECT_FALSE(connects(port)) << "something still listens on " << port;
    EXPECT_NE(::kill(pid, 0), 0) << "s_server " << pid << " is still there";
    std::uint16_t stall_port = 0;
    {
        nettool::test::stall_server stall;
        ASSERT_TRUE(stall.ok());
        stall_port = stall.port();
        EXPECT_TRUE(connects(stall_port));
    }
    EXPECT_FALSE(connects(stall_port));
}

TEST_F(TlsLab, AServerThatCannotStartSaysWhyAtOnce) {
    const auto t0 = std::chrono::steady_clock::now();
    nettool::test::tls_server s(*certs_, cert_kind::good, {"-no-such-option"});
    EXPECT_FALSE(s.ok());
    EXPECT_TRUE(contains(s.error(), "s_server")) << s.error();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    nettool::test::tls_server q(*certs_, cert_kind::good, {"-quiet"});
    EXPECT_FALSE(q.ok());
    EXPECT_TRUE(contains(q.error(), "-quiet")) << q.error();
}

}  // namespace
