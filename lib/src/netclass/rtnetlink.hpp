#pragma once
// Parsing of rtnetlink route dumps (private; implemented in rtnetlink.cpp beside read_routes;
// tests and the fuzzer include it directly).

#include <nettool/core/export.hpp>
#include <nettool/netclass/netclass.hpp>

#include <cstddef>
#include <span>
#include <system_error>
#include <vector>

// Exported for tests and benchmarks only (see nettool/core/export.hpp); not public API.
NETTOOL_TESTING_API_BEGIN
namespace nettool::detail {

/// Parses a buffer of rtnetlink messages (one recv() of an RTM_GETROUTE dump) and appends the
/// routes of the main (254) and local (255) tables. Every read goes through nettool::cursor.
/// Returns errc::truncated when a message or attribute runs past the buffer, errc::malformed for
/// impossible lengths or an NLMSG_ERROR, or success. Sets *done on NLMSG_DONE.
std::error_code parse_route_dump(std::span<const std::byte> buffer, std::vector<route_entry>& out,
                                 bool* done = nullptr) noexcept;

}  // namespace nettool::detail
NETTOOL_TESTING_API_END
