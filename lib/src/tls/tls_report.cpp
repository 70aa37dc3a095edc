#include <nettool/tls/tls_probe.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>

namespace nettool {

namespace {

double us(std::chrono::nanoseconds d) {
    return std::chrono::duration<double, std::micro>(d).count();
}

double p50_round_trips(const histogram& milli) {
    return milli.count() == 0 ? 0.0 : static_cast<double>(milli.percentile(50)) / 1000.0;
}

std::string joined(const std::vector<std::string>& items, std::size_t max_items) {
    std::string out;
    for (std::size_t i = 0; i < items.size() && i < max_items; ++i) out += (i == 0 ? "" : ", ") + items[i];
    if (items.size() > max_items) out += fmt::format(" (+{} more)", items.size() - max_items);
    return out;
}

const char* round_trip_words(unsigned n) {
    return n == 1 ? "round trip" : "round trips";
}

}  // namespace

void to_json(nlohmann::json& j, const tls_certificate& c) {
    j = {{"subject", c.subject},
         {"issuer", c.issuer},
         {"sans", c.sans},
         {"not_before", c.not_before},
         {"not_after", c.not_after},
         {"days_left", c.days_left},
         {"key_type", c.key_type},
         {"key_bits", c.key_bits},
         {"signature_algorithm", c.signature_algorithm},
         {"self_signed", c.self_signed}};
}

void to_json(nlohmann::json& j, const tls_verification& v) {
    j = {{"checked", v.checked}, {"ok", v.ok}, {"name", v.name}, {"reasons", v.reasons}, {"details", v.details}};
}

void to_json(nlohmann::json& j, const tls_result& r) {
    const bool http = r.http_status != 0 || r.timeline.total.count() > 0;
    j = {{"target", r.target.to_string()},
         {"host", r.host},
         {"sni", r.sni},
         {"local", r.local.to_string()},
         {"outcome", to_string(r.outcome)},
         {"error", r.error},
         {"warmed_up", r.warmed_up}};
    auto& t = j["timeline_us"];
    t = {{"name_lookup", us(r.timeline.name_lookup)},
         {"connect", us(r.timeline.connect)},
         {"handshake", us(r.timeline.handshake)}};
    if (http) {
        t["first_byte"] = us(r.timeline.first_byte);
        t["total"] = us(r.timeline.total);
        j["http"] = {{"status", r.http_status}, {"bytes", r.http_bytes}};
    }
    j["negotiated"] = {{"version", r.first.version},
                       {"cipher", r.first.cipher},
                       {"group", r.first.group},
                       {"alpn", r.first.alpn},
                       {"resumed", r.first.resumed}};
    j["round_trips"] = {{"tcp_rtt_us", r.first.tcp_rtt_us},
                        {"measured", r.measured_round_trips()},
                        {"flights", r.first.flights},
                        {"client_bytes", r.first.client_bytes},
                        {"server_bytes", r.first.server_bytes}};
    j["certificates"] = r.chain;
    j["verification"] = r.verification;
    j["handshakes"] = {{"attempts", r.attempts},
                       {"completed", r.completed},
                       {"resumed", r.resumed},
                       {"per_second", r.handshakes_per_second()},
                       {"elapsed_s", std::chrono::duration<double>(r.elapsed).count()},
                       {"handshake", latency_summary::from(r.handshake_time)},
                       {"connect", latency_summary::from(r.connect_time)},
                       {"round_trips_p50", p50_round_trips(r.round_trips)}};
}

void to_json(nlohmann::json& j, const tls_compare_row& r) {
    j = {{"name", r.name},
         {"version", r.negotiated},
         {"resumed", r.resume},
         {"completed", r.completed},
         {"resumed_count", r.resumed},
         {"handshake", latency_summary::from(r.handshake_time)},
         {"round_trips_p50", p50_round_trips(r.round_trips)},
         {"flights", r.flights},
         {"error", r.error}};
}

namespace {

void add_result(report& rep, const tls_result& r, const tls_options& opt) {
    nlohmann::json body = r;
    rep.data().update(body);
    const bool http = !opt.http_path.empty() && r.timeline.total.count() > 0;

    table timeline{fmt::format("TLS to {} ({}){}", r.host, r.target.to_string(),
                               r.sni.empty() ? std::string{", no SNI"} : ", SNI " + r.sni),
                   {"phase", "time", "what happened"},
                   {}};
    timeline.add_row({"name lookup", format_duration(r.timeline.name_lookup), "resolving the host, once"});
    if (r.attempts > 0 && r.outcome != tls_outcome::connect_failed)
        timeline.add_row({"TCP connect", format_duration(r.timeline.connect), "SYN, SYN-ACK: one round trip"});
    if (r.completed > 0 || r.timeline.handshake.count() > 0)
        timeline.add_row({"TLS handshake", format_duration(r.timeline.handshake),
                          fmt::format("{} {}, {} bytes sent, {} received", r.first.flights,
                                      round_trip_words(r.first.flights), r.first.client_bytes, r.first.server_bytes)});
    if (http) {
        timeline.add_row({"first byte", format_duration(r.timeline.first_byte), "GET " + opt.http_path + " to the first byte"});
        timeline.add_row({"total", format_duration(r.timeline.total),
                          fmt::format("to the last byte: status {}, {}", r.http_status,
                                      format_bytes(static_cast<double>(r.http_bytes)))});
    }
    rep.add_table(std::move(timeline));

    if (!r.first.version.empty()) {
        table neg{"Negotiated", {"", "value"}, {}};
        neg.add_row({"version", r.first.version});
        neg.add_row({"cipher suite", r.first.cipher});
        neg.add_row({"key exchange group", r.first.group.empty() ? "-" : r.first.group});
        neg.add_row({"ALPN", r.first.alpn.empty() ? "-" : r.first.alpn});
        neg.add_row({"session", r.first.resumed ? "resumed" : "full handshake"});
        neg.add_row({"TCP RTT (kernel)", r.first.tcp_rtt_us > 0 ? format_duration_us(r.first.tcp_rtt_us) : "-"});
        rep.add_table(std::move(neg));
    }

    if (!r.chain.empty()) {
        table chain{"Certificate chain (leaf first)",
                    {"#", "subject", "issuer", "names", "not after", "days left", "key", "signature"},
                    {}};
        for (std::size_t i = 0; i < r.chain.size(); ++i) {
            const auto& c = r.chain[i];
            chain.add_row({std::to_string(i), c.subject, c.self_signed ? "(itself)" : c.issuer,
                           c.sans.empty() ? "-" : joined(c.sans, 4), c.not_after, std::to_string(c.days_left),
                           fmt::format("{} {}", c.key_type, c.key_bits), c.signature_algorithm});
        }
        rep.add_table(std::move(chain));
    }

    if (r.completed > 1) {
        rep.add_table(latency_table(fmt::format("TLS handshake: {} of {} completed{}", r.completed, r.attempts,
                                                r.resumed > 0 ? fmt::format(", {} resumed", r.resumed) : ""),
                                    r.handshake_time));
    }

    // Readings.
    if (r.verification.checked) {
        if (r.verification.ok)
            rep.add_reading(fmt::format("The certificate verified for {}: a chain of {} up to a trusted CA{}.",
                                        r.verification.name, r.chain.size(),
                                        opt.ca_file.empty() ? " in the system's store" : " from " + opt.ca_file));
        else
            rep.add_reading(fmt::format("The certificate did NOT verify for {}: {}.{}", r.verification.name,
                                        joined(r.verification.details, 8),
                                        opt.insecure ? " --insecure: reported, not a failure." : ""));
    }
    if (r.completed > 0) {
        const double measured = r.measured_round_trips();
        const unsigned f = r.first.flights;
        std::string what = fmt::format("{} needed {} {} (the client sent a flight and waited {} {} for the server's)",
                                       r.first.resumed ? r.first.version + " resumed" : r.first.version + " full", f,
                                       round_trip_words(f), f, f == 1 ? "time" : "times");
        if (measured > 0) {
            std::string where = measured > f + 1.0 ? "; the rest is computation (key exchange, signatures, certificate checks) and this host's scheduling, not the network"
                                                    : "; on this path the network's round trips are the cost";
            rep.add_reading(fmt::format("The handshake took {}, {:.2f} times the TCP round trip of {} the kernel measured on this connection: {}{}.",
                                        format_duration(r.timeline.handshake), measured,
                                        format_duration_us(r.first.tcp_rtt_us), what, where));
        } else {
            rep.add_reading(fmt::format("The handshake took {}: {}.", format_duration(r.timeline.handshake), what));
        }
    }
    if (opt.resume && r.completed > 1)
        rep.add_reading(r.resumed == 0
                            ? std::string{"The server resumed none of the sessions: every handshake was a full one (no tickets or session IDs kept)."}
                            : fmt::format("{} of {} handshakes resumed the previous session (a ticket or session ID): no certificate, no key exchange signature.",
                                          r.resumed, r.completed));
    if (r.completed > 1)
        rep.add_reading(fmt::format("{} handshakes one after another: {:.1f} per second.", r.completed,
                                    r.handshakes_per_second()));
    if (!r.error.empty()) rep.add_reading(r.error + ".");
}

}  // namespace

report make_report(const tls_result& r, const tls_options& opt) {
    report rep{"tls"};
    add_result(rep, r, opt);
    return rep;
}

report make_report(const tls_compare_result& r, const tls_options& opt) {
    report rep{"tls"};
    add_result(rep, r.baseline, opt);
    auto& rows = rep.data()["compare"] = nlohmann::json::array();
    table t{"Handshakes side by side", {"handshake", "negotiated", "done", "p50", "p99", "round trips p50", "flights", "note"}, {}};
    const tls_compare_row* full12 = nullptr;
    const tls_compare_row* full13 = nullptr;
    for (const auto& row : r.rows) {
        rows.push_back(row);
        t.add_row({row.name, row.negotiated.empty() ? "-" : row.negotiated, std::to_string(row.completed),
                   format_percentile(row.handshake_time, 50), format_percentile(row.handshake_time, 99),
                   row.round_trips.count() > 0 ? fmt::format("{:.2f}", p50_round_trips(row.round_trips)) : "-",
                   row.completed > 0 ? std::to_string(row.flights) : "-", row.error.empty() ? "" : row.error});
        if (row.error.empty() && !row.resume) (row.version == tls_version::tls1_2 ? full12 : full13) = &row;
    }
    if (!r.rows.empty()) rep.add_table(std::move(t));
    if (full12 != nullptr && full13 != nullptr)
        rep.add_reading(fmt::format(
            "Full TLS 1.2 waits {} times for the server, full TLS 1.3 {} (its key share rides in the ClientHello), "
            "a resumed handshake once and without certificates: p50 {} against {} here.",
            full12->flights, full13->flights, format_percentile(full12->handshake_time, 50),
            format_percentile(full13->handshake_time, 50)));
    return rep;
}

}  // namespace nettool
