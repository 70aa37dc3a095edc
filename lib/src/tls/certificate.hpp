#pragma once
// The server's certificate chain in words: each certificate's names, dates, key and signature,
// and a verification error code as the word a person looks for.

#include <nettool/tls/tls_probe.hpp>

#include <string>
#include <vector>

struct ssl_st;

namespace nettool::detail {

/// The chain the server sent (leaf first), at most 16 certificates, each SAN list cut at 64.
std::vector<tls_certificate> describe_chain(ssl_st* ssl);

/// X509_V_ERR_* as a word: "expired", "not yet valid", "name mismatch", "self-signed",
/// "unknown issuer", "chain too long", or OpenSSL's own text for the others.
std::string verify_reason(int code);

}  // namespace nettool::detail
