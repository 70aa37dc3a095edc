#pragma once
// nettool's one error model (after Asio's): one enum, one category, one exception type.
//
// - A function that can fail comes as a pair where callers want both: `T f(args, std::error_code&
//   ec) noexcept`, which sets ec and returns a default T, and `T f(args)`, which throws
//   nettool::error. Only the exception carries the detail sentence that names what failed (the
//   file, the interface, the offending text, libpcap's words); the error_code overload is for
//   callers that only branch on the kind. The noexcept overload is written over the throwing one
//   with detail::to_error_code, so the two cannot disagree.
// - Codes: std::error_code with the system category for what the OS said (errno), nettool::errc
//   for the library's own failures.
// - A refused connection, a lost datagram or a DNS timeout is a measured outcome recorded in a
//   result, not an error. Packet views return std::optional (nullopt: not this protocol, or
//   truncated) and never throw.
// - Only tools/ turns errors into exit codes: is_usage_error() -> 2, anything else -> 1.

#include <nettool/core/export.hpp>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

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
    too_large,              ///< input is over a limit: a line's length, the line count or the size
};

const std::error_category& nettool_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), nettool_category()};
}

/// True for errors caused by what the user typed: the CLI exits 2 for them, 1 otherwise.
bool is_usage_error(const std::error_code& ec) noexcept;

/// The one exception the library throws: a code and the sentence that names what failed.
/// what() is that sentence, or the code's message when there is none.
class error : public std::system_error {
public:
    error(std::error_code code, std::string detail)
        : std::system_error(code), detail_(detail.empty() ? code.message() : std::move(detail)) {}
    error(errc code, std::string detail) : error(make_error_code(code), std::move(detail)) {}
    const char* what() const noexcept override { return detail_.c_str(); }

private:
    std::string detail_;
};

namespace detail {

/// Inside a catch block: the error_code of the exception in flight. A std::system_error (and so
/// nettool::error) gives its code, std::bad_alloc not_enough_memory, anything else `otherwise`.
std::error_code code_of_current_exception(errc otherwise) noexcept;

/// Writes a noexcept error_code overload over its throwing twin: runs f and returns its value;
/// an exception becomes ec (bad_alloc: not_enough_memory) and the result a default-constructed T.
template <typename F>
std::invoke_result_t<F> to_error_code(std::error_code& ec, F&& f) noexcept {
    using T = std::invoke_result_t<F>;
    ec.clear();
    try {
        return std::forward<F>(f)();
    } catch (...) {
        ec = code_of_current_exception(errc::malformed);
    }
    if constexpr (!std::is_void_v<T>) return T{};
}

}  // namespace detail

}  // namespace nettool
NETTOOL_API_END

template <>
struct std::is_error_code_enum<nettool::errc> : std::true_type {};
