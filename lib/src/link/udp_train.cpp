#include "udp_train.hpp"

#include <nettool/core/cursor.hpp>
#include <nettool/packet/packet.hpp>

#include <cstring>

namespace nettool::detail {

namespace {

constexpr std::size_t udp_header = 8;
constexpr std::uint8_t needs_checksum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM

void put16(std::byte* p, std::size_t v) noexcept {
    p[0] = static_cast<std::byte>((v >> 8) & 0xff);
    p[1] = static_cast<std::byte>(v & 0xff);
}

// One's complement sum of the 16-bit big-endian words of b (even length), unfolded.
std::uint32_t sum16(std::span<const std::byte> b, std::uint32_t sum = 0) noexcept {
    for (std::size_t i = 0; i + 1 < b.size(); i += 2) sum += cursor::u16_at(b, i);
    return sum;
}

std::uint16_t fold(std::uint32_t sum) noexcept {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

bool same(std::span<const std::byte> a, std::span<const std::byte> b, std::size_t from, std::size_t to) noexcept {
    return std::memcmp(a.data() + from, b.data() + from, to - from) == 0;
}

}  // namespace

// Complete, or partial over the UDP header and payload (the pseudo-header sum in the field).
bool udp_train::checksum_ok(const vnet_header& h) const noexcept {
    if (h.gso_type != vnet_gso_none) return false;
    return h.flags == 0 || (h.flags == needs_checksum && h.csum_start == ip_header_ && h.csum_offset == 6);
}

bool udp_train::begin(const vnet_header& h, std::span<const std::byte> ip) noexcept {
    count_ = 0;
    closed_ = false;
    if (const auto v4 = ipv4_view::parse(ip)) {
        if (v4->header_length() != ipv4_view::min_header_size || v4->protocol() != ip_proto::udp || v4->is_fragment() ||
            v4->total_length() != ip.size())
            return false;
        ip_header_ = ipv4_view::min_header_size;
    } else if (const auto v6 = ipv6_view::parse(ip)) {
        if (v6->next_header() != ip_proto::udp || v6->payload_length() + ipv6_view::header_size != ip.size())
            return false;
        ip_header_ = ipv6_view::header_size;
    } else {
        return false;
    }
    const auto udp = udp_view::parse(ip.subspan(ip_header_));
    if (!udp || udp->length() != ip.size() - ip_header_ || udp->length() <= udp_header || udp->checksum() == 0 ||
        !checksum_ok(h))
        return false;
    first_ = h;
    std::memcpy(buf_.data() + vnet_header_size, ip.data(), ip.size());
    length_ = ip.size();
    segment_ = udp->length() - udp_header;
    count_ = 1;
    return true;
}

bool udp_train::append(const vnet_header& h, std::span<const std::byte> ip) noexcept {
    if (count_ == 0 || closed_ || count_ >= max_segments || !checksum_ok(h)) return false;
    const std::size_t headers = ip_header_ + udp_header;
    if (ip.size() <= headers) return false;
    const std::size_t payload = ip.size() - headers;
    if (payload > segment_ || length_ + payload > buf_.size() - vnet_header_size) return false;
    const std::span<const std::byte> first{buf_.data() + vnet_header_size, headers};
    // Every header field but the lengths, the IPv4 identification and the checksums.
    if (ip_header_ == ipv4_view::min_header_size) {
        if (!same(first, ip, 0, 2) || !same(first, ip, 6, 10) || !same(first, ip, 12, 20) ||
            cursor::u16_at(ip, 2) != ip.size())
            return false;
    } else {
        if (!same(first, ip, 0, 4) || !same(first, ip, 6, 40) ||
            cursor::u16_at(ip, 4) + ipv6_view::header_size != ip.size())
            return false;
    }
    if (!same(first, ip, ip_header_, ip_header_ + 4) ||                    // ports
        cursor::u16_at(ip, ip_header_ + 4) != ip.size() - ip_header_ ||  // the UDP length
        cursor::u16_at(ip, ip_header_ + 6) == 0)                           // no checksum: keep it alone
        return false;
    std::memcpy(buf_.data() + vnet_header_size + length_, ip.data() + headers, payload);
    length_ += payload;
    ++count_;
    closed_ = payload < segment_;
    return true;
}

std::span<const std::byte> udp_train::take() noexcept {
    vnet_header h = first_;
    std::byte* ip = buf_.data() + vnet_header_size;
    if (count_ >= 2) {
        const std::span<const std::byte> packet{ip, length_};
        const std::size_t udp_length = length_ - ip_header_;
        std::uint32_t pseudo = 0;
        if (ip_header_ == ipv4_view::min_header_size) {
            put16(ip + 2, length_);
            put16(ip + 10, 0);
            put16(ip + 10, static_cast<std::uint16_t>(~fold(sum16(packet.first(20)))));
            pseudo = sum16(packet.subspan(12, 8));
        } else {
            put16(ip + 4, udp_length);
            pseudo = sum16(packet.subspan(8, 32));
        }
        put16(ip + ip_header_ + 4, udp_length);
        // A partial checksum, as a sending socket leaves it for the NIC: the pseudo-header's
        // sum, not complemented; whoever completes it adds the UDP header and payload.
        put16(ip + ip_header_ + 6, fold(pseudo + ip_proto::udp + static_cast<std::uint32_t>(udp_length)));
        h = vnet_header{};
        h.flags = needs_checksum;
        h.gso_type = vnet_gso_udp_l4;
        h.hdr_len = static_cast<std::uint16_t>(ip_header_ + udp_header);
        h.gso_size = static_cast<std::uint16_t>(segment_);
        h.csum_start = static_cast<std::uint16_t>(ip_header_);
        h.csum_offset = 6;
    }
    std::memcpy(buf_.data(), &h, sizeof h);
    const std::span<const std::byte> out{buf_.data(), vnet_header_size + length_};
    count_ = 0;
    return out;
}

}  // namespace nettool::detail
