#include <nettool/packet/dns_rcode.hpp>

#include <array>

namespace nettool {

std::string_view dns_rcode_name(unsigned rcode) noexcept {
    static constexpr std::array<std::string_view, 16> names{
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",  "RCODE11",  "RCODE12", "RCODE13", "RCODE14",  "RCODE15"};
    return rcode < names.size() ? names[rcode] : std::string_view{"RCODE?"};
}

}  // namespace nettool
