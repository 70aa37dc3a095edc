#include "packet/pcap_api.hpp"

#include "core/shared_object.hpp"

namespace nettool::detail {

const pcap_api& pcap() {
    static const pcap_api api = [] {
        pcap_api a;
        void* h = open_shared_object(NETTOOL_PCAP_SONAME);
#define NETTOOL_PCAP_LOAD(name) load_symbol(a.name, h, NETTOOL_PCAP_SONAME, "pcap_" #name);
        NETTOOL_PCAP_FUNCTIONS(NETTOOL_PCAP_LOAD)
#undef NETTOOL_PCAP_LOAD
        return a;
    }();
    return api;
}

}  // namespace nettool::detail
