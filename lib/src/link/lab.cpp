// tcp-vs-udp across an emulated link, and the sweep over one of its parameters.

#include <nettool/link/lab.hpp>

#include <nettool/core/error.hpp>
#include <nettool/probe/responder.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace nettool::link {

namespace {

constexpr double tcp_mss = 1448;  // 1500 - 20 (IPv4) - 20 (TCP) - 12 (timestamps)

// The loss rate a data packet meets in one direction: Bernoulli, or Gilbert-Elliott's mean.
double mean_loss(const direction_config& d) {
    if (!d.burst_loss) return d.loss;
    const auto& g = *d.burst_loss;
    if (g.p + g.r <= 0) return g.loss_in_good;
    return g.p / (g.p + g.r) * g.loss_in_bad + g.r / (g.p + g.r) * g.loss_in_good;
}

// The round trip TCP's stream saw: the kernel's smoothed RTT, else the request/response p50.
double stream_rtt_seconds(const tcp_vs_udp_result& r) {
    if (r.tcp_stream.kernel.rtt_us > 0) return r.tcp_stream.kernel.rtt_us / 1e6;
    return static_cast<double>(r.tcp_rr.rtt.percentile(50)) / 1e9;
}

std::string trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string{s};
}

// What a run is read against: the configured loss toward the host, the RTT the stream saw, the
// Mathis model at both, and TCP's retransmissions.
struct run_numbers {
    double p = 0;
    double rtt = 0;
    double model = 0;
    std::uint64_t retrans = 0;
};

run_numbers numbers_of(const lab_run& run) {
    run_numbers n;
    n.p = mean_loss(run.config.uplink);
    n.rtt = stream_rtt_seconds(run.result);
    n.model = mathis_bits_per_second(tcp_mss, n.rtt, n.p);
    n.retrans = tcp_retransmits(run.result);
    return n;
}

}  // namespace

tcp_vs_udp_options lab_defaults(const link_config& config, tcp_vs_udp_options base) {
    base.count = std::min<std::uint64_t>(base.count, 100);
    base.connects = std::min<std::uint64_t>(base.connects, 20);
    const auto rate = config.uplink.rate_bps;
    const double datagram_bits = (static_cast<double>(base.stream_datagram) + 28) * 8;
    base.udp_stream_rate = rate > 0 ? std::max(1.0, static_cast<double>(rate) / 2 / datagram_bits) : 5000.0;
    base.udp_gso = false;  // every datagram its own packet through the TUN devices
    return base;
}

lab_run run_tcp_vs_udp_over_link(std::string_view spec, const tcp_vs_udp_options& opt, const step_callback& on_step,
                                 const interval_callback& on_interval) {
    lab_run run;
    run.spec = std::string{spec};
    run.config = parse_link_spec(spec);
    emulator_options eo;
    eo.link = run.config;
    auto em = emulator::start(eo);
    run.where = em->addresses();

    const auto rc = own_probe_responder(run.where.host_v4.to_string());
    std::error_code ec;
    auto responder = responder::start(rc, ec);
    if (!responder) throw error(ec, fmt::format("cannot start the responder on {}: {}", rc.bind_address, ec.message()));
    const auto target = socket_address::from_numeric(rc.bind_address, responder->port(), ec);
    if (ec) throw error(ec, fmt::format("responder address {}: {}", rc.bind_address, ec.message()));
    em->run_inside([&] { run.result = run_tcp_vs_udp(target, opt, on_step, on_interval); });
    responder->stop();
    run.stats = em->stop();
    return run;
}

double mathis_bits_per_second(double mss_bytes, double rtt_seconds, double p) noexcept {
    if (!(p > 0) || !(rtt_seconds > 0) || !(mss_bytes > 0)) return 0;
    return mss_bytes * 8 / rtt_seconds * std::sqrt(1.5) / std::sqrt(p);
}

report make_report(const lab_run& run) {
    auto rep = make_report(run.result, true);
    add_link(rep, emulator_options{run.config, {}, 1500}, run.where, run.stats, run.spec);
    auto& j = rep.data();

    const auto& r = run.result;
    const auto& up = run.config.uplink;
    const auto [p, rtt, model, retrans] = numbers_of(run);
    if (p > 0) {
        const double measured = r.tcp_stream.bits_per_second;
        std::string versus;
        const auto& cc = r.tcp_stream.kernel.congestion_control;
        if (cc == "bbr" && model > 0 && measured > model * 1.5)
            versus = " TCP ran bbr, which paces to the bandwidth and round trip it measures and does not take "
                     "random loss for congestion, so it is not bound by the model; run with --congestion cubic "
                     "to see a loss-based sender slow down.";
        else if (model > 0 && measured > model * 1.5)
            versus = " TCP beat the model: Linux's CUBIC grows its window faster than Reno after a loss, "
                     "and the model assumes every loss halves the window.";
        else if (model > 0 && measured < model / 1.5)
            versus = " TCP fell short of the model: timeouts (not only fast retransmits) and the short run "
                     "cost it more than the model counts.";
        rep.add_reading(fmt::format(
            "The link was set to drop {} of the packets at random toward the host. TCP resent {} segments and "
            "delivered every byte, but its stream ran at {}; the Mathis model (MSS / RTT x 1.22 / sqrt(p), with "
            "the {} RTT the kernel measured) predicts {} for a Reno-like sender{}.{}",
            format_percent(p), retrans, format_bits_per_second(measured), format_duration_us(rtt * 1e6),
            format_bits_per_second(model),
            up.rate_bps ? fmt::format(", capped by the link's {}", format_bits_per_second(static_cast<double>(up.rate_bps)))
                        : "",
            versus));
        rep.add_reading(fmt::format(
            "UDP's paced stream lost {} of its datagrams against {} configured: the loss reached the application "
            "as it happened on the link, and nothing resent it.",
            format_percent(r.udp_stream.loss_fraction()), format_percent(p)));
        j["link"]["mathis_bits_per_second"] = model;
    }
    if (up.delay.count() > 0 || run.config.downlink.delay.count() > 0) {
        rep.add_reading(fmt::format(
            "The link's delay ({} up, {} down) is in every round trip: TCP's handshake costs one of them before "
            "any data, its first reply two; UDP's first reply costs one.",
            format_duration(up.delay), format_duration(run.config.downlink.delay)));
    }
    const auto& qd = run.stats.uplink.queue_delay;
    if (qd.count() > 0 && qd.percentile(99) > 20'000'000) {
        rep.add_reading(fmt::format(
            "Packets waited up to {} (p99) in the bottleneck queue toward the host: a full queue adds its delay "
            "to every packet behind it (bufferbloat){}.",
            format_percentile(qd, 99),
            up.queue.discipline == queue_discipline::codel
                ? ""
                : "; with queue=codel the link drops early instead and keeps that wait near 5 ms"));
    }
    return rep;
}

sweep_spec parse_sweep(std::string_view text) {
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size())
        throw error(errc::bad_argument,
                    fmt::format("--sweep '{}': give KEY=V1,V2,... (e.g. loss=0,0.5,1,2,5%)", text));
    sweep_spec s;
    s.key = trim(text.substr(0, eq));
    static constexpr std::string_view keys[] = {"delay", "jitter", "loss", "reorder", "duplicate", "corrupt", "rate"};
    if (std::find(std::begin(keys), std::end(keys), s.key) == std::end(keys))
        throw error(errc::bad_argument,
                    fmt::format("--sweep: '{}' cannot be swept: give delay, jitter, loss, reorder, duplicate, "
                                "corrupt or rate",
                                s.key));
    std::string_view rest = text.substr(eq + 1);
    while (true) {
        const auto comma = rest.find(',');
        s.values.push_back(trim(rest.substr(0, comma)));
        if (s.values.back().empty()) throw error(errc::bad_argument, fmt::format("--sweep '{}': an empty value", text));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    if (s.values.size() > 20)
        throw error(errc::bad_argument, fmt::format("--sweep '{}': at most 20 values", text));
    // The unit of the last value ("5%", "100ms", "50mbit") applies to bare numbers.
    const auto& last = s.values.back();
    const auto unit_at = last.find_first_not_of("0123456789.");
    const std::string unit = unit_at == std::string::npos ? "" : last.substr(unit_at);
    for (auto& v : s.values)
        if (v.find_first_not_of("0123456789.") == std::string::npos) v += unit;
    return s;
}

std::string with_key(std::string_view base, std::string_view key, std::string_view value) {
    std::string out;
    std::string_view rest = base;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto item = rest.substr(0, comma);
        const auto eq = item.find('=');
        if (trim(item.substr(0, eq)) != key && !trim(item).empty()) {
            if (!out.empty()) out += ',';
            out += item;
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    if (!out.empty()) out += ',';
    out += fmt::format("{}={}", key, value);
    return out;
}

report make_sweep_report(const sweep_spec& sweep, const std::vector<lab_run>& runs) {
    report rep{"tcp-vs-udp"};
    table t;
    t.title = fmt::format("TCP vs UDP across the link, sweeping {}", sweep.key);
    t.header = {sweep.key, "TCP throughput", "Mathis model", "TCP retransmits", "UDP loss", "configured loss",
                "UDP jitter", "RTT p50"};
    auto rows = nlohmann::json::array();
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const auto& run = runs[i];
        const auto& r = run.result;
        const auto [p, rtt, model, retrans] = numbers_of(run);
        const auto& value = i < sweep.values.size() ? sweep.values[i] : run.spec;
        t.add_row({value, format_bits_per_second(r.tcp_stream.bits_per_second),
                   model > 0 ? format_bits_per_second(model) : "-", std::to_string(retrans),
                   format_percent(r.udp_stream.loss_fraction()), format_percent(p),
                   format_duration_us(r.udp_stream.jitter_us), format_percentile(r.tcp_rr.rtt, 50)});
        rows.push_back({{"value", value},
                        {"spec", run.spec},
                        {"tcp_bits_per_second", r.tcp_stream.bits_per_second},
                        {"mathis_bits_per_second", model},
                        {"tcp_retransmits", retrans},
                        {"congestion_control", r.tcp_stream.kernel.congestion_control},
                        {"udp_loss", r.udp_stream.loss_fraction()},
                        {"configured_loss", p},
                        {"udp_jitter_us", r.udp_stream.jitter_us},
                        {"rtt_p50_us", static_cast<double>(r.tcp_rr.rtt.percentile(50)) / 1e3},
                        {"link", run.stats}});
    }
    rep.add_table(std::move(t));
    rep.data()["sweep"] = {{"key", sweep.key}, {"runs", rows}};
    const bool bbr = std::any_of(runs.begin(), runs.end(), [](const lab_run& x) {
        return x.result.tcp_stream.kernel.congestion_control == "bbr";
    });
    if (bbr)
        rep.add_reading(
            "TCP ran bbr (this system's default): it paces to the bandwidth and round trip it measures and does "
            "not slow down for random loss, so the Mathis model, made for loss-based senders, does not bind it. "
            "Add --congestion cubic to see the classic 1/sqrt(p) slowdown.");
    if (sweep.key == "loss" && runs.size() >= 2 && !bbr)
        rep.add_reading(
            "As loss grows TCP keeps delivering every byte but slows down, roughly as 1/sqrt(p) (the Mathis "
            "model; Linux's CUBIC can beat it when the round trip is long), while UDP's loss simply follows the "
            "link's.");
    else if (sweep.key == "delay" && runs.size() >= 2)
        rep.add_reading(
            "Delay costs TCP a round trip before any data and limits a window-bound sender to window / RTT; UDP "
            "pays it once per datagram and no more.");
    else if (sweep.key == "rate" && runs.size() >= 2)
        rep.add_reading("TCP fills whatever rate the link has, less its headers; UDP sends at its own pace.");
    return rep;
}

}  // namespace nettool::link
