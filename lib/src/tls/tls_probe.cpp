#include <nettool/tls/tls_probe.hpp>

#include "tls/tls_client.hpp"

#include <nettool/core/error.hpp>
#include <nettool/net/address.hpp>

#include <fmt/format.h>

namespace nettool {

const char* to_string(tls_outcome o) noexcept {
    switch (o) {
    case tls_outcome::ok: return "ok";
    case tls_outcome::verify_failed: return "verify_failed";
    case tls_outcome::timeout: return "timeout";
    case tls_outcome::not_tls: return "not_tls";
    case tls_outcome::connect_failed: return "connect_failed";
    case tls_outcome::handshake_failed: return "handshake_failed";
    }
    return "unknown";
}

double tls_result::handshakes_per_second() const noexcept {
    const double s = std::chrono::duration<double>(elapsed).count();
    return s > 0 ? static_cast<double>(completed) / s : 0;
}

double tls_result::measured_round_trips() const noexcept {
    if (first.tcp_rtt_us == 0) return 0;
    return std::chrono::duration<double, std::micro>(timeline.handshake).count() / first.tcp_rtt_us;
}

namespace {

constexpr std::uint64_t max_count = 100'000;

std::uint64_t round_trips_milli(const detail::tls_connection& c) {
    if (c.handshake.tcp_rtt_us == 0) return 0;
    return static_cast<std::uint64_t>(
        std::chrono::duration<double, std::micro>(c.timeline.handshake).count() * 1000.0 / c.handshake.tcp_rtt_us + 0.5);
}

}  // namespace

tls_result tls_probe(const host_port& target, const tls_options& opt) {
    if (opt.count < 1 || opt.count > max_count)
        throw error(errc::bad_argument, fmt::format("count {} is out of range: give 1 to {}", opt.count, max_count));
    if (opt.timeout <= std::chrono::nanoseconds{0})
        throw error(errc::bad_argument, "the timeout must be positive");
    tls_result r;
    r.host = target.host;
    const auto t0 = mono_clock::now();
    const auto addresses = resolve(target);  // throws errc::resolve_failed with the reason
    r.timeline.name_lookup = mono_clock::now() - t0;
    r.target = addresses.front();
    const bool literal = ip_address::parse(target.host).has_value();
    r.sni = !opt.sni.empty() ? opt.sni : literal ? std::string{} : target.host;
    detail::tls_client client{opt, r.sni, opt.sni.empty() ? target.host : opt.sni};

    detail::tls_session session;
    // A server that offered no session after a full handshake is not waited for again.
    bool offers_sessions = opt.resume;
    const auto take = [&](detail::tls_connection& c, bool first) {
        ++r.attempts;
        if (first) {
            const auto lookup = r.timeline.name_lookup;
            r.local = c.local;
            r.timeline = c.timeline;
            r.timeline.name_lookup = lookup;
            r.first = std::move(c.handshake);
            r.chain = std::move(c.chain);
            r.verification = std::move(c.verification);
            r.http_status = c.http_status;
            r.http_bytes = c.http_bytes;
        }
        if (c.outcome != tls_outcome::connect_failed) r.connect_time.record(c.timeline.connect);
        if (c.outcome != tls_outcome::ok) {
            r.outcome = c.outcome;
            r.error = std::move(c.error);
            return false;
        }
        ++r.completed;
        r.handshake_time.record(c.timeline.handshake);
        if (const auto milli = round_trips_milli(c); milli > 0) r.round_trips.record(milli);
        if (first ? r.first.resumed : c.handshake.resumed) ++r.resumed;
        if (c.session)
            session = std::move(c.session);
        else if (!(first ? r.first.resumed : c.handshake.resumed))
            offers_sessions = false;
        return true;
    };

    if (opt.warm_up) {
        auto w = client.connect(r.target, {.want_session = offers_sessions, .want_chain = true});
        if (w.outcome != tls_outcome::ok) {  // the timed ones would fail the same way: say so once
            take(w, true);
            r.elapsed = w.ended - w.started;
            return r;
        }
        r.warmed_up = true;
        session = std::move(w.session);
        offers_sessions = offers_sessions && static_cast<bool>(session);
    }
    mono_clock::time_point start{}, end{}, next_progress{};
    for (std::uint64_t i = 0; i < opt.count; ++i) {
        const bool first = i == 0;
        auto c = client.connect(r.target, {.resume = opt.resume && session ? &session : nullptr,
                                           .want_session = offers_sessions,
                                           .want_chain = first});
        if (first) next_progress = (start = c.started) + std::chrono::seconds{1};
        end = c.ended;
        if (!take(c, first)) break;
        if (opt.progress && end >= next_progress) {
            opt.progress(r.completed, end - start);
            next_progress += std::chrono::seconds{1};
        }
    }
    r.elapsed = end - start;
    if (r.outcome == tls_outcome::ok && r.verification.checked && !r.verification.ok && !opt.insecure) {
        r.outcome = tls_outcome::verify_failed;
        std::string why;
        for (const auto& reason : r.verification.reasons) why += (why.empty() ? "" : ", ") + reason;
        r.error = fmt::format("the certificate of {} did not verify for {}: {}", r.target.to_string(),
                              r.verification.name, why);
    }
    return r;
}

tls_compare_result tls_compare(const host_port& target, const tls_options& opt) {
    tls_compare_result out;
    out.baseline = tls_probe(target, opt);
    if (out.baseline.outcome != tls_outcome::ok && out.baseline.outcome != tls_outcome::verify_failed) return out;
    struct variant {
        const char* name;
        tls_version version;
        bool resume;
    };
    constexpr variant variants[] = {{"TLS 1.2 full", tls_version::tls1_2, false},
                                    {"TLS 1.3 full", tls_version::tls1_3, false},
                                    {"TLS 1.2 resumed", tls_version::tls1_2, true},
                                    {"TLS 1.3 resumed", tls_version::tls1_3, true}};
    for (const auto& v : variants) {
        tls_options o = opt;
        o.version = v.version;
        o.resume = v.resume;
        o.http_path.clear();
        o.insecure = true;  // the baseline reports the certificate; the rows time the handshakes
        o.warm_up = true;   // and, resuming, fetches the first session
        o.progress = {};    // the baseline's lines were the run's; these would be unlabelled
        const auto x = tls_probe(target, o);
        tls_compare_row row{.name = v.name, .version = v.version, .resume = v.resume};
        row.negotiated = x.first.version;
        row.completed = x.completed;
        row.resumed = x.resumed;
        row.handshake_time = x.handshake_time;
        row.round_trips = x.round_trips;
        row.flights = x.first.flights;
        if (x.outcome != tls_outcome::ok)
            row.error = x.error;
        else if (v.resume && x.resumed < x.completed)
            row.error = fmt::format("the server resumed {} of {} handshakes", x.resumed, x.completed);
        out.rows.push_back(std::move(row));
    }
    return out;
}

}  // namespace nettool
