#include "tls/openssl_api.hpp"

#include "core/shared_object.hpp"

namespace nettool::detail {

const openssl_api& ossl() {
    static const openssl_api api = [] {
        openssl_api a;
        // libssl's handle finds libcrypto's symbols too: dlsym searches a library's dependencies.
        void* h = open_shared_object(NETTOOL_SSL_SONAME);
#define NETTOOL_OPENSSL_LOAD(name) load_symbol(a.name, h, NETTOOL_SSL_SONAME, #name);
        NETTOOL_OPENSSL_FUNCTIONS(NETTOOL_OPENSSL_LOAD)
#undef NETTOOL_OPENSSL_LOAD
        return a;
    }();
    return api;
}

}  // namespace nettool::detail
