#pragma once
// DNS messages through ldns: building queries and checking a received message against the query
// it should answer. Only this file pair and dns_timer.cpp include ldns.

#include <nettool/core/export.hpp>
#include <nettool/dns/dns_timer.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

// Exported for tests and benchmarks only (see nettool/core/export.hpp); not public API.
NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

/// What a query asked: enough to recognise its answer.
struct dns_question {
    std::uint16_t id = 0;
    std::string name;  ///< presentation form as ldns prints it, lower case, with trailing dot
    std::uint16_t type = 1;
    std::uint16_t klass = 1;  ///< IN
};

struct dns_query_wire {
    dns_question question;
    std::vector<std::byte> wire;
};

/// Builds a query with ldns (ldns_pkt_query_new + ldns_pkt2wire). ec = errc::bad_dns_name when
/// ldns refuses the name.
dns_query_wire build_dns_query(std::string_view name, std::uint16_t type, std::uint16_t id, bool recurse,
                               bool edns, std::uint16_t edns_size, std::error_code& ec);

/// Rewrites the ID of a wire query in place (the first two bytes); false when too short.
bool set_dns_query_id(std::span<std::byte> wire, std::uint16_t id) noexcept;

enum class response_verdict {
    accepted,        ///< the answer to the question (rcode and records filled)
    wrong_id,        ///< another ID
    wrong_question,  ///< right ID but not a response, or for another name/type/class
    malformed,       ///< empty, shorter than a header, or ldns cannot parse it
};

struct checked_response {
    response_verdict verdict = response_verdict::malformed;
    unsigned rcode = 0;  ///< with the EDNS extended bits
    bool truncated = false;
    dns_records records;  ///< filled when accepted and want_records
};

/// Checks one received DNS message (without TCP framing) against the outstanding question:
/// the ID is peeked through the bounds-checked cursor, then the whole message is parsed by ldns.
checked_response check_dns_response(std::span<const std::byte> message, const dns_question& q,
                                    bool want_records);

/// Splits a TCP byte stream prefix into its two-byte length, through the cursor.
std::optional<std::uint16_t> dns_tcp_length(std::span<const std::byte> prefix) noexcept;

}  // namespace nettool::detail
NETTOOL_TESTING_API_END
