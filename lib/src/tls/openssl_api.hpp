#pragma once
// OpenSSL (libssl and the libcrypto behind it), loaded when `nettool tls` first needs it
// (dlopen), not when nettool starts: linked, their ~5,000 symbol relocations would cost every
// nettool run what ldns used to (docs/performance.md, lib/src/dns/ldns_api.hpp).
//
// Calls go through ossl(): `ossl().SSL_free(s)` for `SSL_free(s)`. The types and constants still
// come from OpenSSL's headers. OpenSSL macros over a function (SSL_CTX_set_min_proto_version over
// SSL_CTX_ctrl, sk_X509_num over OPENSSL_sk_num) are written out at the call sites through the
// function they expand to. NETTOOL_OPENSSL_FUNCTIONS lists every function used; one more is one
// more line there.

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace nettool::detail {

#define NETTOOL_OPENSSL_FUNCTIONS(X)  \
    X(TLS_client_method)              \
    X(SSL_CTX_new)                    \
    X(SSL_CTX_free)                   \
    X(SSL_CTX_ctrl)                   \
    X(SSL_CTX_set_verify)             \
    X(SSL_CTX_load_verify_locations)  \
    X(SSL_CTX_set_default_verify_paths) \
    X(SSL_CTX_set_alpn_protos)        \
    X(SSL_CTX_sess_set_new_cb)        \
    X(SSL_new)                        \
    X(SSL_free)                       \
    X(SSL_set_bio)                    \
    X(SSL_set_connect_state)          \
    X(SSL_ctrl)                       \
    X(SSL_set1_host)                  \
    X(SSL_get0_param)                 \
    X(SSL_set_session)                \
    X(SSL_do_handshake)               \
    X(SSL_get_error)                  \
    X(SSL_write)                      \
    X(SSL_read)                       \
    X(SSL_shutdown)                   \
    X(SSL_get_version)                \
    X(SSL_get_current_cipher)         \
    X(SSL_CIPHER_get_name)            \
    X(SSL_group_to_name)              \
    X(SSL_get0_alpn_selected)         \
    X(SSL_session_reused)             \
    X(SSL_SESSION_free)               \
    X(SSL_SESSION_is_resumable)       \
    X(SSL_get_peer_cert_chain)        \
    X(BIO_new)                        \
    X(BIO_s_mem)                      \
    X(BIO_free)                       \
    X(BIO_read)                       \
    X(BIO_write)                      \
    X(BIO_ctrl)                       \
    X(BIO_ctrl_pending)               \
    X(ERR_get_error)                  \
    X(ERR_error_string_n)             \
    X(ERR_clear_error)                \
    X(OPENSSL_sk_num)                 \
    X(OPENSSL_sk_value)               \
    X(X509_get_subject_name)          \
    X(X509_get_issuer_name)           \
    X(X509_NAME_print_ex)             \
    X(X509_get0_notBefore)            \
    X(X509_get0_notAfter)             \
    X(ASN1_TIME_to_tm)                \
    X(ASN1_TIME_diff)                 \
    X(X509_get_ext_d2i)               \
    X(GENERAL_NAMES_free)             \
    X(ASN1_STRING_get0_data)          \
    X(ASN1_STRING_length)             \
    X(X509_get0_pubkey)               \
    X(EVP_PKEY_get0_type_name)        \
    X(EVP_PKEY_get_bits)              \
    X(X509_get_signature_nid)         \
    X(OBJ_nid2ln)                     \
    X(X509_check_issued)              \
    X(X509_verify_cert_error_string)  \
    X(X509_STORE_CTX_get_error)       \
    X(X509_STORE_CTX_get_error_depth) \
    X(X509_VERIFY_PARAM_set1_ip_asc)

struct openssl_api {
#define NETTOOL_OPENSSL_MEMBER(name) decltype(&::name) name = nullptr;
    NETTOOL_OPENSSL_FUNCTIONS(NETTOOL_OPENSSL_MEMBER)
#undef NETTOOL_OPENSSL_MEMBER
};

/// The loaded library (once per process, thread-safe). Throws nettool::error naming libssl
/// when it cannot be loaded.
const openssl_api& ossl();

}  // namespace nettool::detail
