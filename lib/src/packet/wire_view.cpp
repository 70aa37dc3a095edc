#include <nettool/packet/wire_view.hpp>

#include <nettool/net/address.hpp>
#include <nettool/core/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <thread>

namespace nettool {

std::unique_ptr<wire_recorder> wire_recorder::start(const socket_address& target, const std::string& interface,
                                                    const std::string& file) {
    std::unique_ptr<wire_recorder> r{new wire_recorder()};
    r->port_ = target.port();
    capture_options o;
    o.interface = interface;
    if (o.interface.empty())
        throw error(errc::unknown_interface, fmt::format("no interface reaches {}", target.address_string()));
    // Both directions of the test's own traffic, TCP and UDP, and nothing else.
    o.filter = fmt::format("host {} and port {}", target.address_string(), target.port());
    o.output_file = file;
    o.buffer_size = 64 << 20;  // streams run flat out; keep kernel drops rare
    o.snaplen = 128;           // headers are enough for the analysis
    // Buffered delivery: the kernel hands over packets in blocks (at the latest after libpcap's
    // 100 ms timeout) instead of waking the capture thread for every packet, a wake-up the
    // probe's own system calls would otherwise pay for and the on-wire check would then show.
    o.immediate = false;
    r->session_ = capture_session::open(o);
    r->view_.file = file;
    r->view_.interface = r->session_->interface();
    r->view_.filter = o.filter;
    r->session_->start();
    // libpcap is live once activated; a short pause lets the thread reach its loop.
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
    return r;
}

wire_recorder::~wire_recorder() {
    if (session_) session_->stop();
}

std::unique_ptr<wire_recorder> wire_recorder::start(const socket_address& target, const std::string& interface,
                                                    const std::string& file, std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return start(target, interface, file); });
}

wire_view wire_recorder::finish() {
    // The last block of packets is handed over when libpcap's 100 ms timeout retires it.
    std::this_thread::sleep_for(std::chrono::milliseconds{250});
    view_.capture = session_->stop();
    // A file that could not be written (full disk) is said to be so, not read back as malformed.
    if (const auto& ec = session_->output_error())
        throw error(ec, fmt::format("{} of {} packets written", view_.capture.written, view_.capture.captured));
    const auto r = inspect_file(view_.file);
    view_.tcp = totals_for_port(r, "tcp", port_);
    view_.udp = totals_for_port(r, "udp", port_);
    return view_;
}

wire_view wire_recorder::finish(std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return finish(); });
}

void to_json(nlohmann::json& j, const wire_view& w) {
    auto totals = [](const port_totals& t) {
        return nlohmann::json{{"conversations", t.conversations},
                              {"packets", t.packets},
                              {"bytes", t.bytes},
                              {"packets_to_port", t.packets_to_port},
                              {"packets_from_port", t.packets_from_port}};
    };
    j = {{"file", w.file},
         {"interface", w.interface},
         {"filter", w.filter},
         {"captured", w.capture.captured},
         {"dropped_kernel", w.capture.dropped_kernel},
         {"tcp", totals(w.tcp)},
         {"udp", totals(w.udp)}};
    j["tcp"]["retransmissions"] = w.tcp.tcp.retransmissions;
    j["tcp"]["duplicate_acks"] = w.tcp.tcp.duplicate_acks;
    j["tcp"]["out_of_order"] = w.tcp.tcp.out_of_order;
    j["tcp"]["resets"] = w.tcp.tcp.resets;
}

void add_wire_view(report& rep, const wire_view& w, const wire_comparison& app) {
    table t{
        fmt::format("On the wire ({} on {}, filter '{}')", w.file, w.interface, w.filter), {"", "count"}, {}};
    t.add_row({"packets captured", std::to_string(w.capture.captured)});
    t.add_row({"dropped by the capture (kernel)", std::to_string(w.capture.dropped_kernel)});
    t.add_row({"TCP conversations", std::to_string(w.tcp.conversations)});
    t.add_row({"TCP retransmissions seen on the wire", std::to_string(w.tcp.tcp.retransmissions)});
    t.add_row({"TCP retransmissions the kernel reported", std::to_string(app.kernel_retransmits)});
    t.add_row({"TCP duplicate ACKs", std::to_string(w.tcp.tcp.duplicate_acks)});
    t.add_row({"UDP datagrams to the port on the wire", std::to_string(w.udp.packets_to_port)});
    t.add_row({"UDP datagrams the application sent", std::to_string(app.udp_sent_by_app)});
    t.add_row({"UDP datagrams the receiver counted", std::to_string(app.udp_counted_by_peer)});
    rep.add_table(std::move(t));
    rep.data()["wire"] = w;
    if (w.capture.dropped_kernel > 0) {
        rep.add_reading(
            fmt::format("The capture itself dropped {} packets (its buffer overflowed), so on-wire counts "
                        "are a lower bound.",
                        w.capture.dropped_kernel));
    }
    if (app.udp_sent_by_app > 0) {
        rep.add_reading(
            fmt::format("On the wire: {} UDP datagrams went to the port; the application sent {} and the "
                        "receiver counted {}.",
                        w.udp.packets_to_port, app.udp_sent_by_app, app.udp_counted_by_peer));
    }
    rep.add_reading(
        fmt::format("On the wire: {} TCP retransmissions and {} duplicate ACKs (the kernel reported {} "
                    "retransmitted segments).",
                    w.tcp.tcp.retransmissions, w.tcp.tcp.duplicate_acks, app.kernel_retransmits));
}

}  // namespace nettool
