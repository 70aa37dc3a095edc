#include "dns/ldns_api.hpp"

#include "core/shared_object.hpp"

namespace nettool::detail {

const ldns_api& ldns() {
    return loaded_api<ldns_api>(NETTOOL_LDNS_SONAME, [](ldns_api& a, void* h) {
#define NETTOOL_LDNS_LOAD(name) load_symbol(a.name, h, NETTOOL_LDNS_SONAME, "ldns_" #name);
        NETTOOL_LDNS_FUNCTIONS(NETTOOL_LDNS_LOAD)
#undef NETTOOL_LDNS_LOAD
    });
}

}  // namespace nettool::detail
