#pragma once
// Broadcast on one segment: UDP to 255.255.255.255 or the interface's directed broadcast
// (SO_BROADCAST), raw Ethernet frames to ff:ff:ff:ff:ff:ff with a chosen EtherType (libpcap
// pcap_inject), Wake-on-LAN magic packets, and a listener that shows what arrives. Frames and
// datagrams from outside are decoded through one bounds-checked cursor.

#include <nettool/core/export.hpp>
#include <nettool/core/report.hpp>
#include <nettool/net/address.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool {

/// IEEE 802 local experimental EtherType 1, the default for raw broadcast frames.
inline constexpr std::uint16_t ethertype_local_experimental = 0x88B5;
/// The EtherType Wake-on-LAN tools use for raw magic packets.
inline constexpr std::uint16_t ethertype_wake_on_lan = 0x0842;
inline constexpr std::uint16_t wol_udp_port = 9;

// ---------------------------------------------------------------- building bytes

/// dst, src, EtherType, payload, zero-padded to the 60-byte minimum (without FCS).
std::vector<std::byte> build_ethernet_frame(const mac_address& dst, const mac_address& src,
                                            std::uint16_t ethertype, std::span<const std::byte> payload);

/// Wake-on-LAN magic packet: 6 x 0xFF, then the target MAC 16 times, then the optional SecureOn
/// password (4 or 6 bytes).
std::vector<std::byte> build_wol_payload(const mac_address& target,
                                         std::span<const std::uint8_t> password = {});

/// A SecureOn password: six hex octets like a MAC ("aa:bb:cc:dd:ee:ff") or four dotted decimal
/// octets ("192.0.2.1" form). nullopt when it is neither.
std::optional<std::vector<std::uint8_t>> parse_wol_password(std::string_view text) noexcept;

/// "0x88b5", "88b5h" style hex or decimal; only EtherType values (>= 0x0600). nullopt otherwise.
std::optional<std::uint16_t> parse_ethertype(std::string_view text) noexcept;

// ---------------------------------------------------------------- parsing bytes

/// An Ethernet II frame (an 802.1Q tag, when present, is skipped and its VLAN kept).
struct ethernet_frame {
    mac_address destination;
    mac_address source;
    std::uint16_t ethertype = 0;
    std::optional<std::uint16_t> vlan;
    std::span<const std::byte> payload;
};
/// Parses the 14-byte header (18 with a VLAN tag); sets ec to errc::truncated when short (and
/// returns an empty frame).
ethernet_frame parse_ethernet_frame(std::span<const std::byte> frame,
                                                   std::error_code& ec) noexcept;

/// A parsed magic packet: the MAC repeated 16 times after the sync stream, and the password.
struct wol_packet {
    mac_address target;
    std::vector<std::uint8_t> password;  ///< empty, 4 or 6 bytes
    bool operator==(const wol_packet&) const = default;
};
/// Finds the sync stream (6 x 0xFF) and checks the 16 repetitions; errc::truncated when the
/// payload ends inside them, errc::malformed when a repetition differs or no sync stream exists.
wol_packet parse_wol_payload(std::span<const std::byte> payload, std::error_code& ec) noexcept;

// ---------------------------------------------------------------- sending

/// What an interface offers for broadcast: index, MAC, IPv4 address and directed broadcast.
struct broadcast_interface {
    std::string name;
    unsigned index = 0;
    std::optional<mac_address> mac;
    std::optional<ip_prefix> ipv4;
    std::optional<ip_address> directed_broadcast;
};
/// Looks the interface up; errc::unknown_interface when there is none of that name.
broadcast_interface find_broadcast_interface(const std::string& name, std::error_code& ec) noexcept;

/// Sends one UDP datagram with SO_BROADCAST, bound to the interface (SO_BINDTODEVICE).
void send_udp_broadcast(const std::string& interface, const ip_address& destination, std::uint16_t port,
                        std::span<const std::byte> payload, std::error_code& ec) noexcept;

/// Opens the interface for raw frame injection. errc::permission_denied without CAP_NET_RAW,
/// errc::unknown_interface for a missing interface.
class frame_sender {
public:
    frame_sender() noexcept = default;
    ~frame_sender();
    frame_sender(const frame_sender&) = delete;
    frame_sender& operator=(const frame_sender&) = delete;
    frame_sender(frame_sender&& o) noexcept : handle_(o.handle_) { o.handle_ = nullptr; }
    frame_sender& operator=(frame_sender&&) = delete;

    void open(const std::string& interface, std::error_code& ec) noexcept;
    /// Injects one complete frame (no FCS).
    void send(std::span<const std::byte> frame, std::error_code& ec) noexcept;

private:
    void* handle_ = nullptr;  // pcap_t*, kept opaque so this header does not include pcap.h
};

// ---------------------------------------------------------------- listening

/// One thing that arrived.
struct received_message {
    std::string source;       ///< "192.0.2.10:40000" or the source MAC
    std::string destination;  ///< destination MAC for frames; empty for UDP
    std::optional<std::uint16_t> ethertype;
    std::size_t size = 0;  ///< payload bytes (frame: after the Ethernet header, padding included)
    std::string text;      ///< the payload with non-printable bytes as \xNN, trailing zero padding cut
    std::optional<wol_packet> wake_on_lan;
    bool operator==(const received_message&) const = default;
};
void to_json(nlohmann::json& j, const received_message& m);

/// Renders bytes as text: printable ASCII as is, others as \xNN; trailing NUL padding dropped.
std::string printable_text(std::span<const std::byte> payload);

struct listen_options {
    std::string interface;  ///< required for raw frames; optional for UDP
    std::optional<std::uint16_t> udp_port;
    bool ether = false;                      ///< raw frames to ff:ff:ff:ff:ff:ff
    std::optional<std::uint16_t> ethertype;  ///< raw: only this EtherType (default: any)
    std::size_t count = 0;                   ///< stop after this many (0: until timeout)
    std::chrono::milliseconds timeout{0};    ///< stop after this long (0: no limit)
};

// ---------------------------------------------------------------- reports (docs/netclass.md)

/// What `nettool broadcast` sent.
struct broadcast_result {
    std::string interface {};
    bool udp = true;           ///< UDP datagrams; false: raw Ethernet frames to ff:ff:ff:ff:ff:ff
    ip_address destination{};  ///< UDP: 255.255.255.255 or the interface's directed broadcast
    std::uint16_t port = 0;    ///< UDP destination port
    mac_address source_mac{};  ///< raw frames: the interface's MAC
    std::uint16_t ethertype = ethertype_local_experimental;  ///< raw frames
    int sent = 0;                                            ///< messages sent
    std::size_t bytes = 0;                                   ///< UDP payload bytes, or whole frames
    double interval_s = 0;                                   ///< between messages
    bool operator==(const broadcast_result&) const = default;
};
/// One row (interface, mode, destination, sent, bytes) and a reading that says how far a
/// broadcast goes. JSON body: interface, mode, destination, port (UDP) or source_mac and
/// ethertype (raw frames), sent, bytes, interval_s.
report make_report(const broadcast_result& r);

/// What `nettool wol` sent.
struct wol_result {
    mac_address target{};  ///< the machine to wake
    std::string interface {};
    bool udp = false;                   ///< UDP broadcast; false: raw frame with EtherType 0x0842
    ip_address destination{};           ///< UDP only
    std::uint16_t port = wol_udp_port;  ///< UDP only
    std::size_t payload_bytes = 0;
    bool password = false;  ///< a SecureOn password was appended
    int sent = 0;           ///< magic packets sent
    bool operator==(const wol_result&) const = default;
};
/// One row (target, interface, how it was sent, payload) and a reading of when the machine wakes.
/// JSON body: target, interface, mode, destination, ethertype (raw frames), payload_bytes,
/// password, sent.
report make_report(const wol_result& r);

/// Receives until count or timeout, calling on_message (may be empty) for each arrival as it
/// happens, and returns what arrived. errc::permission_denied when capture needs privileges,
/// errc::unknown_interface for a missing interface, errc::bad_argument for neither/both modes.
std::vector<received_message> listen(const listen_options& opts,
                                     const std::function<void(const received_message&)>& on_message,
                                     std::error_code& ec) noexcept;

}  // namespace nettool
NETTOOL_API_END
