#pragma once
// A list of addresses in a text file, one per line, as `nettool classify -f FILE` reads it:
// '#' starts a comment, blank lines and spaces around an address are ignored.
//
//   192.0.2.1
//   2001:db8::1   # a comment
//
// Read through line_reader, so the file's size, line count and line length are bounded.

#include <nettool/core/export.hpp>
#include <nettool/core/line_reader.hpp>
#include <nettool/net/address.hpp>

#include <string>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

/// Every address of the list, in order. Throws nettool::error: errc::bad_address naming the
/// line ("hosts.txt line 3: 'x' is not an IPv4 or IPv6 address"), or what line_reader throws.
std::vector<ip_address> read_address_list(line_reader& in);
/// Opens path ("-": standard input) with line_reader's default limits and reads it.
std::vector<ip_address> read_address_list(const std::string& path);

}  // namespace nettool
NETTOOL_API_END
