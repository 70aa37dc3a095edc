#include "tls/certificate.hpp"

#include "tls/openssl_api.hpp"
#include "tls/server_bytes.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <span>

namespace nettool::detail {

namespace {

constexpr int max_chain = 16;
constexpr int max_sans = 64;
constexpr std::size_t max_text = 512;

std::span<const std::byte> bytes_of(const ASN1_STRING* s) {
    const auto& api = ossl();
    const int n = api.ASN1_STRING_length(s);
    if (n <= 0) return {};
    return {reinterpret_cast<const std::byte*>(api.ASN1_STRING_get0_data(s)), static_cast<std::size_t>(n)};
}

std::string name_text(const X509_NAME* name) {
    const auto& api = ossl();
    std::unique_ptr<BIO, int (*)(BIO*)> bio{api.BIO_new(api.BIO_s_mem()), api.BIO_free};
    if (!bio || api.X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
    char* data = nullptr;
    const long n = api.BIO_ctrl(bio.get(), BIO_CTRL_INFO, 0, &data);  // BIO_get_mem_data
    if (n <= 0 || data == nullptr) return {};
    return quote_bytes({reinterpret_cast<const std::byte*>(data), static_cast<std::size_t>(n)}, max_text);
}

std::string time_text(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ossl().ASN1_TIME_to_tm(t, &tm) != 1) return {};
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::int64_t unix_time(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ossl().ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return static_cast<std::int64_t>(::timegm(&tm));  // the tm is UTC
}

std::vector<std::string> sans_of(X509* x) {
    const auto& api = ossl();
    std::vector<std::string> out;
    auto* names =
        static_cast<GENERAL_NAMES*>(api.X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
    if (names == nullptr) return out;
    const auto* stack = reinterpret_cast<const OPENSSL_STACK*>(names);
    const int n = api.OPENSSL_sk_num(stack);
    for (int i = 0; i < n && i < max_sans; ++i) {
        const auto* g = static_cast<const GENERAL_NAME*>(api.OPENSSL_sk_value(stack, i));
        switch (g->type) {
        case GEN_DNS: out.push_back("DNS:" + quote_bytes(bytes_of(g->d.dNSName), max_text)); break;
        case GEN_EMAIL: out.push_back("email:" + quote_bytes(bytes_of(g->d.rfc822Name), max_text)); break;
        case GEN_URI: out.push_back("URI:" + quote_bytes(bytes_of(g->d.uniformResourceIdentifier), max_text)); break;
        case GEN_IPADD: {
            const auto b = bytes_of(g->d.iPAddress);
            char text[INET6_ADDRSTRLEN] = {};
            const int family = b.size() == 4 ? AF_INET : b.size() == 16 ? AF_INET6 : 0;
            if (family != 0 && ::inet_ntop(family, b.data(), text, sizeof text) != nullptr)
                out.push_back(std::string{"IP:"} + text);
            else
                out.push_back("IP:" + quote_bytes(b, 64));
            break;
        }
        default: out.push_back("other"); break;
        }
    }
    api.GENERAL_NAMES_free(names);
    return out;
}

tls_certificate describe(X509* x) {
    const auto& api = ossl();
    tls_certificate c;
    c.subject = name_text(api.X509_get_subject_name(x));
    c.issuer = name_text(api.X509_get_issuer_name(x));
    c.sans = sans_of(x);
    c.not_before = time_text(api.X509_get0_notBefore(x));
    c.not_after = time_text(api.X509_get0_notAfter(x));
    c.not_after_unix = unix_time(api.X509_get0_notAfter(x));
    int days = 0, seconds = 0;
    if (api.ASN1_TIME_diff(&days, &seconds, nullptr, api.X509_get0_notAfter(x)) == 1) c.days_left = days;
    if (const EVP_PKEY* key = api.X509_get0_pubkey(x)) {
        if (const char* type = api.EVP_PKEY_get0_type_name(key)) c.key_type = type;
        c.key_bits = api.EVP_PKEY_get_bits(key);
    }
    if (const char* sig = api.OBJ_nid2ln(api.X509_get_signature_nid(x))) c.signature_algorithm = sig;
    c.self_signed = api.X509_check_issued(x, x) == X509_V_OK;
    return c;
}

}  // namespace

std::vector<tls_certificate> describe_chain(ssl_st* ssl) {
    const auto& api = ossl();
    std::vector<tls_certificate> out;
    // A client's SSL_get_peer_cert_chain includes the leaf.
    const auto* chain = reinterpret_cast<const OPENSSL_STACK*>(api.SSL_get_peer_cert_chain(ssl));
    if (chain == nullptr) return out;
    const int n = api.OPENSSL_sk_num(chain);
    for (int i = 0; i < n && i < max_chain; ++i)
        out.push_back(describe(static_cast<X509*>(api.OPENSSL_sk_value(chain, i))));
    return out;
}

std::string verify_reason(int code) {
    switch (code) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return "expired";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "not yet valid";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH: return "name mismatch";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: return "self-signed";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return "unknown issuer";
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED: return "chain too long";
    default: break;
    }
    const char* text = ossl().X509_verify_cert_error_string(code);
    return text != nullptr ? text : fmt::format("verification error {}", code);
}

}  // namespace nettool::detail
