#include "tls/openssl_api.hpp"

#include "core/shared_object.hpp"

namespace nettool::detail {

const openssl_api& ossl() {
    // libssl's handle finds libcrypto's symbols too: dlsym searches a library's dependencies.
    return loaded_api<openssl_api>(NETTOOL_SSL_SONAME, [](openssl_api& a, void* h) {
#define NETTOOL_OPENSSL_LOAD(name) load_symbol(a.name, h, NETTOOL_SSL_SONAME, #name);
        NETTOOL_OPENSSL_FUNCTIONS(NETTOOL_OPENSSL_LOAD)
#undef NETTOOL_OPENSSL_LOAD
    });
}

}  // namespace nettool::detail
