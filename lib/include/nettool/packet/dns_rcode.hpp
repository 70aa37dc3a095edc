#pragma once
// DNS response codes by name: the one table both the DNS timer and inspect use.

#include <nettool/core/export.hpp>
#include <string_view>

NETTOOL_API_BEGIN
namespace nettool {

/// "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
/// "NXRRSET", "NOTAUTH", "NOTZONE" for 0..10 (RFC 1035, 2136); "RCODE11".."RCODE15" for the rest
/// of the header's 4 bits; "RCODE?" beyond.
std::string_view dns_rcode_name(unsigned rcode) noexcept;

}  // namespace nettool
NETTOOL_API_END
