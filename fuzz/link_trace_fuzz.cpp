// libFuzzer: the link emulator's parsers of outside text. The input is fed whole to parse_trace()
// (a mahimahi trace file, read through the bounded line reader), and as text to parse_link_spec() (the
// --link option) and the value parsers it uses. A trace that parses must satisfy what the
// pipe's constructor requires; a spec must parse or throw nettool::error, nothing else.
#include <nettool/link/impairment.hpp>

#include <nettool/core/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto bytes = std::as_bytes(std::span(data, size));
    std::error_code ec;
    const auto trace = nettool::link::parse_trace(bytes, ec);
    if (!ec) {
        if (trace.empty() || trace.back() == 0 || !std::is_sorted(trace.begin(), trace.end())) std::abort();
    } else if (!trace.empty()) {
        std::abort();
    }

    // The spec parser reads files for trace=: keep the fuzzer off the file system.
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (text.find("trace") != std::string_view::npos) return 0;
    try {
        (void)nettool::link::parse_link_spec(text);
    } catch (const nettool::error&) {
    }
    for (auto parse : {+[](std::string_view t) { (void)nettool::link::parse_rate(t); },
                       +[](std::string_view t) { (void)nettool::link::parse_percent(t); },
                       +[](std::string_view t) { (void)nettool::link::parse_delay(t); },
                       +[](std::string_view t) { (void)nettool::link::parse_queue(t); },
                       +[](std::string_view t) { (void)nettool::link::parse_loss_model(t); }}) {
        try {
            parse(text);
        } catch (const nettool::error&) {
        }
    }
    return 0;
}
