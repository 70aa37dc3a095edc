// The reports of `nettool netmask` and `nettool classify` (docs/netclass.md): tables, readings
// and the JSON body, and the bulk lines classify streams for long address lists.
#include <nettool/netclass/netclass.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iterator>

namespace nettool {

std::string destination_counts::sentence() const {
    return fmt::format("{} address(es): {} loopback, {} self, {} local, {} remote, {} unreachable.", total,
                       (*this)[destination_kind::loopback], (*this)[destination_kind::self],
                       (*this)[destination_kind::local], (*this)[destination_kind::remote],
                       (*this)[destination_kind::unreachable]);
}

report make_report(const prefix_summary& s) {
    const auto& p = s.prefix;
    report r{"netmask"};
    nlohmann::json j = s;
    for (auto& [k, v] : j.items()) r.data()[k] = v;

    table t{fmt::format("{} ({})", p.to_string(), p.address.is_v4() ? "IPv4" : "IPv6"),
            {"", "value", "binary"},
            {}};
    t.add_row({"address", p.address.to_string(), p.address.to_binary()});
    t.add_row({"netmask", fmt::format("{} = /{}", s.netmask.to_string(), p.length), s.netmask.to_binary()});
    t.add_row({"wildcard", s.wildcard.to_string(), s.wildcard.to_binary()});
    t.add_row({"network", fmt::format("{}/{}", s.network.to_string(), p.length), s.network.to_binary()});
    if (s.broadcast)
        t.add_row({"broadcast", s.broadcast->to_string(), s.broadcast->to_binary()});
    else
        t.add_row({"broadcast", p.address.is_v4() ? "none (RFC 3021)" : "none (IPv6)", ""});
    t.add_row({"first host", s.first_host.to_string(), ""});
    t.add_row({"last host", s.last_host.to_string(), ""});
    t.add_row({"hosts", s.hosts, ""});
    r.add_table(std::move(t));
    r.add_reading(
        fmt::format("An address is on this network when its first {} bits equal those of {}; "
                    "the other {} bits number the host.",
                    p.length, s.network.to_string(), p.address.bit_width() - p.length));
    if (p.address.is_v4() && p.length == 31)
        r.add_reading(
            "A /31 is a point-to-point link (RFC 3021): both addresses are hosts, there is no broadcast.");
    return r;
}

report make_report(const host_view& view) {
    report r{"classify"};
    table ifs{"Interfaces", {"index", "name", "flags", "mtu", "mac", "address", "broadcast"}, {}};
    for (const auto& i : view.interfaces) {
        std::string first_addr = "-";
        std::string first_bcast = "-";
        if (!i.addresses.empty()) {
            first_addr = i.addresses[0].prefix.to_string();
            if (i.addresses[0].broadcast) first_bcast = i.addresses[0].broadcast->to_string();
        }
        ifs.add_row({std::to_string(i.index), i.name, i.flag_names(), std::to_string(i.mtu),
                     i.mac ? i.mac->to_string() : "-", first_addr, first_bcast});
        for (std::size_t k = 1; k < i.addresses.size(); ++k)
            ifs.add_row({"", "", "", "", "", i.addresses[k].prefix.to_string(),
                         i.addresses[k].broadcast ? i.addresses[k].broadcast->to_string() : "-"});
    }
    table rt{"Routes (main table)", {"destination", "gateway", "interface", "metric", "type"}, {}};
    for (const auto& e : view.routes) {
        if (e.table != 254) continue;
        rt.add_row({fmt::format("{}/{}", e.destination.network().to_string(), e.destination.length),
                    e.gateway ? e.gateway->to_string() : "on-link", e.interface.empty() ? "-" : e.interface,
                    std::to_string(e.metric), to_string(e.type)});
    }
    r.data()["interfaces"] = view.interfaces;
    auto& routes = r.data()["routes"] = nlohmann::json::array();
    for (const auto& e : view.routes)
        if (e.table == 254) routes.push_back(e);
    r.add_table(std::move(ifs));
    r.add_table(std::move(rt));
    r.add_reading("Give addresses to classify them: nettool classify 192.0.2.7 198.51.100.1");
    return r;
}

report make_report(std::span<const classification> results, bool explain) {
    report r{"classify"};
    auto& json_results = r.data()["results"] = nlohmann::json::array();
    table summary{"", {"address", "kind", "interface", "gateway", "source", "route"}, {}};
    destination_counts counts;
    std::vector<table> whys;
    for (const auto& c : results) {
        counts.add(c.kind);
        nlohmann::json j = c;
        std::vector<std::string> lines;
        if (explain) {
            lines = nettool::explain(c);
            j["explanation"] = lines;
        }
        json_results.push_back(std::move(j));
        summary.add_row(
            {c.address.to_string(), to_string(c.kind), c.interface.empty() ? "-" : c.interface,
             c.gateway ? c.gateway->to_string() : "-", c.source ? c.source->to_string() : "-",
             c.route ? fmt::format("{}/{}{}", c.route->destination.network().to_string(),
                                   c.route->destination.length, c.route->table == 255 ? " (local table)" : "")
                     : "-"});
        if (explain) {
            table why{fmt::format("Why {} is {}:", c.address.to_string(), to_string(c.kind)), {}, {}};
            for (auto& l : lines) why.add_row({"  " + l});
            whys.push_back(std::move(why));
        }
    }
    r.data()["count"] = results.size();
    r.add_table(std::move(summary));
    for (auto& w : whys) r.add_table(std::move(w));
    r.add_reading(counts.sentence());
    return r;
}

std::string bulk_header_line() {
    return fmt::format("{:<39} {:<11} {:<15} {}\n", "address", "kind", "interface", "gateway");
}

void append_bulk_line(std::string& out, const classification& c) {
    fmt::format_to(std::back_inserter(out), "{:<39} {:<11} {:<15} {}\n", c.address.to_string(),
                   to_string(c.kind), c.interface.empty() ? "-" : c.interface,
                   c.gateway ? c.gateway->to_string() : "-");
}

}  // namespace nettool
