// The reports of `nettool dns`: lookup timing (system resolver beside each server, with the
// records dig would show) and load mode. Tables, readings and the JSON body (docs/JSON.md).
#include <nettool/dns/dns_timer.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nettool {

namespace {

std::string rcodes_text(const std::map<std::string, std::uint64_t>& rcodes) {
    std::string out;
    for (const auto& [name, n] : rcodes) {
        if (!out.empty()) out += ' ';
        out += fmt::format("{}:{}", name, n);
    }
    return out.empty() ? "-" : out;
}

/// Splits one ldns RR line (owner TTL class type rdata, tab separated) into table cells.
std::vector<std::string> rr_cells(std::string_view section, const std::string& rr) {
    std::vector<std::string> cells{std::string{section}};
    std::size_t start = 0;
    for (int field = 0; field < 4; ++field) {
        const auto tab = rr.find('\t', start);
        if (tab == std::string::npos) break;
        cells.push_back(rr.substr(start, tab - start));
        start = tab + 1;
    }
    cells.push_back(rr.substr(start));
    cells.resize(6);
    return cells;
}

table records_table(const dns_query_result& r) {
    const auto& rec = *r.last;
    table t{fmt::format("Response from {} ({}{}{})", r.server.to_string(), rec.rcode,
                        rec.authoritative ? ", authoritative" : "", rec.truncated ? ", truncated" : ""),
            {"section", "name", "ttl", "class", "type", "data"},
            {}};
    for (const auto& rr : rec.answer) t.add_row(rr_cells("answer", rr));
    for (const auto& rr : rec.authority) t.add_row(rr_cells("authority", rr));
    for (const auto& rr : rec.additional) t.add_row(rr_cells("additional", rr));
    if (t.rows.empty()) t.add_row({"(none)", "", "", "", "", ""});
    return t;
}

/// A latency cell of the timing table: "-" when nothing was measured.
std::string cell(bool any, double us) {
    return any ? format_duration_us(us) : "-";
}

}  // namespace

report make_report(const dns_timing_result& r) {
    const auto& q = r.query;
    report rep{"dns"};
    rep.data()["mode"] = "timing";
    rep.data()["name"] = q.name;
    rep.data()["type"] = dns_type_name(q.type);
    rep.data()["count"] = q.count;
    table t{fmt::format("DNS lookup times for {} {} ({} each)", q.name, dns_type_name(q.type), q.count),
            {"resolver", "transport", "answered", "timeouts", "first", "min", "p50", "mean", "max", "result"},
            {}};

    rep.data()["system"] = nullptr;
    if (r.system) {
        const auto& sr = *r.system;
        rep.data()["system"] = sr;
        const auto warm = latency_summary::from(sr.warm);
        const bool any = warm.count > 0;
        t.add_row({"system (getaddrinfo)", "A+AAAA", std::to_string(sr.lookups - sr.failures), "-",
                   sr.cold ? format_duration(*sr.cold) : "-", cell(any, warm.min_us), cell(any, warm.p50_us),
                   cell(any, warm.mean_us), cell(any, warm.max_us),
                   sr.failures == sr.lookups ? sr.error : fmt::format("{} addresses", sr.addresses.size())});
        if (sr.failures == sr.lookups) {
            rep.add_reading(fmt::format("getaddrinfo failed for {}: {}.", q.name, sr.error));
        } else {
            std::string addrs;
            for (const auto& a : sr.addresses) addrs += (addrs.empty() ? "" : ", ") + a;
            rep.add_reading(
                fmt::format("The system resolver returned {} for {}; the first lookup took {}{}.", addrs,
                            q.name, sr.cold ? format_duration(*sr.cold) : "-",
                            any ? fmt::format(", repeated ones {} (median)", format_duration_us(warm.p50_us))
                                : std::string{}));
        }
    }

    nlohmann::json servers_json = nlohmann::json::array();
    std::vector<table> record_tables;
    for (const auto& s : r.servers) {
        servers_json.push_back(s);
        const auto lat = latency_summary::from(s.rtt);
        const bool any = lat.count > 0;
        std::string transport = s.transport == dns_transport::tcp ? "tcp" : "udp";
        if (s.tcp_retries) transport += fmt::format(" (+{} tcp)", s.tcp_retries);
        t.add_row({s.server.to_string(), transport, std::to_string(s.answered), std::to_string(s.timeouts),
                   "-", cell(any, lat.min_us), cell(any, lat.p50_us), cell(any, lat.mean_us),
                   cell(any, lat.max_us), rcodes_text(s.rcodes)});
        const bool tcp = s.transport == dns_transport::tcp;
        if (s.unreachable > 0) {
            rep.add_reading(fmt::format(
                "{}: {} of {} queries ended at once: {} (is a DNS server listening at that address and port?).",
                s.server.to_string(), s.unreachable, s.sent,
                tcp ? "the connection was refused" : "an ICMP unreachable came back"));
        }
        if (s.closed > 0) {
            rep.add_reading(fmt::format("{}: {} of {} connections were closed by the server before it answered.",
                                        s.server.to_string(), s.closed, s.sent));
        }
        if (s.answered == 0 && s.timeouts == s.sent) {
            rep.add_reading(fmt::format("{} did not answer any of {} queries within {} each.",
                                        s.server.to_string(), s.sent, format_duration(q.timeout)));
        } else if (s.timeouts > 0) {
            rep.add_reading(fmt::format("{} left {} of {} queries unanswered within {} each.",
                                        s.server.to_string(), s.timeouts, s.sent, format_duration(q.timeout)));
        }
        if (s.ignored.total() > 0) {
            rep.add_reading(fmt::format(
                "{} {} ignored while waiting on {}: {} wrong ID, {} wrong source, {} wrong question, "
                "{} malformed, {} larger than the query allowed.",
                s.ignored.total(), tcp ? "messages" : "datagrams", s.server.to_string(), s.ignored.wrong_id,
                s.ignored.wrong_source, s.ignored.wrong_question, s.ignored.malformed, s.ignored.oversized));
        }
        if (s.tcp_retries > 0) {
            rep.add_reading(fmt::format("{} answers from {} were truncated and asked again over TCP.",
                                        s.tcp_retries, s.server.to_string()));
        }
        if (s.last) record_tables.push_back(records_table(s));
    }
    rep.data()["servers"] = servers_json;
    if (r.servers.empty() && !r.resolv_conf.empty()) {
        rep.add_reading(
            fmt::format("No nameserver found in {}; only the system resolver was timed.", r.resolv_conf));
    }
    rep.add_table(std::move(t));
    for (auto& rt : record_tables) rep.add_table(std::move(rt));
    return rep;
}

report make_report(const dns_load_result& r, const dns_load_options& options, std::string_view query_file) {
    report rep{"dns"};
    rep.data()["mode"] = "load";
    rep.data()["query_file"] = query_file;
    rep.data()["queries_in_file"] = options.queries.size();
    rep.data()["concurrency"] = options.concurrency;
    rep.data()["rate_limit_qps"] = options.rate;
    rep.data()["load"] = r;
    const auto lat = latency_summary::from(r.latency);
    table t{fmt::format("DNS load against {} ({} queries in file, concurrency {})", r.server.to_string(),
                        options.queries.size(), options.concurrency),
            {"sent", "answered", "lost", "late", "qps", "min", "p50", "p99", "max", "rcodes"},
            {}};
    t.add_row({std::to_string(r.sent), std::to_string(r.answered), std::to_string(r.lost),
               std::to_string(r.late), format_rate(r.queries_per_second, "q"), format_duration_us(lat.min_us),
               format_duration_us(lat.p50_us), format_duration_us(lat.p99_us), format_duration_us(lat.max_us),
               rcodes_text(r.rcodes)});
    rep.add_table(std::move(t));
    const double lost_fraction = r.sent ? static_cast<double>(r.lost) / static_cast<double>(r.sent) : 0.0;
    rep.add_reading(fmt::format("{} answered {} in {:.2f} s, {} of the queries lost.", r.server.to_string(),
                                format_rate(r.queries_per_second, "queries"),
                                std::chrono::duration<double>(r.elapsed).count(),
                                format_percent(lost_fraction)));
    if (r.unreachable > 0) {
        rep.add_reading(fmt::format(
            "{} ICMP unreachable errors came back{} (is a DNS server listening at that address and port?).",
            r.unreachable, r.answered == 0 ? " before any answer, so the run stopped at the first" : ""));
    }
    if (r.truncated > 0) {
        rep.add_reading(fmt::format("{} answers had TC set (too large for UDP) and are not counted as answered; "
                                    "load mode does not retry over TCP.",
                                    r.truncated));
    }
    if (r.ignored.total() > 0) {
        rep.add_reading(fmt::format("{} datagrams ignored: {} wrong ID, {} wrong question, {} malformed, "
                                    "{} larger than the queries allowed.",
                                    r.ignored.total(), r.ignored.wrong_id, r.ignored.wrong_question,
                                    r.ignored.malformed, r.ignored.oversized));
    }
    return rep;
}

}  // namespace nettool
