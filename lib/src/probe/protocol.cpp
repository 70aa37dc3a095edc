#include <nettool/probe/protocol.hpp>

namespace nettool::proto {

namespace {
bool valid_mode(std::uint8_t m) noexcept {
    return m >= 1 && m <= 6;
}
bool valid_status(std::uint8_t s) noexcept {
    return s <= 4;
}
bool valid_kind(std::uint8_t k) noexcept {
    return k >= 1 && k <= 3;
}
}  // namespace

std::size_t encode(const hello& h, std::span<std::byte> out) noexcept {
    byte_writer w{out};
    w.u32(hello_magic);
    w.u8(version);
    w.u8(static_cast<std::uint8_t>(h.m));
    w.u16(h.flags);
    w.u32(h.message_size);
    w.u32(h.duration_ms);
    return w.ok() ? w.size() : 0;
}

std::size_t encode(const hello_reply& r, std::span<std::byte> out) noexcept {
    byte_writer w{out};
    w.u32(hello_magic);
    w.u8(version);
    w.u8(static_cast<std::uint8_t>(r.st));
    w.u16(r.flags);
    w.u64(r.cookie);
    return w.ok() ? w.size() : 0;
}

std::size_t encode(const udp_header& h, std::span<std::byte> out) noexcept {
    byte_writer w{out};
    w.u32(udp_magic);
    w.u8(version);
    w.u8(static_cast<std::uint8_t>(h.kind));
    w.u16(h.interval);
    w.u64(h.cookie);
    w.u64(h.seq);
    w.u64(h.send_ns);
    return w.ok() ? w.size() : 0;
}

std::size_t encode(const udp_report& r, std::span<std::byte> out) noexcept {
    byte_writer w{out};
    w.u32(udp_report_magic);
    w.u32(r.receiver_drops ? report_flag_receiver_drops : 0);
    w.u64(r.received);
    w.u64(r.duplicates);
    w.u64(r.out_of_order);
    w.u64(r.max_displacement);
    w.u64(r.highest_seq);
    w.u64(r.bytes);
    w.u64(r.jitter_ns);
    w.u64(r.active_ns);
    if (r.receiver_drops) w.u64(*r.receiver_drops);
    return w.ok() ? w.size() : 0;
}

std::size_t encode_sink_report(std::uint64_t bytes, std::span<std::byte> out) noexcept {
    byte_writer w{out};
    w.u32(sink_report_magic);
    w.u64(bytes);
    return w.ok() ? w.size() : 0;
}

std::size_t encode_report_request(std::span<std::byte> out) noexcept {
    byte_writer w{out};
    w.u32(report_request_magic);
    return w.ok() ? w.size() : 0;
}

std::size_t encode_interval_request(std::span<std::byte> out) noexcept {
    byte_writer w{out};
    w.u32(interval_request_magic);
    return w.ok() ? w.size() : 0;
}

std::size_t encode_interval_report(std::span<const udp_interval_counts> counts, std::span<std::byte> out) noexcept {
    if (counts.size() > max_report_intervals) return 0;
    byte_writer w{out};
    w.u32(interval_report_magic);
    w.u32(static_cast<std::uint32_t>(counts.size()));
    for (const auto& c : counts) {
        w.u32(c.received);
        w.u32(c.duplicates);
        w.u32(c.out_of_order);
    }
    return w.ok() ? w.size() : 0;
}

bool params_in_range(const hello& h) noexcept {
    switch (h.m) {
        case mode::echo: return h.message_size >= 1 && h.message_size <= max_tcp_message;
        case mode::udp_echo: return h.message_size >= min_udp_datagram && h.message_size <= max_udp_datagram;
        case mode::source: return h.duration_ms >= 1 && h.duration_ms <= max_duration_ms;
        case mode::sink:
        case mode::connect_only:
        case mode::udp_sink: return true;
    }
    return false;
}

decoded<hello> decode_hello(std::span<const std::byte> in) noexcept {
    cursor c{in};
    const auto magic = c.u32();
    const auto ver = c.u8();
    const auto m = c.u8();
    decoded<hello> d;
    d.value.flags = c.u16();
    d.value.message_size = c.u32();
    d.value.duration_ms = c.u32();
    if (!c.ok()) return {decode_status::truncated, {}};
    if (magic != hello_magic) return {decode_status::bad_magic, {}};
    d.value.m = static_cast<mode>(m);
    if (ver != version)
        d.status = decode_status::bad_version;
    else if (!valid_mode(m))
        d.status = decode_status::bad_value;
    else
        d.status = decode_status::ok;
    return d;
}

decoded<hello_reply> decode_hello_reply(std::span<const std::byte> in) noexcept {
    cursor c{in};
    const auto magic = c.u32();
    const auto ver = c.u8();
    const auto st = c.u8();
    const auto flags = c.u16();
    const auto cookie = c.u64();
    if (!c.ok()) return {decode_status::truncated, {}};
    if (magic != hello_magic) return {decode_status::bad_magic, {}};
    if (ver != version) return {decode_status::bad_version, {}};
    if (!valid_status(st)) return {decode_status::bad_value, {}};
    return {decode_status::ok, {static_cast<status>(st), cookie, flags}};
}

decoded<udp_header> decode_udp_header(std::span<const std::byte> in) noexcept {
    cursor c{in};
    const auto magic = c.u32();
    const auto ver = c.u8();
    const auto kind = c.u8();
    udp_header h;
    h.interval = c.u16();
    h.cookie = c.u64();
    h.seq = c.u64();
    h.send_ns = c.u64();
    if (!c.ok()) return {decode_status::truncated, {}};
    if (magic != udp_magic) return {decode_status::bad_magic, {}};
    if (ver != version) return {decode_status::bad_version, {}};
    if (!valid_kind(kind)) return {decode_status::bad_value, {}};
    h.kind = static_cast<udp_kind>(kind);
    return {decode_status::ok, h};
}

decoded<udp_report> decode_udp_report(std::span<const std::byte> in) noexcept {
    cursor c{in};
    const auto magic = c.u32();
    const auto flags = c.u32();
    udp_report r;
    r.received = c.u64();
    r.duplicates = c.u64();
    r.out_of_order = c.u64();
    r.max_displacement = c.u64();
    r.highest_seq = c.u64();
    r.bytes = c.u64();
    r.jitter_ns = c.u64();
    r.active_ns = c.u64();
    if ((flags & report_flag_receiver_drops) != 0) r.receiver_drops = c.u64();
    if (!c.ok()) return {decode_status::truncated, {}};
    if (magic != udp_report_magic) return {decode_status::bad_magic, {}};
    if (r.duplicates > r.received || r.out_of_order > r.received) return {decode_status::bad_value, {}};
    return {decode_status::ok, r};
}

decoded<std::uint64_t> decode_sink_report(std::span<const std::byte> in) noexcept {
    cursor c{in};
    const auto magic = c.u32();
    const auto bytes = c.u64();
    if (!c.ok()) return {decode_status::truncated, 0};
    if (magic != sink_report_magic) return {decode_status::bad_magic, 0};
    return {decode_status::ok, bytes};
}

bool is_report_request(std::span<const std::byte> in) noexcept {
    cursor c{in};
    return c.u32() == report_request_magic && c.ok();
}

bool is_interval_request(std::span<const std::byte> in) noexcept {
    cursor c{in};
    return c.u32() == interval_request_magic && c.ok();
}

decoded<std::uint32_t> decode_interval_report_count(std::span<const std::byte> in) noexcept {
    cursor c{in};
    const auto magic = c.u32();
    const auto n = c.u32();
    if (!c.ok()) return {decode_status::truncated, 0};
    if (magic != interval_report_magic) return {decode_status::bad_magic, 0};
    if (n > max_report_intervals) return {decode_status::bad_value, 0};
    return {decode_status::ok, n};
}

decoded<std::size_t> decode_interval_report(std::span<const std::byte> in,
                                            std::span<udp_interval_counts> out) noexcept {
    const auto head = decode_interval_report_count(in);
    if (!head) return {head.status, 0};
    if (head.value > out.size()) return {decode_status::bad_value, 0};
    cursor c{in};
    c.skip(interval_report_header_size);
    for (std::uint32_t i = 0; i < head.value; ++i) {
        udp_interval_counts k;
        k.received = c.u32();
        k.duplicates = c.u32();
        k.out_of_order = c.u32();
        if (!c.ok()) return {decode_status::truncated, 0};
        // A datagram is new in order, new out of order, or a duplicate: never more than received.
        if (std::uint64_t{k.duplicates} + k.out_of_order > k.received) return {decode_status::bad_value, 0};
        out[i] = k;
    }
    return {decode_status::ok, head.value};
}

const char* to_string(mode m) noexcept {
    switch (m) {
        case mode::echo: return "echo";
        case mode::sink: return "sink";
        case mode::source: return "source";
        case mode::connect_only: return "connect-only";
        case mode::udp_echo: return "udp-echo";
        case mode::udp_sink: return "udp-sink";
    }
    return "unknown";
}

const char* to_string(status s) noexcept {
    switch (s) {
        case status::ok: return "ok";
        case status::bad_version: return "unsupported protocol version";
        case status::bad_mode: return "unknown mode";
        case status::busy: return "responder busy (session limit reached)";
        case status::bad_param: return "message size or duration out of range";
    }
    return "unknown status";
}

}  // namespace nettool::proto
