#include "trace/probe_socket.hpp"

#include <nettool/core/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>

#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nettool::detail {

namespace {

std::error_code last_error() noexcept {
    return {errno, std::system_category()};
}

void set_int(int fd, int level, int name, int value, const char* what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0)
        throw error(last_error(), fmt::format("trace: setsockopt {}: {}", what, std::strerror(errno)));
}

std::uint16_t random16() noexcept {
    std::uint16_t v = 0;
    if (::getrandom(&v, sizeof v, 0) != static_cast<ssize_t>(sizeof v))
        v = static_cast<std::uint16_t>(::getpid());
    return v;
}

// RFC 1071 sum over bytes (big-endian words), not yet complemented.
std::uint32_t sum_bytes(std::span<const std::byte> b, std::uint32_t acc = 0) noexcept {
    std::size_t i = 0;
    for (; i + 1 < b.size(); i += 2)
        acc += (std::to_integer<std::uint32_t>(b[i]) << 8) | std::to_integer<std::uint32_t>(b[i + 1]);
    if (i < b.size()) acc += std::to_integer<std::uint32_t>(b[i]) << 8;
    return acc;
}
std::uint16_t fold(std::uint32_t acc) noexcept {
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<std::uint16_t>(~acc & 0xffff);
}

std::string_view unreachable_mark(bool v6, std::uint8_t code) noexcept {
    if (!v6) {
        switch (code) {
            case 0: return "!N";
            case 1: return "!H";
            case 2: return "!P";
            case 3: return "";  // port unreachable
            case 4: return "!F";
            case 5: return "!S";
            case 9:
            case 10:
            case 13: return "!X";
            default: return "!U";
        }
    }
    switch (code) {
        case 0: return "!N";
        case 1:
        case 5:
        case 6: return "!X";
        case 3: return "!H";
        case 4: return "";  // port unreachable
        default: return "!U";
    }
}

// Sends b with the TTL (hop limit) as ancillary data: one system call per probe, no setsockopt.
// An ICMP error that reached the socket also left its errno pending (sk_err, with IP_RECVERR as
// without): the next send reports it (ECONNREFUSED after a port unreachable, EHOSTUNREACH after a
// time exceeded) and clears it. Such a send sent nothing; the second try is the real one.
ssize_t send_with_ttl(int fd, bool v6, int ttl, std::span<const std::byte> b) noexcept {
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
    iovec iov{const_cast<std::byte*>(b.data()), b.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
    c->cmsg_type = v6 ? IPV6_HOPLIMIT : IP_TTL;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &ttl, sizeof ttl);
    ssize_t n = ::sendmsg(fd, &msg, 0);
    if (n < 0 && errno != EAGAIN && errno != ENOBUFS) n = ::sendmsg(fd, &msg, 0);
    return n;
}

}  // namespace

std::string describe(probe_method m, bool v6) {
    switch (m) {
        case probe_method::udp:
            return fmt::format("UDP socket, ICMP{} errors from its error queue (IP_RECVERR)", v6 ? "v6" : "");
        case probe_method::icmp_ping:
            return fmt::format("ICMP{} ping socket (no privilege needed)", v6 ? "v6" : "");
        case probe_method::icmp_raw: return fmt::format("ICMP{} raw socket", v6 ? "v6" : "");
        case probe_method::tcp_raw: return "TCP SYN on a raw socket";
    }
    return {};
}

probe_socket::probe_socket(trace_protocol protocol, const socket_address& destination, unsigned flow,
                           std::uint16_t port, std::uint32_t token, bool pmtu)
    : protocol_(protocol), dst_(destination), v6_(destination.is_v6()), flow_(flow), token_(token) {
    const int family = v6_ ? AF_INET6 : AF_INET;
    // Paris traceroute: one checksum per flow, so flows differ where load balancers look.
    checksum_target_ = static_cast<std::uint16_t>(0x1000 + 0x0101 * flow);
    switch (protocol) {
        case trace_protocol::udp:
            method_ = probe_method::udp;
            fd_ = unique_fd{::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
            dport_ = static_cast<std::uint16_t>(port + flow);
            break;
        case trace_protocol::icmp: {
            const int proto = v6_ ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP};
            method_ = probe_method::icmp_ping;
            fd_ = unique_fd{::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto)};
            if (!fd_ && (errno == EACCES || errno == EPERM)) {
                method_ = probe_method::icmp_raw;
                fd_ = unique_fd{::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto)};
                if (!fd_ && (errno == EACCES || errno == EPERM))
                    throw error(
                        errc::permission_denied,
                        "trace --proto icmp: this user may not open a ping socket (net.ipv4.ping_group_range "
                        "does not include its group) nor a raw socket (needs root or CAP_NET_RAW); use "
                        "--proto udp, which needs neither");
            }
            break;
        }
        case trace_protocol::tcp:
            method_ = probe_method::tcp_raw;
            fd_ = unique_fd{::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP)};
            if (!fd_ && (errno == EACCES || errno == EPERM))
                throw error(
                    errc::permission_denied,
                    "trace --proto tcp: TCP SYN probes need a raw socket (run as root or with CAP_NET_RAW); "
                    "--proto udp needs no privilege");
            dport_ = port;
            sport_ = static_cast<std::uint16_t>(32768 + (random16() % 28000) + flow);
            break;
    }
    if (!fd_) throw error(last_error(), fmt::format("trace: cannot open a socket: {}", std::strerror(errno)));
    const int fd = fd_.get();

    socket_address to = dst_;
    to.set_port(protocol == trace_protocol::udp ? dport_ : 0);
    if (::connect(fd, to.data(), to.size()) != 0)
        throw error(last_error(),
                    fmt::format("trace: cannot reach {}: {}", dst_.address_string(), std::strerror(errno)));

    if (v6_) {
        set_int(fd, IPPROTO_IPV6, IPV6_RECVERR, 1, "IPV6_RECVERR");
        set_int(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT");
        if (pmtu) set_int(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_PROBE, "IPV6_MTU_DISCOVER");
        // A raw TCP socket over IPv6: the kernel fills in the checksum (offset 16 of the header).
        if (method_ == probe_method::tcp_raw) set_int(fd, IPPROTO_IPV6, IPV6_CHECKSUM, 16, "IPV6_CHECKSUM");
    } else {
        set_int(fd, IPPROTO_IP, IP_RECVERR, 1, "IP_RECVERR");
        set_int(fd, IPPROTO_IP, IP_RECVTTL, 1, "IP_RECVTTL");
        if (pmtu) set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE, "IP_MTU_DISCOVER");
    }
    set_int(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS");

    if (method_ == probe_method::icmp_ping) {
        // The kernel chose the echo identifier: the socket's "port".
        icmp_id_ = local_address(fd).port();
    } else if (method_ == probe_method::icmp_raw) {
        icmp_id_ = static_cast<std::uint16_t>(random16() + flow);
    } else if (method_ == probe_method::tcp_raw && !v6_) {
        const auto local = local_address(fd);
        src_v4_ = local.ip() ? local.ip()->to_v4() : 0;
    }
}

std::uint32_t probe_socket::header_bytes() const noexcept {
    const std::uint32_t ip = v6_ ? 40 : 20;
    return ip + (protocol_ == trace_protocol::tcp ? 20 : 8);
}

std::error_code probe_socket::send(const probe_tag& tag_in, std::uint32_t size) noexcept {
    const int fd = fd_.get();
    const int ttl = tag_in.ttl;

    // The largest probe is 64 KiB; the buffer lives per thread, not per probe.
    static thread_local std::array<std::byte, 65536> buf;
    const std::uint32_t headers = header_bytes();
    const std::uint32_t total = size < headers + probe_tag_size ? headers + probe_tag_size : size;
    const std::uint32_t transport_total = total - (v6_ ? 40 : 20);  // what send() takes
    std::span<std::byte> out{buf.data(), transport_total};
    std::memset(out.data(), 0, out.size());
    probe_tag tag = tag_in;

    ssize_t n = -1;
    if (method_ == probe_method::udp) {
        // UDP payload only: the kernel writes the header.
        const auto payload = out.subspan(0, transport_total - 8);
        tag.balance = probe_balance(tag, false, checksum_target_);
        write_probe_tag(payload, tag);
        n = send_with_ttl(fd, v6_, ttl, payload);
    } else if (method_ == probe_method::icmp_ping || method_ == probe_method::icmp_raw) {
        out[0] = static_cast<std::byte>(v6_ ? 128 : 8);  // echo request
        put_be16(out, 4, icmp_id_);
        put_be16(out, 6, tag.seq);
        tag.balance = probe_balance(tag, true, checksum_target_);
        write_probe_tag(out.subspan(8), tag);
        // A ping socket and a raw ICMPv6 socket checksum for us; raw ICMP over IPv4 does not.
        if (method_ == probe_method::icmp_raw && !v6_) put_be16(out, 2, fold(sum_bytes(out)));
        n = send_with_ttl(fd, v6_, ttl, out);
    } else {
        // TCP SYN: the sequence number is the tag; the ports stay fixed for the flow.
        auto seg = out.subspan(0, 20);
        put_be16(seg, 0, sport_);
        put_be16(seg, 2, dport_);
        put_be32(seg, 4, ((token_ & 0xffffU) << 16) | tag.seq);
        seg[12] = static_cast<std::byte>(5 << 4);
        seg[13] = static_cast<std::byte>(0x02);  // SYN
        put_be16(seg, 14, 65535);
        if (!v6_) {
            const auto dst = dst_.ip() ? dst_.ip()->to_v4() : 0;
            std::uint32_t acc =
                (src_v4_ >> 16) + (src_v4_ & 0xffff) + (dst >> 16) + (dst & 0xffff) + IPPROTO_TCP + 20;
            put_be16(seg, 16, fold(sum_bytes(seg, acc)));
        }
        n = send_with_ttl(fd, v6_, ttl, seg);
    }
    if (n < 0) return last_error();
    return {};
}

read_outcome probe_socket::read(reply& out) noexcept {
    const auto r = read_error(out);
    return r != read_outcome::none ? r : read_data(out);
}

read_outcome probe_socket::match_quote(std::span<const std::byte> quoted, reply& out) const noexcept {
    const quote_kind kind = method_ == probe_method::udp       ? quote_kind::udp_payload
                            : method_ == probe_method::tcp_raw ? quote_kind::tcp_header
                                                               : quote_kind::icmp_echo;
    const auto m = parse_probe_quote(quoted, kind, token_);
    if (m.status == quote_status::short_quote) return read_outcome::short_quote;
    if (m.status == quote_status::foreign) return read_outcome::foreign;
    // A raw socket hears about every flow's probes: keep only this flow's.
    if (method_ == probe_method::icmp_raw && m.id != icmp_id_) return read_outcome::skipped;
    if (method_ == probe_method::tcp_raw && m.id != sport_) return read_outcome::skipped;
    if (!m.header_only && m.tag.flow != flow_) return read_outcome::skipped;
    out.seq = m.tag.seq;
    out.token = token_;
    out.header_only = m.header_only;
    out.ttl = m.tag.ttl;
    out.flow = static_cast<std::uint8_t>(flow_);
    return read_outcome::matched;
}

namespace {

struct msg_meta {
    std::int64_t stamp_ns = 0;
    int ttl = -1;
    bool has_ee = false;
    sock_extended_err ee{};
    std::optional<ip_address> offender;
};

std::int64_t realtime_now_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The kernel's control messages (not outside bytes: their layout is the kernel's ABI), read with
// memcpy because CMSG_DATA need not be aligned for the struct.
msg_meta read_cmsgs(msghdr& msg) noexcept {
    msg_meta meta;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        const auto* data = CMSG_DATA(c);
        const std::size_t len = c->cmsg_len - CMSG_LEN(0);
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS && len >= sizeof(timespec)) {
            timespec ts{};
            std::memcpy(&ts, data, sizeof ts);
            meta.stamp_ns = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
        } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
                   (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
            if (len >= sizeof(int)) std::memcpy(&meta.ttl, data, sizeof(int));
        } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                   (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
            if (len < sizeof(sock_extended_err)) continue;
            std::memcpy(&meta.ee, data, sizeof meta.ee);
            meta.has_ee = true;
            // The offender follows the struct (SO_EE_OFFENDER).
            const std::size_t off_len = len - sizeof(sock_extended_err);
            sockaddr_storage ss{};
            std::memcpy(&ss, data + sizeof(sock_extended_err), off_len < sizeof ss ? off_len : sizeof ss);
            const auto sa = socket_address::from_sockaddr(
                reinterpret_cast<const sockaddr*>(&ss),
                static_cast<socklen_t>(off_len < sizeof ss ? off_len : sizeof ss));
            if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) meta.offender = sa.ip();
        }
    }
    if (meta.stamp_ns == 0) meta.stamp_ns = realtime_now_ns();
    return meta;
}

struct received {
    std::span<const std::byte>
        bytes;  ///< what was read, at most the buffer (MSG_TRUNC: the tag is at the front)
    msg_meta meta;
    std::optional<ip_address> from;
};

// One recvmsg(flags | MSG_DONTWAIT) into data; nullopt when there is nothing to read.
std::optional<received> receive(int fd, int flags, std::span<std::byte> data) noexcept {
    alignas(cmsghdr) std::array<char, 512> control{};
    sockaddr_storage from{};
    iovec iov{data.data(), data.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    const ssize_t n = ::recvmsg(fd, &msg, flags | MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    received r;
    r.bytes = data.first(std::min(static_cast<std::size_t>(n), data.size()));
    r.meta = read_cmsgs(msg);
    r.from = socket_address::from_sockaddr(reinterpret_cast<const sockaddr*>(&from), msg.msg_namelen).ip();
    return r;
}

}  // namespace

read_outcome probe_socket::read_error(reply& out) noexcept {
    std::array<std::byte, 2048> data{};
    const auto got_msg = receive(fd_.get(), MSG_ERRQUEUE, data);
    if (!got_msg) return read_outcome::none;
    const auto& meta = got_msg->meta;
    if (!meta.has_ee) return read_outcome::other;
    const auto& ee = meta.ee;
    if (ee.ee_origin == SO_EE_ORIGIN_LOCAL) {
        if (ee.ee_errno != EMSGSIZE) return read_outcome::other;
        out.mtu = ee.ee_info;
        return read_outcome::local_mtu;
    }
    if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) return read_outcome::other;
    if (!meta.offender) return read_outcome::other;

    const bool v6 = ee.ee_origin == SO_EE_ORIGIN_ICMP6;
    reply r;
    r.from = *meta.offender;
    r.received_ns = meta.stamp_ns;
    r.reply_ttl = meta.ttl;
    const std::uint8_t type = ee.ee_type;
    const std::uint8_t code = ee.ee_code;
    const bool time_exceeded = v6 ? type == ICMP6_TIME_EXCEEDED : type == 11;
    const bool unreach = v6 ? type == ICMP6_DST_UNREACH : type == 3;
    const bool too_big = v6 ? type == ICMP6_PACKET_TOO_BIG : (type == 3 && code == 4);
    if (too_big) {
        r.kind = reply_kind::too_big;
        r.mtu = ee.ee_info;
    } else if (time_exceeded) {
        if (code != 0) return read_outcome::other;  // fragment reassembly time exceeded
        r.kind = reply_kind::time_exceeded;
    } else if (unreach) {
        r.icmp_code = code;
        r.mark = unreachable_mark(v6, code);
        const auto dst_ip = dst_.ip();
        // From the destination itself: the probe arrived (a closed port, or the protocol refused).
        r.kind = (dst_ip && r.from == *dst_ip) ? reply_kind::reached : reply_kind::unreachable;
    } else {
        return read_outcome::other;
    }
    const auto got = match_quote(got_msg->bytes, r);
    if (got == read_outcome::matched) out = r;
    return got;
}

read_outcome probe_socket::read_data(reply& out) noexcept {
    std::array<std::byte, 4096> data{};
    const auto got_msg = receive(fd_.get(), 0, data);
    if (!got_msg) return read_outcome::none;
    std::span<const std::byte> bytes = got_msg->bytes;
    const auto& meta = got_msg->meta;
    const auto& src = got_msg->from;
    const auto dst_ip = dst_.ip();
    const bool from_target = src && dst_ip && *src == *dst_ip;

    reply r;
    r.kind = reply_kind::reached;
    r.received_ns = meta.stamp_ns;
    r.reply_ttl = meta.ttl;
    if (dst_ip) r.from = *dst_ip;

    switch (method_) {
        case probe_method::udp:
            // Something listens on the port and answered: it arrived, but the answer cannot say which
            // probe it was.
            return read_outcome::other;
        case probe_method::icmp_ping:
        case probe_method::icmp_raw: {
            if (method_ == probe_method::icmp_raw && !v6_) bytes = ipv4_payload(bytes);
            if (bytes.empty()) return read_outcome::skipped;
            const auto type = std::to_integer<std::uint8_t>(bytes[0]);
            // A raw socket hears every ICMP message of the host: only echo replies concern it here
            // (errors arrive on the error queue).
            if (type != (v6_ ? 129 : 0))
                return method_ == probe_method::icmp_raw ? read_outcome::skipped : read_outcome::other;
            if (!from_target)
                return method_ == probe_method::icmp_raw ? read_outcome::skipped : read_outcome::foreign;
            const auto m = match_quote(bytes, r);
            if (m == read_outcome::matched) out = r;
            return m;
        }
        case probe_method::tcp_raw: {
            if (!v6_) bytes = ipv4_payload(bytes);
            tcp_answer a;
            if (!from_target || !parse_tcp_answer(bytes, a)) return read_outcome::skipped;
            if (a.source_port != dport_ || a.dest_port != sport_) return read_outcome::skipped;
            if (!(a.syn && a.ack_flag) && !a.rst) return read_outcome::other;
            if (!a.ack_flag) return read_outcome::other;  // a bare RST does not say which SYN
            const std::uint32_t acked = a.ack - 1;
            if ((acked >> 16) != (token_ & 0xffffU)) return read_outcome::foreign;
            r.seq = static_cast<std::uint16_t>(acked & 0xffff);
            r.token = token_;
            r.header_only = true;
            r.flow = static_cast<std::uint8_t>(flow_);
            out = r;
            return read_outcome::matched;
        }
    }
    return read_outcome::other;
}

}  // namespace nettool::detail
