#pragma once
// nettool's domain errors: one enum, one category, and the rule for what is a usage error.
//
// Code that touches the OS reports std::error_code with the system category; the library's own
// failures use nettool::errc. A refused connection or a lost datagram is a measured outcome in
// a result, not an error. Only tools/ turns errors into exit codes.

#include <nettool/core/export.hpp>
#include <string>
#include <system_error>

NETTOOL_API_BEGIN
namespace nettool {

enum class errc {
    ok = 0,
    bad_address = 1,        ///< text is not an IPv4/IPv6 address or a resolvable host name
    bad_port,               ///< port is not a number in 1..65535
    bad_prefix,             ///< CIDR prefix length out of range, or malformed ADDR/PREFIX
    non_contiguous_mask,    ///< dotted netmask whose one-bits are not contiguous
    bad_mac,                ///< MAC address is not six hex octets
    bad_argument,           ///< any other option value out of its documented range
    bad_dns_name,           ///< label over 63 octets, name over 255, or empty label
    unknown_interface,      ///< no interface with that name on this host
    resolve_failed,         ///< host name did not resolve to any address
    timed_out,              ///< the peer did not answer before the deadline
    protocol_error,         ///< the peer sent bytes that break nettool's wire protocol
    version_mismatch,       ///< the peer speaks another version of the protocol
    rejected,               ///< the responder refused the session (limits, unknown mode)
    truncated,              ///< input ended before a complete header or record
    malformed,              ///< input is complete but its fields are inconsistent
    unsupported_link_type,  ///< a capture link type nettool does not decode
    permission_denied,      ///< the operation needs privileges (raw sockets, capture)
    nothing_received,       ///< a measurement ended with no reply at all
};

const std::error_category& nettool_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), nettool_category()};
}

/// True for errors caused by what the user typed: the CLI exits 2 for them, 1 otherwise.
bool is_usage_error(const std::error_code& ec) noexcept;

/// Thrown only by parsing helpers meant for command-line input; carries the errc and a message
/// that names the offending text.
class usage_error : public std::system_error {
public:
    usage_error(errc e, const std::string& what) : std::system_error(make_error_code(e), what) {}
};

}  // namespace nettool
NETTOOL_API_END

template <>
struct std::is_error_code_enum<nettool::errc> : std::true_type {};
