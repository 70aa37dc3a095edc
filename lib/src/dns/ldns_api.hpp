#pragma once
// ldns, loaded when a DNS command first needs it (dlopen), not when nettool starts: libldns pulls
// in libcrypto and libssl, whose ~4,900 symbol relocations cost every nettool run about 5 million
// instructions of dynamic loading (docs/performance.md) although only `dns` uses them.
//
// Calls go through ldns(): `ldns().pkt_free(p)` for `ldns_pkt_free(p)`. The types, enums and
// constants still come from <ldns/ldns.h>. NETTOOL_LDNS_FUNCTIONS lists every function the
// library uses; one more is one more line there.

// The standard headers first: with clang, <ldns/ldns.h> before libstdc++'s <ext/numeric_traits.h>
// turns `__is_signed` into clang's type trait and that header no longer parses.
#include <string>
#include <string_view>

#include <ldns/ldns.h>

namespace nettool::detail {

#define NETTOOL_LDNS_FUNCTIONS(X) \
    X(dname_new_frm_str)          \
    X(get_rr_type_by_name)        \
    X(pkt2wire)                   \
    X(pkt_aa)                     \
    X(pkt_additional)             \
    X(pkt_answer)                 \
    X(pkt_authority)              \
    X(pkt_edns_extended_rcode)    \
    X(pkt_free)                   \
    X(pkt_get_rcode)              \
    X(pkt_qr)                     \
    X(pkt_query_new)              \
    X(pkt_question)               \
    X(pkt_set_edns_udp_size)      \
    X(pkt_set_id)                 \
    X(pkt_tc)                     \
    X(rdf2str)                    \
    X(rr2str)                     \
    X(rr_get_class)               \
    X(rr_get_type)                \
    X(rr_list_rr)                 \
    X(rr_list_rr_count)           \
    X(rr_owner)                   \
    X(rr_type2str)                \
    X(wire2pkt)

struct ldns_api {
#define NETTOOL_LDNS_MEMBER(name) decltype(&::ldns_##name) name = nullptr;
    NETTOOL_LDNS_FUNCTIONS(NETTOOL_LDNS_MEMBER)
#undef NETTOOL_LDNS_MEMBER
};

/// The loaded library (once per process, thread-safe). Throws nettool::error (errc::unavailable
/// is not a thing: the system's ENOENT) naming the library when it cannot be loaded.
const ldns_api& ldns();

}  // namespace nettool::detail
