// The reports of `nettool broadcast` and `nettool wol` (docs/netclass.md): one row of what was
// sent, a reading, and the JSON body.
#include <nettool/netclass/broadcast.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nettool {

namespace {
const std::string all_stations = "ff:ff:ff:ff:ff:ff";
}  // namespace

report make_report(const broadcast_result& b) {
    report r{"broadcast"};
    r.data()["interface"] = b.interface;
    r.data()["mode"] = b.udp ? "udp" : "ether";
    if (b.udp) {
        r.data()["destination"] = b.destination.to_string();
        r.data()["port"] = b.port;
    } else {
        r.data()["destination"] = all_stations;
        r.data()["source_mac"] = b.source_mac.to_string();
        r.data()["ethertype"] = fmt::format("0x{:04x}", b.ethertype);
    }
    r.data()["sent"] = b.sent;
    r.data()["bytes"] = b.bytes;
    r.data()["interval_s"] = b.interval_s;
    table t{"", {"interface", "mode", "destination", "sent", "bytes"}, {}};
    t.add_row({b.interface, b.udp ? "UDP" : fmt::format("Ethernet 0x{:04x}", b.ethertype),
               b.udp ? fmt::format("{}:{}", b.destination.to_string(), b.port) : all_stations,
               std::to_string(b.sent), format_bytes(static_cast<double>(b.bytes))});
    r.add_table(std::move(t));
    r.add_reading(
        fmt::format("{} broadcast message(s) sent on {}; every host on that segment receives them, "
                    "no router forwards them.",
                    b.sent, b.interface));
    return r;
}

report make_report(const wol_result& w) {
    report r{"wol"};
    r.data()["target"] = w.target.to_string();
    r.data()["interface"] = w.interface;
    r.data()["mode"] = w.udp ? "udp" : "ether";
    r.data()["destination"] = w.udp ? fmt::format("{}:{}", w.destination.to_string(), w.port) : all_stations;
    if (!w.udp) r.data()["ethertype"] = "0x0842";
    r.data()["payload_bytes"] = w.payload_bytes;
    r.data()["password"] = w.password;
    r.data()["sent"] = w.sent;
    table t{"", {"target", "interface", "sent as", "payload"}, {}};
    t.add_row({w.target.to_string(), w.interface,
               w.udp ? fmt::format("UDP to {}:{}", w.destination.to_string(), w.port)
                     : "Ethernet 0x0842 to ff:ff:ff:ff:ff:ff",
               fmt::format("{} bytes{}", w.payload_bytes, w.password ? " (with SecureOn password)" : "")});
    r.add_table(std::move(t));
    r.add_reading(
        fmt::format("Magic packet for {} sent {} time(s); the machine wakes if its NIC has WoL enabled "
                    "and it sits on {}'s segment.",
                    w.target.to_string(), w.sent, w.interface));
    return r;
}

}  // namespace nettool
