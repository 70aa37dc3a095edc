// libFuzzer target: the handling of a received DNS message (detail::check_dns_response) and the
// TCP two-byte length framing in front of it. The input is one datagram; it is checked against
// the questions the seeds answer (so the accepted path with record printing is reached) and
// against a question with another ID, then read again as a TCP stream of length-prefixed
// messages. Seeds: real dnsmasq answers in fuzz/corpus/dns_response_fuzz/.

#include "dns/dns_message.hpp"

#include <nettool/packet/packet.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace {

struct question_spec {
    const char* name;
    std::uint16_t type;
};
constexpr question_spec questions[] = {
    {"www.test.example.", 1},  {"www.test.example.", 28}, {"test.example.", 15},
    {"txt.test.example.", 16}, {"big.test.example.", 16}, {"nope.test.example.", 1},
};

void check_all(std::span<const std::byte> msg) {
    const auto h = nettool::dns_view::parse(msg);
    const std::uint16_t id = h ? h->id() : 0;
    for (const auto& q : questions) {
        nettool::detail::dns_question question{id, q.name, q.type, 1};
        const auto r = nettool::detail::check_dns_response(msg, question, true);
        if (r.verdict == nettool::detail::response_verdict::accepted && r.records.rcode.empty())
            __builtin_trap();
    }
    nettool::detail::dns_question other{static_cast<std::uint16_t>(id + 1), "www.test.example.", 1, 1};
    if (nettool::detail::check_dns_response(msg, other, false).verdict ==
        nettool::detail::response_verdict::accepted) {
        __builtin_trap();  // another ID must never be accepted
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> input{reinterpret_cast<const std::byte*>(data), size};
    check_all(input);

    // The same bytes as a TCP stream: length, message, length, message, ...
    nettool::cursor stream{input};
    for (int i = 0; i < 16; ++i) {
        const auto len_bytes = stream.take(2);
        if (!stream.ok()) break;
        const auto len = nettool::detail::dns_tcp_length(len_bytes);
        if (!len) __builtin_trap();
        const auto msg = stream.take(*len);
        if (!stream.ok()) break;
        check_all(msg);
    }
    return 0;
}
