#include <nettool/tls/tls_probe.hpp>

#include <nettool/packet/capture_file.hpp>
#include <nettool/packet/flow_timeline.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nettool {

tls_wire_view tls_on_wire(const std::string& capture, const tls_result& r) {
    tls_wire_view w;
    w.client = r.local;
    w.server = r.target;
    w.app_tcp_handshake = r.timeline.connect;
    w.app_tls_handshake = r.timeline.handshake;
    w.app_flights = r.first.flights;
    auto file = capture_file::open(capture);
    const auto& cf = r.first.client_flight_ends;
    const auto& sf = r.first.server_flight_ends;
    const auto t = find_tcp_flow(file, {r.local, r.target, cf, sf});
    if (!t.syn || !t.ack) return w;
    w.found = true;
    const auto at = [&](const char* what, std::optional<wire_time> when) {
        w.events.emplace_back(what);
        w.seen.push_back(when.has_value());
        w.times.push_back(when ? *when - *t.syn : std::chrono::nanoseconds{0});
    };
    at("SYN", t.syn);
    at("SYN/ACK", t.syn_ack);
    at("ACK: TCP established", t.ack);
    w.tcp_handshake = *t.ack - *t.syn;
    // The flights in the order the client saw them: client 1, server 1, client 2, ...
    std::optional<wire_time> last, previous;
    bool alternating = true;
    for (std::size_t k = 0; k < std::max(cf.size(), sf.size()); ++k) {
        for (int side = 0; side < 2; ++side) {
            const auto& ends = side == 0 ? cf : sf;
            const auto& reached = side == 0 ? t.client_reached : t.server_reached;
            if (k >= ends.size()) continue;
            const auto when = k < reached.size() ? reached[k] : std::nullopt;
            const std::string what = fmt::format("{} flight {}{} (through byte {})", side == 0 ? "client" : "server",
                                                 k + 1, side == 0 && k == 0 ? ": ClientHello" : "", ends[k]);
            w.events.push_back(what);
            w.seen.push_back(when.has_value());
            w.times.push_back(when ? *when - *t.syn : std::chrono::nanoseconds{0});
            if (!when) {
                alternating = false;
                continue;
            }
            if (previous && *when < *previous) alternating = false;
            // Server flight k after client flight k, everything so far in order: one round trip
            // the wire shows. (TLS 1.3's last client flight, its Finished, has no answer.)
            if (side == 1 && alternating && k < cf.size()) ++w.flights;
            previous = when;
            if (!last || *when > *last) last = when;
        }
    }
    const auto hello = t.client_reached.empty() ? std::nullopt : t.client_reached.front();
    if (hello && last) w.tls_handshake = *last - *hello;
    return w;
}

void to_json(nlohmann::json& j, const tls_wire_view& w) {
    auto events = nlohmann::json::array();
    for (std::size_t i = 0; i < w.events.size(); ++i)
        events.push_back({{"what", w.events[i]},
                          {"wire_us", w.seen[i] ? nlohmann::json(std::chrono::duration<double, std::micro>(w.times[i]).count())
                                                : nlohmann::json()}});
    const auto us = [](std::chrono::nanoseconds d) { return std::chrono::duration<double, std::micro>(d).count(); };
    j = {{"found", w.found},
         {"client", w.client.to_string()},
         {"server", w.server.to_string()},
         {"events", events},
         {"tcp_handshake_us", us(w.tcp_handshake)},
         {"tls_handshake_us", us(w.tls_handshake)},
         {"flights", w.flights},
         {"app_tcp_handshake_us", us(w.app_tcp_handshake)},
         {"app_tls_handshake_us", us(w.app_tls_handshake)},
         {"app_flights", w.app_flights}};
}

void add_tls_on_wire(report& rep, const tls_wire_view& w) {
    rep.data()["on_wire"] = w;
    if (!w.found) {
        rep.add_reading(fmt::format("On the wire: the connection from {} is not in the capture, so its flights cannot be counted.",
                                    w.client.to_string()));
        return;
    }
    table t{fmt::format("On the wire: the first timed connection ({} to {})", w.client.to_string(), w.server.to_string()),
            {"", "wire (from the SYN)"},
            {}};
    for (std::size_t i = 0; i < w.events.size(); ++i)
        t.add_row({w.events[i], w.seen[i] ? format_duration(w.times[i]) : "not seen"});
    rep.add_table(std::move(t));
    rep.add_reading(fmt::format(
        "On the wire the TCP handshake took {} (application {}) and the TLS handshake {} from the ClientHello to its "
        "last byte (application {}, which adds making the ClientHello); the capture shows {} {} where the client saw {}.",
        format_duration(w.tcp_handshake), format_duration(w.app_tcp_handshake), format_duration(w.tls_handshake),
        format_duration(w.app_tls_handshake), w.flights, w.flights == 1 ? "round trip" : "round trips", w.app_flights));
}

}  // namespace nettool
