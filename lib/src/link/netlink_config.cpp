#include "netlink_config.hpp"

#include <nettool/core/cursor.hpp>
#include <nettool/core/error.hpp>

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>

namespace nettool::detail {

namespace {

// A request under construction: a header, a fixed body, then attributes, all 4-byte aligned.
class message {
public:
    message(std::uint16_t type, std::uint16_t flags, unsigned seq) noexcept {
        nlmsghdr h{};
        h.nlmsg_type = type;
        h.nlmsg_flags = static_cast<std::uint16_t>(flags | NLM_F_REQUEST | NLM_F_ACK);
        h.nlmsg_seq = seq;
        append(&h, sizeof h);
    }
    template <typename T>
    void body(const T& b) noexcept {
        append(&b, sizeof b);
    }
    void attr(std::uint16_t type, const void* data, std::size_t n) noexcept {
        rtattr a{};
        a.rta_type = type;
        a.rta_len = static_cast<unsigned short>(RTA_LENGTH(n));
        append(&a, sizeof a);
        append(data, n);
    }
    template <typename T>
    void attr(std::uint16_t type, const T& v) noexcept {
        attr(type, &v, sizeof v);
    }
    std::span<const std::byte> bytes() noexcept {
        auto* h = reinterpret_cast<nlmsghdr*>(buf_.data());
        h->nlmsg_len = static_cast<std::uint32_t>(len_);
        return {buf_.data(), len_};
    }

private:
    void append(const void* p, std::size_t n) noexcept {
        const std::size_t aligned = NLMSG_ALIGN(n);
        if (len_ + aligned > buf_.size()) return;  // the fixed messages below always fit
        std::memcpy(buf_.data() + len_, p, n);
        std::memset(buf_.data() + len_ + n, 0, aligned - n);
        len_ += aligned;
    }
    alignas(nlmsghdr) std::array<std::byte, 256> buf_{};
    std::size_t len_ = 0;
};

unsigned char af_of(ip_family f) noexcept {
    return f == ip_family::v4 ? AF_INET : AF_INET6;
}

}  // namespace

netlink_config::netlink_config(std::error_code& ec) noexcept {
    fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) {
        ec = {errno, std::system_category()};
        return;
    }
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) ec = {errno, std::system_category()};
}

netlink_config::~netlink_config() {
    if (fd_ >= 0) ::close(fd_);
}

std::error_code netlink_config::request(std::span<const std::byte> m) noexcept {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    const auto seq = reinterpret_cast<const nlmsghdr*>(m.data())->nlmsg_seq;
    if (::sendto(fd_, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) !=
        static_cast<ssize_t>(m.size()))
        return {errno, std::system_category()};
    std::array<std::byte, 4096> reply{};
    for (int attempt = 0; attempt < 16; ++attempt) {
        const ssize_t n = ::recv(fd_, reply.data(), reply.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return {errno, std::system_category()};
        }
        const auto ec = parse_netlink_ack({reply.data(), static_cast<std::size_t>(n)}, seq);
        if (ec != errc::protocol_error) return ec;  // protocol_error: an unrelated message, read on
    }
    return make_error_code(errc::timed_out);
}

std::error_code parse_netlink_ack(std::span<const std::byte> reply, unsigned seq) noexcept {
    cursor r(reply);
    const std::uint32_t len = r.u32_host();
    const std::uint16_t type = r.u16_host();
    r.skip(2);  // flags
    const std::uint32_t got_seq = r.u32_host();
    r.skip(4);  // pid
    if (!r.ok()) return make_error_code(errc::truncated);
    if (len < sizeof(nlmsghdr) || len > reply.size()) return make_error_code(errc::malformed);
    if (got_seq != seq || type != NLMSG_ERROR) return make_error_code(errc::protocol_error);
    const auto code = static_cast<std::int32_t>(r.u32_host());
    if (!r.ok()) return make_error_code(errc::truncated);
    if (code == 0) return {};
    if (code > 0 || code == INT32_MIN) return make_error_code(errc::malformed);
    return {-code, std::system_category()};
}

std::error_code netlink_config::set_up(int ifindex, std::size_t mtu) noexcept {
    message m(RTM_NEWLINK, 0, ++seq_);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = ifindex;
    ifi.ifi_flags = IFF_UP;
    ifi.ifi_change = IFF_UP;
    m.body(ifi);
    if (mtu != 0) m.attr(IFLA_MTU, static_cast<std::uint32_t>(mtu));
    return request(m.bytes());
}

std::error_code netlink_config::add_address(int ifindex, const ip_address& a, int prefix_length) noexcept {
    message m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ++seq_);
    ifaddrmsg ifa{};
    ifa.ifa_family = af_of(a.family);
    ifa.ifa_prefixlen = static_cast<unsigned char>(prefix_length);
    ifa.ifa_index = static_cast<unsigned>(ifindex);
    ifa.ifa_flags = a.is_v4() ? 0 : IFA_F_NODAD;
    m.body(ifa);
    const std::size_t n = a.is_v4() ? 4 : 16;
    m.attr(IFA_LOCAL, a.bytes.data(), n);
    m.attr(IFA_ADDRESS, a.bytes.data(), n);
    if (!a.is_v4()) m.attr(IFA_FLAGS, std::uint32_t{IFA_F_NODAD});
    return request(m.bytes());
}

std::error_code netlink_config::add_default_route(int ifindex, ip_family family) noexcept {
    message m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ++seq_);
    rtmsg rt{};
    rt.rtm_family = af_of(family);
    rt.rtm_dst_len = 0;
    rt.rtm_table = RT_TABLE_MAIN;
    rt.rtm_protocol = RTPROT_STATIC;
    rt.rtm_scope = family == ip_family::v4 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    rt.rtm_type = RTN_UNICAST;
    m.body(rt);
    m.attr(RTA_OIF, static_cast<std::uint32_t>(ifindex));
    return request(m.bytes());
}

}  // namespace nettool::detail
