#include "packet/pcap_api.hpp"

#include "core/shared_object.hpp"

namespace nettool::detail {

const pcap_api& pcap() {
    return loaded_api<pcap_api>(NETTOOL_PCAP_SONAME, [](pcap_api& a, void* h) {
#define NETTOOL_PCAP_LOAD(name) load_symbol(a.name, h, NETTOOL_PCAP_SONAME, "pcap_" #name);
        NETTOOL_PCAP_FUNCTIONS(NETTOOL_PCAP_LOAD)
#undef NETTOOL_PCAP_LOAD
    });
}

}  // namespace nettool::detail
