#include <nettool/netclass/broadcast.hpp>
#include <nettool/core/cursor.hpp>
#include <nettool/core/error.hpp>
#include <nettool/netclass/netclass.hpp>


#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "packet/pcap_api.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nettool {

// ---------------------------------------------------------------- building bytes

std::vector<std::byte> build_ethernet_frame(const mac_address& dst, const mac_address& src,
                                            std::uint16_t ethertype, std::span<const std::byte> payload) {
    std::vector<std::byte> f;
    f.reserve(std::max<std::size_t>(60, 14 + payload.size()));
    for (auto b : dst.bytes) f.push_back(std::byte{b});
    for (auto b : src.bytes) f.push_back(std::byte{b});
    f.push_back(std::byte{static_cast<std::uint8_t>(ethertype >> 8)});
    f.push_back(std::byte{static_cast<std::uint8_t>(ethertype & 0xFFU)});
    f.insert(f.end(), payload.begin(), payload.end());
    if (f.size() < 60) f.resize(60, std::byte{0});
    return f;
}

std::vector<std::byte> build_wol_payload(const mac_address& target, std::span<const std::uint8_t> password) {
    std::vector<std::byte> p(6, std::byte{0xFF});
    p.reserve(102 + password.size());
    for (int i = 0; i < 16; ++i)
        for (auto b : target.bytes) p.push_back(std::byte{b});
    for (auto b : password) p.push_back(std::byte{b});
    return p;
}

std::optional<std::vector<std::uint8_t>> parse_wol_password(std::string_view text) noexcept {
    try {
        if (auto m = mac_address::parse(text))
            return std::vector<std::uint8_t>(m->bytes.begin(), m->bytes.end());
        if (auto a = ip_address::parse(text); a && a->is_v4())
            return std::vector<std::uint8_t>(a->bytes.begin(), a->bytes.begin() + 4);
    } catch (...) {
    }
    return std::nullopt;
}

std::optional<std::uint16_t> parse_ethertype(std::string_view text) noexcept {
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        text.remove_prefix(2);
        base = 16;
    }
    if (text.empty() || text.size() > 5) return std::nullopt;
    unsigned v = 0;
    const auto [ptr, e] = std::from_chars(text.data(), text.data() + text.size(), v, base);
    if (e != std::errc{} || ptr != text.data() + text.size() || v < 0x0600 || v > 0xFFFF) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

// ---------------------------------------------------------------- parsing bytes

namespace {

mac_address read_mac(cursor& r) noexcept {
    mac_address m;
    for (auto& b : m.bytes) b = r.u8();
    return m;
}

}  // namespace

ethernet_frame parse_ethernet_frame(std::span<const std::byte> frame,
                                                   std::error_code& ec) noexcept {
    ec.clear();
    cursor r(frame);
    ethernet_frame f;
    f.destination = read_mac(r);
    f.source = read_mac(r);
    f.ethertype = r.u16();
    if (f.ethertype == 0x8100 || f.ethertype == 0x88A8) {
        f.vlan = static_cast<std::uint16_t>(r.u16() & 0x0FFFU);
        f.ethertype = r.u16();
    }
    if (!r.ok()) {
        ec = make_error_code(errc::truncated);
        return {};
    }
    f.payload = r.rest();
    return f;
}

wol_packet parse_wol_payload(std::span<const std::byte> payload,
                                            std::error_code& ec) noexcept {
    ec.clear();
    // Find the sync stream: six 0xFF bytes.
    cursor scan(payload);
    int run = 0;
    while (run < 6 && !scan.empty()) run = scan.u8() == 0xFF ? run + 1 : 0;
    if (run < 6) {
        ec = make_error_code(payload.empty() || run > 0 ? errc::truncated : errc::malformed);
        return {};
    }
    // More 0xFF may follow when the MAC itself starts with 0xFF; the 16 copies fill 96 bytes.
    cursor r(scan.rest());
    wol_packet w;
    w.target = read_mac(r);
    for (int i = 1; i < 16; ++i) {
        const auto again = read_mac(r);
        if (!r.ok()) break;
        if (again != w.target) {
            ec = make_error_code(errc::malformed);
            return {};
        }
    }
    if (!r.ok()) {
        ec = make_error_code(errc::truncated);
        return {};
    }
    const std::size_t left = r.remaining();
    if (left == 4 || left == 6) {
        try {
            for (std::size_t i = 0; i < left; ++i) w.password.push_back(r.u8());
        } catch (...) {
            ec = std::make_error_code(std::errc::not_enough_memory);
            return {};
        }
    }
    return w;
}

std::string printable_text(std::span<const std::byte> payload) {
    std::size_t n = payload.size();
    while (n > 0 && payload[n - 1] == std::byte{0}) --n;
    std::string s;
    s.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = std::to_integer<unsigned char>(payload[i]);
        if (c == '\\')
            s += "\\\\";
        else if (c >= 0x20 && c < 0x7F)
            s.push_back(static_cast<char>(c));
        else
            s += fmt::format("\\x{:02x}", c);
    }
    return s;
}

void to_json(nlohmann::json& j, const received_message& m) {
    j = nlohmann::json::object();
    j["source"] = m.source;
    if (!m.destination.empty()) j["destination"] = m.destination;
    if (m.ethertype) j["ethertype"] = fmt::format("0x{:04x}", *m.ethertype);
    j["size"] = m.size;
    j["text"] = m.text;
    if (m.wake_on_lan) {
        j["wake_on_lan"] = {{"target", m.wake_on_lan->target.to_string()}};
        if (!m.wake_on_lan->password.empty()) {
            std::string pw;
            for (auto b : m.wake_on_lan->password) pw += fmt::format("{}{:02x}", pw.empty() ? "" : ":", b);
            j["wake_on_lan"]["password"] = pw;
        }
    }
}

// ---------------------------------------------------------------- sending

broadcast_interface find_broadcast_interface(const std::string& name, std::error_code& ec) noexcept {
    ec.clear();
    broadcast_interface b;
    try {
        b.name = name;
        b.index = name.size() < IF_NAMESIZE ? ::if_nametoindex(name.c_str()) : 0;
        if (b.index == 0) {
            ec = make_error_code(errc::unknown_interface);
            return b;
        }
        const auto all = list_interfaces(ec);
        if (ec) return b;
        for (const auto& i : all) {
            if (i.name != name) continue;
            b.mac = i.mac;
            for (const auto& a : i.addresses) {
                if (!a.prefix.address.is_v4()) continue;
                b.ipv4 = a.prefix;
                b.directed_broadcast = a.broadcast ? a.broadcast : a.prefix.broadcast();
                break;
            }
        }
    } catch (...) {
        ec = std::make_error_code(std::errc::not_enough_memory);
    }
    return b;
}

void send_udp_broadcast(const std::string& interface, const ip_address& destination, std::uint16_t port,
                        std::span<const std::byte> payload, std::error_code& ec) noexcept {
    ec.clear();
    if (!destination.is_v4()) {
        ec = make_error_code(errc::bad_address);
        return;
    }
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ec.assign(errno, std::system_category());
        return;
    }
    const int on = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(),
                     static_cast<socklen_t>(interface.size() + 1)) != 0) {
        ec = errno == EPERM ? make_error_code(errc::permission_denied)
                            : std::error_code(errno, std::system_category());
        ::close(fd);
        return;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    std::memcpy(&to.sin_addr, destination.bytes.data(), 4);
    if (::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) <
        0)
        ec.assign(errno, std::system_category());
    ::close(fd);
}

namespace {

// Opens a pcap handle; maps libpcap's failures to nettool errors.
pcap_t* open_pcap(const std::string& interface, bool immediate, std::error_code& ec) noexcept {
    if (interface.size() >= IF_NAMESIZE || ::if_nametoindex(interface.c_str()) == 0) {
        ec = make_error_code(errc::unknown_interface);
        return nullptr;
    }
    char err[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = detail::pcap().create(interface.c_str(), err);
    if (p == nullptr) {
        ec = make_error_code(errc::unknown_interface);
        return nullptr;
    }
    detail::pcap().set_snaplen(p, 2048);
    detail::pcap().set_timeout(p, 100);
    if (immediate) detail::pcap().set_immediate_mode(p, 1);
    const int rc = detail::pcap().activate(p);
    if (rc < 0) {
        if (rc == PCAP_ERROR_PERM_DENIED)
            ec = make_error_code(errc::permission_denied);
        else if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
            ec = make_error_code(errc::unknown_interface);
        else
            ec = std::make_error_code(std::errc::io_error);
        detail::pcap().close(p);
        return nullptr;
    }
    if (detail::pcap().datalink(p) != DLT_EN10MB) {
        ec = make_error_code(errc::unsupported_link_type);
        detail::pcap().close(p);
        return nullptr;
    }
    return p;
}

}  // namespace

frame_sender::~frame_sender() {
    if (handle_ != nullptr) detail::pcap().close(static_cast<pcap_t*>(handle_));
}

void frame_sender::open(const std::string& interface, std::error_code& ec) noexcept {
    ec.clear();
    if (handle_ != nullptr) detail::pcap().close(static_cast<pcap_t*>(handle_));
    handle_ = open_pcap(interface, false, ec);
}

void frame_sender::send(std::span<const std::byte> frame, std::error_code& ec) noexcept {
    ec.clear();
    if (handle_ == nullptr) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return;
    }
    if (detail::pcap().inject(static_cast<pcap_t*>(handle_), frame.data(), frame.size()) < 0) {
        ec = errno == EPERM || errno == EACCES ? make_error_code(errc::permission_denied)
                                               : std::make_error_code(std::errc::io_error);
    }
}

// ---------------------------------------------------------------- listening

namespace {

using clock_type = std::chrono::steady_clock;

bool time_left(const listen_options& o, clock_type::time_point deadline) {
    return o.timeout.count() <= 0 || clock_type::now() < deadline;
}

std::vector<received_message> listen_udp(const listen_options& o, clock_type::time_point deadline,
                                         const std::function<void(const received_message&)>& cb,
                                         std::error_code& ec) {
    std::vector<received_message> got;
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ec.assign(errno, std::system_category());
        return got;
    }
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (!o.interface.empty() && ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o.interface.c_str(),
                                             static_cast<socklen_t>(o.interface.size() + 1)) != 0) {
        ec = errno == EPERM ? make_error_code(errc::permission_denied)
                            : std::error_code(errno, std::system_category());
        ::close(fd);
        return got;
    }
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(*o.udp_port);
    any.sin_addr.s_addr = htonl(INADDR_ANY);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0) {
        ec.assign(errno, std::system_category());
        ::close(fd);
        return got;
    }
    std::vector<std::byte> buf(65536);
    while ((o.count == 0 || got.size() < o.count) && time_left(o, deadline)) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        sockaddr_in from{};
        socklen_t len = sizeof from;
        const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) continue;
        const std::span<const std::byte> data(buf.data(), static_cast<std::size_t>(n));
        received_message m;
        char addr[INET_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET, &from.sin_addr, addr, sizeof addr);
        m.source = fmt::format("{}:{}", addr, ntohs(from.sin_port));
        m.size = data.size();
        m.text = printable_text(data);
        std::error_code wec;
        auto w = parse_wol_payload(data, wec);
        if (!wec) m.wake_on_lan = std::move(w);
        if (cb) cb(m);
        got.push_back(std::move(m));
    }
    ::close(fd);
    return got;
}

struct capture_state {
    const listen_options* opts;
    const std::function<void(const received_message&)>* cb;
    std::vector<received_message>* got;
};

std::vector<received_message> listen_ether(const listen_options& o, clock_type::time_point deadline,
                                           const std::function<void(const received_message&)>& cb,
                                           std::error_code& ec) {
    std::vector<received_message> got;
    pcap_t* p = open_pcap(o.interface, true, ec);
    if (p == nullptr) return got;
    std::string filter = "ether broadcast";
    if (o.ethertype) filter += fmt::format(" and ether proto 0x{:04x}", *o.ethertype);
    bpf_program prog{};
    if (detail::pcap().compile(p, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0) {
        detail::pcap().setfilter(p, &prog);
        detail::pcap().freecode(&prog);
    }
    detail::pcap().setdirection(p, PCAP_D_IN);
    // Immediate mode ignores the read timeout, so wait with poll() and read without blocking.
    char err[PCAP_ERRBUF_SIZE] = {};
    detail::pcap().setnonblock(p, 1, err);
    const int fd = detail::pcap().get_selectable_fd(p);
    while ((o.count == 0 || got.size() < o.count) && time_left(o, deadline)) {
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        const int rc = detail::pcap().next_ex(p, &hdr, &data);
        if (rc == 0) {  // nothing buffered: wait up to 100 ms, then check the deadline
            pollfd pfd{fd, POLLIN, 0};
            if (fd >= 0)
                ::poll(&pfd, 1, 100);
            else
                ::usleep(10000);
            continue;
        }
        if (rc < 0) {
            ec = std::make_error_code(std::errc::io_error);
            break;
        }
        const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), hdr->caplen);
        std::error_code fec;
        const auto frame = parse_ethernet_frame(bytes, fec);
        if (fec || !frame.destination.is_broadcast()) continue;
        const auto* f = &frame;
        received_message m;
        m.source = f->source.to_string();
        m.destination = f->destination.to_string();
        m.ethertype = f->ethertype;
        m.size = f->payload.size();
        m.text = printable_text(f->payload);
        std::error_code wec;
        auto w = parse_wol_payload(f->payload, wec);
        if (!wec) m.wake_on_lan = std::move(w);
        if (cb) cb(m);
        got.push_back(std::move(m));
    }
    detail::pcap().close(p);
    return got;
}

}  // namespace

std::vector<received_message> listen(const listen_options& opts,
                                     const std::function<void(const received_message&)>& on_message,
                                     std::error_code& ec) noexcept {
    ec.clear();
    try {
        if (opts.ether == opts.udp_port.has_value()) {
            ec = make_error_code(errc::bad_argument);
            return {};
        }
        const auto deadline = clock_type::now() + opts.timeout;
        if (opts.ether) {
            if (opts.interface.empty()) {
                ec = make_error_code(errc::bad_argument);
                return {};
            }
            return listen_ether(opts, deadline, on_message, ec);
        }
        if (!opts.interface.empty() && ::if_nametoindex(opts.interface.c_str()) == 0) {
            ec = make_error_code(errc::unknown_interface);
            return {};
        }
        return listen_udp(opts, deadline, on_message, ec);
    } catch (...) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return {};
    }
}

}  // namespace nettool
