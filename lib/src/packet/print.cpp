// The tcpdump -n style line of `nettool capture`: the local time of day, then the words of the
// innermost of the packet's own layers whose module prints (proto/protocol.hpp's print
// column), else the link type and why decoding stopped.
#include <nettool/packet/capture.hpp>

#include "packet/proto/protocol.hpp"

#include <fmt/format.h>

#include <ctime>
#include <iterator>

namespace nettool {

namespace detail {

namespace {

void print_ip_words(fmt::memory_buffer& out, const decoded_packet& p, const std::uint16_t* ports) {
    std::string_view family;
    std::optional<ip_address> src, dst;
    if (p.ipv4) {
        family = "IP";
        src = p.ipv4->src();
        dst = p.ipv4->dst();
    } else if (p.ipv6) {
        family = "IP6";
        src = p.ipv6->src();
        dst = p.ipv6->dst();
    }
    auto it = std::back_inserter(out);
    fmt::format_to(it, "{} ", family);
    if (src) fmt::format_to(it, "{}", *src);
    if (ports != nullptr) fmt::format_to(it, ".{}", ports[0]);
    out.append(std::string_view{" > "});
    if (dst) fmt::format_to(it, "{}", *dst);
    if (ports != nullptr) fmt::format_to(it, ".{}", ports[1]);
    out.append(std::string_view{": "});
}

}  // namespace

void print_ip_prefix(fmt::memory_buffer& out, const decoded_packet& p) {
    print_ip_words(out, p, nullptr);
}

void print_ip_prefix(fmt::memory_buffer& out, const decoded_packet& p, std::uint16_t src_port,
                     std::uint16_t dst_port) {
    const std::uint16_t ports[2] = {src_port, dst_port};
    print_ip_words(out, p, ports);
}

}  // namespace detail

std::string packet_line(std::chrono::nanoseconds time, const decoded_packet& p, std::uint32_t wire_length) {
    std::time_t secs = static_cast<std::time_t>(time.count() / 1'000'000'000);
    std::tm tm{};
    localtime_r(&secs, &tm);
    char hms[16];
    std::strftime(hms, sizeof hms, "%H:%M:%S", &tm);
    fmt::memory_buffer out;
    fmt::format_to(std::back_inserter(out), "{}.{:06} ", hms, (time.count() % 1'000'000'000) / 1000);

    const std::size_t own = std::min<std::size_t>(p.own_depth, p.depth);
    for (std::size_t i = own; i-- > 0;) {
        const auto idx = static_cast<std::size_t>(p.path[i]);
        if (idx >= detail::layer_count) continue;
        const detail::protocol& row = detail::protocols[idx];
        if (row.print != nullptr && row.print(p, wire_length, out)) return fmt::to_string(out);
    }
    fmt::format_to(std::back_inserter(out), "link type {}, length {} ({})", p.link_type, wire_length,
                   decode_stop_name(p.stop));
    return fmt::to_string(out);
}

}  // namespace nettool
