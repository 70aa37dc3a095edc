#include "cmd_classify.hpp"

#include <nettool/net/address.hpp>
#include <nettool/core/error.hpp>
#include <nettool/packet/inspect.hpp>
#include <nettool/netclass/netclass.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <iostream>
#include <memory>

namespace nettool::cli {

namespace {

constexpr std::size_t explain_limit = 8;  // explanations are printed for at most this many addresses

std::string trim(std::string s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

report host_report(const host_view& v) {
    report r{"classify"};
    table ifs{"Interfaces", {"index", "name", "flags", "mtu", "mac", "address", "broadcast"}, {}};
    for (const auto& i : v.interfaces) {
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
    for (const auto& e : v.routes) {
        if (e.table != 254) continue;
        rt.add_row({fmt::format("{}/{}", e.destination.network().to_string(), e.destination.length),
                    e.gateway ? e.gateway->to_string() : "on-link", e.interface.empty() ? "-" : e.interface,
                    std::to_string(e.metric), to_string(e.type)});
    }
    r.data()["interfaces"] = v.interfaces;
    auto& routes = r.data()["routes"] = nlohmann::json::array();
    for (const auto& e : v.routes)
        if (e.table == 254) routes.push_back(e);
    r.add_table(std::move(ifs));
    r.add_table(std::move(rt));
    r.add_reading("Give addresses to classify them: nettool classify 192.0.2.7 198.51.100.1");
    return r;
}

// Bulk text: one line per address, streamed, then the totals.
int run_bulk_text(const bulk_classifier& fast, const std::vector<ip_address>& targets) {
    std::size_t counts[5] = {};
    fmt::memory_buffer out;
    fmt::format_to(std::back_inserter(out), "{:<39} {:<11} {:<15} {}\n", "address", "kind", "interface",
                   "gateway");
    for (const auto& t : targets) {
        const auto c = fast.classify(t);
        ++counts[static_cast<std::size_t>(c.kind)];
        fmt::format_to(std::back_inserter(out), "{:<39} {:<11} {:<15} {}\n", t.to_string(), to_string(c.kind),
                       c.interface.empty() ? "-" : c.interface, c.gateway ? c.gateway->to_string() : "-");
        if (out.size() > (1U << 16)) {
            std::fwrite(out.data(), 1, out.size(), stdout);
            out.clear();
        }
    }
    fmt::format_to(std::back_inserter(out),
                   "\n{} address(es): {} loopback, {} self, {} local, {} remote, {} unreachable.\n",
                   targets.size(), counts[0], counts[1], counts[2], counts[3], counts[4]);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    return counts[4] > 0 ? exit_failed : exit_ok;
}

}  // namespace

void setup_classify(CLI::App& app, context& ctx) {
    auto opts = std::make_shared<classify_options>();
    auto* sub = app.add_subcommand(
        "classify",
        "Is an address loopback, this host (self), on a directly connected network (local), behind a router "
        "(remote) or unreachable? Decided from this host's interfaces and routing table like 'ip route get'; "
        "nothing is sent. Without addresses, lists the interfaces and routes.");
    sub->add_option("address", opts->addresses, "IPv4 or IPv6 destination addresses");
    sub->add_option(
        "-f,--file", opts->file,
        "Classify the addresses in this file, one per line ('#' comments allowed); '-' reads stdin");
    sub->add_option("--pcap", opts->pcap,
                    "Classify both endpoints of every TCP/UDP conversation in this pcap or pcapng file");
    sub->add_flag("--explain", opts->explain, "Show the binary explanation even for more than 8 addresses");
    sub->add_flag("--no-explain", opts->no_explain, "Only the summary table, no binary explanation");
    sub->callback([opts, &ctx] { ctx.exit_status = run_classify(*opts, ctx); });
}

int run_classify(const classify_options& opts, const context& ctx) {
    std::vector<ip_address> targets;
    for (const auto& a : opts.addresses) {
        auto ip = ip_address::parse(a);
        if (!ip) return fail(fmt::format("'{}' is not an IPv4 or IPv6 address", a), exit_usage);
        targets.push_back(*ip);
    }
    if (!opts.file.empty()) {
        std::ifstream f;
        std::istream* in = &std::cin;
        if (opts.file != "-") {
            f.open(opts.file);
            if (!f) return fail(fmt::format("cannot open '{}'", opts.file), exit_usage);
            in = &f;
        }
        std::string line;
        for (std::size_t n = 1; std::getline(*in, line); ++n) {
            if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
            line = trim(line);
            if (line.empty()) continue;
            auto ip = ip_address::parse(line);
            if (!ip)
                return fail(
                    fmt::format("{} line {}: '{}' is not an IPv4 or IPv6 address", opts.file, n, line),
                    exit_usage);
            targets.push_back(*ip);
        }
    }

    if (!opts.pcap.empty()) {
        // Every distinct endpoint of the capture's conversations, in first-seen order.
        inspect_options io;
        io.max_flows = 1u << 20;
        inspect_result r;
        try {
            r = inspect_file(opts.pcap, io);
        } catch (const error& e) {
            return fail(fmt::format("--pcap {}: {}", opts.pcap, e.what()),
                        e.code() == errc::malformed ? exit_usage : exit_failed);
        }
        std::set<std::string> seen;
        for (const auto& c : r.conversations) {
            for (const auto* a : {&c.address_a, &c.address_b}) {
                if (!seen.insert(*a).second) continue;
                if (auto ip = ip_address::parse(*a)) targets.push_back(*ip);
            }
        }
    }
    const bool from_input = !opts.file.empty() || !opts.pcap.empty();

    std::error_code ec;
    const auto view = host_view::load(ec);
    if (ec) return fail("reading interfaces and routes", ec);
    if (targets.empty() && !from_input) {
        emit(ctx, host_report(view));
        return exit_ok;
    }

    const bool bulk = from_input || targets.size() > explain_limit;
    if (bulk && !ctx.global.json && !opts.explain) return run_bulk_text(bulk_classifier(view), targets);

    std::optional<bulk_classifier> fast;
    if (bulk) fast.emplace(view);
    const bool explain_each =
        !opts.no_explain && (opts.explain || (!from_input && targets.size() <= explain_limit));
    report r{"classify"};
    auto& results = r.data()["results"] = nlohmann::json::array();
    table summary{"", {"address", "kind", "interface", "gateway", "source", "route"}, {}};
    std::size_t counts[5] = {};
    std::size_t unreachable = 0;
    std::vector<table> whys;
    for (const auto& t : targets) {
        const auto c = fast ? fast->classify(t) : classify(view, t);
        ++counts[static_cast<std::size_t>(c.kind)];
        if (c.kind == destination_kind::unreachable) ++unreachable;
        nlohmann::json j = c;
        std::vector<std::string> lines;
        if (explain_each) {
            lines = explain(c);
            j["explanation"] = lines;
        }
        results.push_back(std::move(j));
        summary.add_row(
            {t.to_string(), to_string(c.kind), c.interface.empty() ? "-" : c.interface,
             c.gateway ? c.gateway->to_string() : "-", c.source ? c.source->to_string() : "-",
             c.route ? fmt::format("{}/{}{}", c.route->destination.network().to_string(),
                                   c.route->destination.length, c.route->table == 255 ? " (local table)" : "")
                     : "-"});
        if (explain_each && !ctx.global.json) {
            table why{fmt::format("Why {} is {}:", t.to_string(), to_string(c.kind)), {}, {}};
            for (auto& l : lines) why.add_row({"  " + l});
            whys.push_back(std::move(why));
        }
    }
    r.data()["count"] = targets.size();
    r.add_table(std::move(summary));
    for (auto& w : whys) r.add_table(std::move(w));
    r.add_reading(fmt::format("{} address(es): {} loopback, {} self, {} local, {} remote, {} unreachable.",
                              targets.size(), counts[0], counts[1], counts[2], counts[3], counts[4]));
    emit(ctx, r);
    return unreachable > 0 ? exit_failed : exit_ok;
}

}  // namespace nettool::cli
