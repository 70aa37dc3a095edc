#pragma once
// What a probe's own traffic looked like on the wire: a libpcap capture of the run, on the
// interface that reaches the target, filtered to the test's port, then inspected. Lets a report
// set TCP retransmissions and duplicate ACKs seen on the wire beside what the application and the
// kernel reported, and UDP datagrams on the wire beside those the application counted.

#include <nettool/core/export.hpp>
#include <nettool/core/error.hpp>
#include <nettool/packet/capture.hpp>
#include <nettool/net/endpoint.hpp>
#include <nettool/packet/inspect.hpp>
#include <nettool/core/report.hpp>

#include <memory>
#include <string>
#include <system_error>

NETTOOL_API_BEGIN
namespace nettool {

struct wire_view {
    std::string file;
    std::string interface;
    std::string filter;
    capture_stats capture;
    port_totals tcp;  ///< conversations with the target's port
    port_totals udp;
    bool operator==(const wire_view&) const = default;
};
void to_json(nlohmann::json& j, const wire_view& w);

class wire_recorder {
public:
    /// Opens a capture of traffic to and from target's port on `interface` (the one that reaches
    /// it: netclass's interface_for) and starts it. Throws nettool::error as capture_session::open
    /// (permission_denied without CAP_NET_RAW); unknown_interface when interface is empty.
    static std::unique_ptr<wire_recorder> start(const socket_address& target, const std::string& interface,
                                                const std::string& file);
    static std::unique_ptr<wire_recorder> start(const socket_address& target, const std::string& interface,
                                                const std::string& file, std::error_code& ec) noexcept;
    ~wire_recorder();
    wire_recorder(const wire_recorder&) = delete;
    wire_recorder& operator=(const wire_recorder&) = delete;

    /// Stops the capture (file flushed) and inspects it.
    /// Throws nettool::error as inspect_file when the capture cannot be read back.
    wire_view finish();
    wire_view finish(std::error_code& ec) noexcept;

private:
    wire_recorder() = default;
    std::unique_ptr<capture_session> session_;
    wire_view view_;
    std::uint16_t port_ = 0;
};

/// Adds an "on the wire" table and readings to a report. kernel_retransmits and app counts are
/// what the probes reported, for comparison; pass what applies.
struct wire_comparison {
    std::uint64_t kernel_retransmits = 0;
    std::uint64_t udp_sent_by_app = 0;      ///< datagrams the application handed to the kernel
    std::uint64_t udp_counted_by_peer = 0;  ///< datagrams the responder (or client) counted
};
void add_wire_view(report& rep, const wire_view& w, const wire_comparison& app);

}  // namespace nettool
NETTOOL_API_END
