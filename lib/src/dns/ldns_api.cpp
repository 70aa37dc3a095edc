#include "dns/ldns_api.hpp"

#include "core/shared_object.hpp"

namespace nettool::detail {

const ldns_api& ldns() {
    static const ldns_api api = [] {
        ldns_api a;
        void* h = open_shared_object(NETTOOL_LDNS_SONAME);
#define NETTOOL_LDNS_LOAD(name) load_symbol(a.name, h, NETTOOL_LDNS_SONAME, "ldns_" #name);
        NETTOOL_LDNS_FUNCTIONS(NETTOOL_LDNS_LOAD)
#undef NETTOOL_LDNS_LOAD
        return a;
    }();
    return api;
}

}  // namespace nettool::detail
