// libFuzzer: the bounded line reader and the parsers of user text files that read through it:
// address lists (classify -f), dnsperf query files (dns --queries) and resolv.conf. The input is
// read twice, with the default limits and with tiny ones, so the limit paths are reached too.
// Every outcome must be lines or one nettool::error; a line must be within its limit, without
// its terminator and without a NUL byte.
#include <nettool/core/line_reader.hpp>

#include <nettool/core/error.hpp>
#include <nettool/dns/dns_timer.hpp>
#include <nettool/net/address_list.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

namespace {

void read_all(std::span<const std::byte> bytes, nettool::line_limits limits) {
    auto in = nettool::line_reader::from_text(bytes, "fuzz", limits);
    std::uint64_t lines = 0;
    try {
        while (auto line = in.next()) {
            ++lines;
            if (line->size() > limits.max_line_bytes) std::abort();
            if (line->find('\n') != std::string_view::npos) std::abort();
            if (line->find('\0') != std::string_view::npos) std::abort();
        }
    } catch (const nettool::error&) {
        if (in.next()) std::abort();  // a failed reader stays failed
    }
    if (lines > limits.max_lines || lines != in.line_number()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto bytes = std::as_bytes(std::span(data, size));
    read_all(bytes, {});
    read_all(bytes, {.max_line_bytes = 16, .max_lines = 8, .max_bytes = 64});

    try {
        auto in = nettool::line_reader::from_text(bytes, "hosts");
        (void)nettool::read_address_list(in);
    } catch (const nettool::error&) {
    }
    try {
        auto in = nettool::line_reader::from_text(bytes, "queries", nettool::query_file_limits);
        (void)nettool::parse_dns_query_file(in);
    } catch (const nettool::error&) {
    }
    try {
        auto in = nettool::line_reader::from_text(bytes, "resolv.conf", nettool::resolv_conf_limits);
        (void)nettool::parse_resolv_conf(in);
    } catch (const nettool::error&) {
    }
    return 0;
}
