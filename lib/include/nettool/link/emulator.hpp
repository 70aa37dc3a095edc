#pragma once
// The link emulator: a new network namespace whose only path to this host is a pair of TUN
// devices with nettool's forwarding loops (one thread per direction, each owning a link::pipe)
// between them. Like mahimahi's mm-delay/mm-loss/mm-link, with netem's impairments.
//
//   host namespace                               the link's namespace
//   ntlinkN  100.64.N.1/30  2001:db8:6e74:N::1/64  <-- emulator -->  ntlink0  100.64.N.2  2001:db8:6e74:N::2
//
// Downlink is host -> namespace, uplink namespace -> host. Both TUN devices are non-persistent
// and the namespace is anonymous (held by file descriptors and by the processes inside it), so
// whatever way the process ends, SIGKILL included, the kernel removes them.

#include <nettool/core/export.hpp>
#include <nettool/core/report.hpp>
#include <nettool/link/impairment.hpp>
#include <nettool/net/address.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

NETTOOL_API_BEGIN
namespace nettool::link {

struct emulator_options {
    link_config link;
    std::string capture_file;  ///< pcap (raw IP) of every packet leaving the emulator, both directions
    std::size_t mtu = 1500;    ///< of both TUN devices
};

/// Where each end of the link is reached.
struct link_addresses {
    ip_address host_v4;  ///< the host's end: what COMMAND connects to (NETTOOL_LINK_HOST)
    ip_address peer_v4;  ///< the namespace's end (NETTOOL_LINK_PEER)
    ip_address host_v6;
    ip_address peer_v6;
    std::string host_interface;  ///< the TUN device in the host namespace
    std::string peer_interface;  ///< the TUN device inside the link's namespace
};

struct link_stats {
    direction_stats uplink;    ///< namespace -> host
    direction_stats downlink;  ///< host -> namespace
    std::uint64_t write_errors = 0;  ///< packets the kernel refused from a TUN write
    bool capture_failed = false;     ///< writing --capture's file failed (disk full, I/O error)
    std::error_code capture_error{};  ///< why, when capture_failed (after stop())
    std::uint64_t capture_written = 0;  ///< packets whole in --capture's file (after stop())
    std::uint64_t capture_offered = 0;  ///< packets the emulator tried to record (after stop())
    /// Packets the kernel dropped at the TUN device's queue before the loop read them (the
    /// emulator fell behind the sender); counted when the link stops, 0 before.
    std::uint64_t uplink_overflow = 0;
    std::uint64_t downlink_overflow = 0;
    std::chrono::nanoseconds elapsed{0};
};

void to_json(nlohmann::json& j, const direction_stats& s);
void to_json(nlohmann::json& j, const link_stats& s);

class emulator {
public:
    /// Builds the namespace, both TUN devices, their addresses and routes, and starts the two
    /// forwarding loops. Throws nettool::error: errc::permission_denied without CAP_NET_ADMIN
    /// (one sentence saying so), a system error when the kernel refuses a step.
    static std::unique_ptr<emulator> start(const emulator_options& opt);
    static std::unique_ptr<emulator> start(const emulator_options& opt, std::error_code& ec) noexcept;

    ~emulator();  ///< stop()s if still running
    emulator(const emulator&) = delete;
    emulator& operator=(const emulator&) = delete;

    const link_addresses& addresses() const noexcept;
    const emulator_options& options() const noexcept;
    /// A file descriptor of the link's network namespace (for setns); valid until destruction.
    int namespace_fd() const noexcept;

    /// Runs fn on a new thread that has entered the link's namespace (sockets it opens, and
    /// threads it starts, live there) and waits for it. An exception from fn is rethrown here.
    void run_inside(const std::function<void()>& fn) const;

    /// Starts argv[0] (searched in PATH) inside the link's namespace with NETTOOL_LINK_HOST,
    /// NETTOOL_LINK_HOST6, NETTOOL_LINK_PEER and NETTOOL_LINK_PEER6 in its environment; it dies
    /// with this process (PR_SET_DEATHSIG). Returns its pid; the caller waits for it. Throws a
    /// system error when fork fails; a program that cannot be run exits 127, as a shell's would.
    int spawn_inside(const std::vector<std::string>& argv) const;

    /// Starts `/bin/sh -c shell_command` on this host (this namespace), with the same
    /// environment, in a process group of its own: the caller ends it with kill(-pid, sig).
    int spawn_on_host(const std::string& shell_command) const;

    /// The counters so far (refreshed by the loops every 50 ms, and exactly at stop()).
    link_stats snapshot() const;
    /// Stops both loops, closes the devices and returns the final counters. Idempotent.
    link_stats stop() noexcept;

private:
    struct impl;
    explicit emulator(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

/// True when this process may build a link (root or CAP_NET_ADMIN with CAP_SYS_ADMIN).
bool have_link_privileges() noexcept;

/// The report of a finished (or running) link: per direction in/out/drops by cause/queue delay.
report make_report(const emulator_options& opt, const link_addresses& where, const link_stats& s);

/// Adds the link's tables, readings and JSON (under "link", with the `spec` it was built from)
/// to the report of what ran across it.
void add_link(report& rep, const emulator_options& opt, const link_addresses& where, const link_stats& s,
              std::string_view spec);

}  // namespace nettool::link
NETTOOL_API_END
