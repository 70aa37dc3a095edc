// Which plots a run gets, from its JSON document: one builder per kind of run (command and
// mode). Every read goes through json_node, so a malformed run fails here, naming the field.
#include "html/plots.hpp"

#include <nettool/core/report.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <set>

namespace nettool::detail {

std::size_t plot::points() const noexcept {
    std::size_t n = 0;
    for (const auto& s : series) n += kind == "bar" ? s.values.size() : s.xy.size();
    return n;
}

namespace {

using xy_points = std::vector<std::array<double, 2>>;

std::string series_label(const std::vector<labelled_run>& runs, const labelled_run& r, std::string_view what) {
    if (runs.size() <= 1) return std::string{what};
    return what.empty() ? r.label : fmt::format("{}: {}", r.label, what);
}

// ---- latency -------------------------------------------------------------------------------

/// A latency summary's distribution: its cdf, or for a run made before the cdf existed, the
/// percentiles it has (min 0, p50, p90, p99, p99.9, max 1). Empty when count is 0.
xy_points cdf_of(const json_node& summary) {
    summary.require_object();
    if (summary.number("count") <= 0) return {};
    xy_points out;
    if (auto c = summary.find("cdf")) {
        double last_v = -1, last_f = -1;
        for (const auto& p : c->items()) {
            const auto pair = p.items();
            if (pair.size() != 2) p.fail("not a [value_us, fraction] pair");
            const double v = pair[0].number(), f = pair[1].number();
            if (v < 0) pair[0].fail("negative latency");
            if (f < 0 || f > 1) pair[1].fail("fraction outside 0..1");
            if (v < last_v || f < last_f) p.fail("cdf not increasing");
            last_v = v;
            last_f = f;
            out.push_back({v, f});
        }
        if (out.size() > max_cdf_points) c->fail(fmt::format("more than {} points", max_cdf_points));
        return out;
    }
    out.push_back({summary.number("min_us"), 0.0});
    for (auto [key, f] : {std::pair{"p50_us", 0.5}, {"p90_us", 0.9}, {"p99_us", 0.99}, {"p999_us", 0.999}})
        out.push_back({summary.number(key), f});
    out.push_back({summary.number("max_us"), 1.0});
    for (std::size_t i = 1; i < out.size(); ++i) out[i][0] = std::max(out[i][0], out[i - 1][0]);
    return out;
}

struct latency_input {
    std::string label;
    json_node summary;
};

std::string dur(double us) { return format_duration_us(us); }

/// The CDF and the histogram of some latency summaries, one series each.
void add_latency_plots(plot_section& sec, const std::string& what, const std::vector<latency_input>& in) {
    plot cdf{.title = fmt::format("{}: cumulative distribution", what),
             .x_title = "latency (us, log scale)",
             .y_title = "samples at or below (fraction, 0 to 1)",
             .x_log = true};
    std::vector<std::pair<std::string, xy_points>> dists;
    std::vector<std::string> medians;
    double lo = 0, hi = 0;
    for (const auto& i : in) {
        auto pts = cdf_of(i.summary);
        if (pts.empty()) continue;
        const double p50 = i.summary.number("p50_us"), p99 = i.summary.number("p99_us");
        medians.push_back(fmt::format("{} {} (p99 {}, {:.1f}x the median)", i.label, dur(p50), dur(p99),
                                      p50 > 0 ? p99 / p50 : 0.0));
        for (const auto& p : pts) {
            if (p[0] <= 0) continue;
            lo = lo == 0 ? p[0] : std::min(lo, p[0]);
            hi = std::max(hi, p[0]);
        }
        // A log axis cannot show 0: a sample of 0 us is drawn at the smallest positive value.
        dists.emplace_back(i.label, std::move(pts));
    }
    if (dists.empty()) return;
    if (lo <= 0) lo = hi > 0 ? hi / 10 : 1;
    if (hi <= lo) hi = lo * 1.01;
    for (auto& [label, pts] : dists) {
        for (auto& p : pts) p[0] = std::max(p[0], lo);
        cdf.series.push_back({.label = label, .xy = pts, .style = "step"});
    }
    cdf.reading = fmt::format("Read across at 0.5 for the median and at 0.99 for the tail: {}.",
                              fmt::join(medians, "; "));

    // The histogram: each cdf point carries the fraction since the previous one; bins are equal
    // on the log axis, 10 per decade over the range the samples span.
    const double decades = std::log10(hi / lo);
    const int bins = std::clamp(static_cast<int>(std::ceil(decades * 10)), 5, 80);
    const double width = std::max(decades, 1e-9) / bins;
    plot hist{.title = fmt::format("{}: histogram", what),
              .x_title = "latency (us, log scale, 10 bins per decade)",
              .y_title = "samples in the bin (%)",
              .x_log = true};
    std::string peaks;
    for (const auto& [label, pts] : dists) {
        std::vector<double> mass(static_cast<std::size_t>(bins), 0.0);
        double prev = 0;
        for (const auto& p : pts) {
            const double x = std::max(p[0], lo);
            const double at = std::clamp(std::floor(std::log10(x / lo) / width), 0.0, static_cast<double>(bins - 1));
            const int b = static_cast<int>(at);
            mass[static_cast<std::size_t>(b)] += std::max(0.0, p[1] - prev);
            prev = p[1];
        }
        plot_series s{.label = label, .style = "step"};
        std::size_t top = 0;
        for (std::size_t b = 0; b < mass.size(); ++b) {
            const double centre = lo * std::pow(10.0, (static_cast<double>(b) + 0.5) * width);
            s.xy.push_back({centre, std::round(mass[b] * 1e6) / 1e4});
            if (mass[b] > mass[top]) top = b;
        }
        peaks += fmt::format("{}{} peaks near {} ({:.0f}% of samples)", peaks.empty() ? "" : "; ", label,
                             dur(s.xy[top][0]), mass[top] * 100);
        hist.series.push_back(std::move(s));
    }
    hist.reading = fmt::format("{}. A second hump or a long right tail is the cost of a retransmission, a "
                               "scheduler delay or a queue.",
                               peaks);
    sec.plots.push_back(std::move(cdf));
    sec.plots.push_back(std::move(hist));
}

// ---- throughput ----------------------------------------------------------------------------

/// Each interval as a flat segment from its start to its end, so that one interval is a line
/// and a short last interval shows as short.
xy_points intervals_of(const json_node& result) {
    xy_points out;
    if (auto iv = result.find("intervals")) {
        for (const auto& i : iv->items()) {
            const double mbps = i.number("bits_per_second") / 1e6;
            out.push_back({i.number("start_s"), mbps});
            out.push_back({i.number("end_s"), mbps});
        }
    }
    return out;
}

/// TCP's retransmissions in each interval, at the interval's middle; empty when the run's intervals
/// do not carry them (a download, where only the responder sends, or a run older than the field).
xy_points retransmits_of(const json_node& result, double& worst, double& worst_at) {
    xy_points out;
    auto iv = result.find("intervals");
    if (!iv) return out;
    for (const auto& i : iv->items()) {
        auto rx = i.find("retransmits");
        if (!rx) return {};
        const double n = rx->number();
        if (n < 0) rx->fail("negative");
        const double at = (i.number("start_s") + i.number("end_s")) / 2;
        if (n > worst) {
            worst = n;
            worst_at = at;
        }
        out.push_back({at, n});
    }
    return out;
}

struct stream_input {
    std::string label;
    json_node result;
    std::optional<double> retransmits;  ///< TCP: the run's total
};

void add_throughput_plot(plot_section& sec, const std::vector<stream_input>& in) {
    plot p{.title = "Throughput per interval",
           .x_title = "time since the stream started (s; each interval a flat segment)",
           .y_title = "throughput (Mbit/s)"};
    std::vector<std::string> parts;
    bool per_interval = false;
    for (const auto& i : in) {
        auto pts = intervals_of(i.result);
        const double bps = i.result.number_or("bits_per_second", 0);
        std::string part = fmt::format("{} {}", i.label, format_bits_per_second(bps));
        if (i.retransmits) part += fmt::format(" with {:.0f} retransmitted segments", *i.retransmits);
        double worst = 0, worst_at = 0;
        auto rx = i.retransmits ? retransmits_of(i.result, worst, worst_at) : xy_points{};
        if (worst > 0) part += fmt::format(" (most, {:.0f}, in the interval around {:.1f} s)", worst, worst_at);
        parts.push_back(std::move(part));
        if (pts.empty()) continue;
        p.series.push_back({.label = i.label, .xy = std::move(pts)});
        if (!rx.empty()) {
            // The kernel's count sampled at each interval boundary: one mark per interval, on the
            // right axis, so a dip in throughput can be read against the retransmissions under it.
            per_interval = true;
            p.series.push_back({.label = fmt::format("{}: retransmitted segments per interval", i.label),
                                .xy = std::move(rx),
                                .style = "marker",
                                .right_axis = true});
        } else if (i.retransmits && *i.retransmits > 0) {
            // The kernel's count is for the whole run (TCP_INFO read at the end), so it is marked
            // once, at the last interval, not spread over intervals it may not belong to.
            const auto& last = p.series.back().xy.back();
            p.series.push_back({.label = fmt::format("{}: {:.0f} retransmissions (run total)", i.label, *i.retransmits),
                                .xy = {last},
                                .style = "marker"});
        }
    }
    if (p.series.empty()) return;
    if (per_interval) p.y2_title = "retransmitted segments (count per interval)";
    p.reading = fmt::format("Averages: {}. A flat line is a steady path; dips that line up with retransmissions "
                            "are TCP backing off after a loss.",
                            fmt::join(parts, "; "));
    sec.plots.push_back(std::move(p));
}

enum class udp_traffic { rr, stream };

/// UDP over time: per interval of send time, the share of request/response probes (rr) or of
/// stream datagrams lost, reordered and duplicated (left axis), and how many were sent (right
/// axis). A stream's intervals carry these counts only from a responder that counts per interval
/// (docs/PROTOCOL.md, flag_interval_counts); a run without them draws nothing here.
void add_udp_over_time_plot(plot_section& sec, const std::vector<labelled_run>& runs, udp_traffic what,
                            const std::function<std::optional<json_node>(const json_node&)>& result) {
    const bool rr = what == udp_traffic::rr;
    const std::string noun = rr ? "requests" : "datagrams";
    plot p{.title = rr ? "UDP loss and reordering over time" : "UDP stream loss and reordering over time",
           .x_title = fmt::format("time since the first {} was sent (s; each interval at its middle)",
                                  rr ? "request" : "datagram"),
           .y_title = fmt::format("{} (% of those sent in the interval)", noun),
           .y2_title = fmt::format("{} sent (count per interval)", noun)};
    std::vector<std::string> parts;
    for (const auto& r : runs) {
        auto res = result(r.doc);
        if (!res) continue;
        auto iv = res->find("intervals");
        if (!iv || iv->items().empty() || !iv->items().front().has("sent")) continue;
        plot_series lost{.label = series_label(runs, r, "lost")}, reordered{.label = series_label(runs, r, "reordered")},
            dup{.label = series_label(runs, r, "duplicated")},
            sent{.label = series_label(runs, r, "sent"), .style = "marker", .right_axis = true};
        double worst = -1, worst_at = 0, width = 0, total_lost = 0;
        for (const auto& i : iv->items()) {
            if (!i.has("sent")) continue;  // a stream interval past those the responder counts apart
            const double a = i.number("start_s"), b = i.number("end_s"), n = i.number("sent");
            if (b < a) i.fail("end_s before start_s");
            const double at = (a + b) / 2;
            width = b - a;
            auto pct = [&](std::string_view key) {
                const double v = i.number(key);
                if (v < 0) i.at(key).fail("negative");
                return n > 0 ? std::round(v / n * 1e6) / 1e4 : 0.0;
            };
            const double l = pct("lost");
            sent.xy.push_back({at, n});
            // An interval nothing was sent in has no share of anything: only its count is drawn.
            if (n > 0) {
                lost.xy.push_back({at, l});
                reordered.xy.push_back({at, pct("reordered")});
                dup.xy.push_back({at, pct("duplicates")});
            }
            total_lost += i.number("lost");
            if (l > worst) {
                worst = l;
                worst_at = at;
            }
        }
        const std::string who = runs.size() > 1 ? r.label + ": " : "";
        if (total_lost > 0)
            parts.push_back(fmt::format("{}{:.0f} lost in {} intervals of {:.2g} s; the worst, {:.2f}% lost, around "
                                        "{:.2g} s",
                                        who, total_lost, sent.xy.size(), width, worst, worst_at));
        else
            parts.push_back(fmt::format("{}none lost in {} intervals of {:.2g} s", who, sent.xy.size(), width));
        for (auto* s : {&lost, &reordered, &dup, &sent}) p.series.push_back(std::move(*s));
    }
    if (p.series.empty()) return;
    p.reading = fmt::format("{}. Loss spread evenly over time is a lossy path; loss bunched in a few intervals "
                            "is a burst: a queue that overflowed or a route that changed.",
                            fmt::join(parts, "; "));
    sec.plots.push_back(std::move(p));
}

// ---- loss ----------------------------------------------------------------------------------

/// UDP's losses as % of what was sent: rr and stream side by side.
void add_udp_loss_plot(plot_section& sec, const std::vector<labelled_run>& runs,
                       const std::function<std::optional<json_node>(const json_node&)>& rr,
                       const std::function<std::optional<json_node>(const json_node&)>& stream) {
    plot p{.title = "UDP loss and reordering",
           .x_title = "what happened to the datagrams",
           .y_title = "datagrams (% of those sent)",
           .kind = "bar"};
    bool any_rr = false, any_stream = false;
    for (const auto& r : runs) {
        any_rr = any_rr || rr(r.doc).has_value();
        any_stream = any_stream || stream(r.doc).has_value();
    }
    if (any_rr) p.categories.insert(p.categories.end(), {"rr lost", "rr reordered", "rr duplicated", "rr late"});
    if (any_stream)
        p.categories.insert(p.categories.end(), {"stream lost", "stream out of order", "stream duplicated",
                                                 "stream lost at the receiver's socket"});
    if (p.categories.empty()) return;
    std::vector<std::string> parts;
    for (const auto& r : runs) {
        plot_series s{.label = series_label(runs, r, "UDP")};
        if (runs.size() <= 1) s.label = "UDP";
        auto pct = [](const json_node& n, std::string_view key, double sent) {
            return sent > 0 ? std::round(n.number_or(key, 0) / sent * 1e6) / 1e4 : 0.0;
        };
        if (any_rr) {
            if (auto n = rr(r.doc)) {
                const double sent = n->number("sent");
                for (auto key : {"lost", "reordered", "duplicates", "late"}) s.values.push_back(pct(*n, key, sent));
                parts.push_back(fmt::format("{}rr lost {:.2f}%", runs.size() > 1 ? r.label + " " : "", s.values[0]));
            } else {
                s.values.insert(s.values.end(), 4, 0.0);
            }
        }
        if (any_stream) {
            if (auto n = stream(r.doc)) {
                const double sent = n->number("sent");
                const std::size_t base = s.values.size();
                for (auto key : {"lost", "out_of_order", "duplicates", "receiver_dropped"})
                    s.values.push_back(pct(*n, key, sent));
                parts.push_back(fmt::format("{}stream lost {:.2f}% ({:.2f}% at the receiver's socket), {:.2f}% "
                                            "out of order",
                                            runs.size() > 1 ? r.label + " " : "", s.values[base],
                                            s.values[base + 3], s.values[base + 1]));
            } else {
                s.values.insert(s.values.end(), 4, 0.0);
            }
        }
        p.series.push_back(std::move(s));
    }
    p.reading = fmt::format("{}. UDP reports what TCP hides: each lost datagram here is one TCP would have "
                            "retransmitted, at the cost of a round trip.",
                            fmt::join(parts, "; "));
    sec.plots.push_back(std::move(p));
}

/// Measured TCP throughput beside the Mathis model, for runs across a lossy link.
void add_mathis_bar(plot_section& sec, const std::vector<labelled_run>& runs,
                    const std::function<std::optional<double>(const json_node&)>& measured_bps) {
    plot p{.title = "TCP throughput against the Mathis model",
           .x_title = "run",
           .y_title = "throughput (Mbit/s)",
           .kind = "bar"};
    plot_series measured{.label = "TCP measured"}, model{.label = "Mathis model (MSS/RTT x 1.22/sqrt(loss))"};
    std::vector<std::string> parts;
    for (const auto& r : runs) {
        auto link = r.doc.find("link");
        if (!link) continue;
        const double m = link->number_or("mathis_bits_per_second", 0);
        const auto bps = measured_bps(r.doc);
        if (m <= 0 || !bps) continue;
        p.categories.push_back(runs.size() > 1 ? r.label : link->text_or("spec", "this run"));
        measured.values.push_back(*bps / 1e6);
        model.values.push_back(m / 1e6);
        parts.push_back(fmt::format("{} measured {}, the model {} ({:.2f}x)", p.categories.back(),
                                    format_bits_per_second(*bps), format_bits_per_second(m), *bps / m));
    }
    if (p.categories.empty()) return;
    p.series = {std::move(measured), std::move(model)};
    p.reading = fmt::format("{}. Near 1x, loss sets TCP's pace as the model says; well above, the congestion "
                            "control (BBR) does not read loss as congestion.",
                            fmt::join(parts, "; "));
    sec.plots.push_back(std::move(p));
}

// ---- link ----------------------------------------------------------------------------------

void add_link_plots(plot_section& sec, const std::vector<labelled_run>& runs,
                    const std::function<std::optional<json_node>(const json_node&)>& link_of) {
    plot p{.title = "The emulated link: packets per direction",
           .x_title = "what the emulator did",
           .y_title = "packets (count)",
           .kind = "bar",
           .categories = {"in", "out", "dropped", "duplicated", "reordered", "corrupted"}};
    std::vector<latency_input> queue;
    std::vector<std::string> parts;
    for (const auto& r : runs) {
        auto link = link_of(r.doc);
        if (!link) continue;
        auto stats = link->at("stats");
        for (auto dir : {"uplink", "downlink"}) {
            auto d = stats.at(dir);
            plot_series s{.label = series_label(runs, r, dir)};
            const double in = d.number("packets_in");
            const double dropped = d.at("dropped").number("total");
            s.values = {in, d.number("packets_out"), dropped, d.number_or("duplicated", 0),
                        d.number_or("reordered", 0), d.number_or("corrupted", 0)};
            parts.push_back(fmt::format("{} dropped {:.0f} of {:.0f} ({:.2f}%)", s.label, dropped, in,
                                        in > 0 ? dropped / in * 100 : 0.0));
            p.series.push_back(std::move(s));
            if (auto q = d.find("queue_delay"); q && q->number("count") > 0)
                queue.push_back({series_label(runs, r, fmt::format("{} queue", dir)), *q});
        }
    }
    if (p.series.empty()) return;
    p.reading = fmt::format("{}. Packets out exceed packets in by the duplicates; drops are what the impairments "
                            "and the queue took.",
                            fmt::join(parts, "; "));
    sec.plots.push_back(std::move(p));
    add_latency_plots(sec, "Time in the link's bottleneck queue", queue);
}

// ---- per command ---------------------------------------------------------------------------

std::optional<json_node> path(const json_node& doc, std::initializer_list<std::string_view> keys) {
    std::optional<json_node> n = doc;
    for (auto k : keys) {
        if (!n) return std::nullopt;
        n = n->find(k);
    }
    return n;
}

void tcp_vs_udp(plot_section& sec, const std::vector<labelled_run>& runs) {
    std::vector<latency_input> lat;
    for (const auto& r : runs) {
        if (auto n = path(r.doc, {"tcp", "connect", "connect"}))
            lat.push_back({series_label(runs, r, "TCP connect (handshake)"), *n});
        if (auto n = path(r.doc, {"tcp", "rr", "rtt"})) lat.push_back({series_label(runs, r, "TCP rr"), *n});
        if (auto n = path(r.doc, {"udp", "rr", "rtt"})) lat.push_back({series_label(runs, r, "UDP rr"), *n});
    }
    add_latency_plots(sec, "Latency per protocol", lat);
    std::vector<stream_input> streams;
    for (const auto& r : runs) {
        if (auto n = path(r.doc, {"tcp", "stream"})) {
            // The stream's own count (what its intervals sum to); a run without it: every TCP part's.
            auto k = n->find("kernel");
            const double rx = k && k->has("retransmits") ? k->number("retransmits")
                                                         : r.doc.at("tcp").number_or("retransmits", 0);
            streams.push_back({series_label(runs, r, "TCP"), *n, rx});
        }
        if (auto n = path(r.doc, {"udp", "stream"})) streams.push_back({series_label(runs, r, "UDP"), *n, {}});
    }
    add_throughput_plot(sec, streams);
    add_udp_loss_plot(
        sec, runs, [](const json_node& d) { return path(d, {"udp", "rr"}); },
        [](const json_node& d) { return path(d, {"udp", "stream"}); });
    add_udp_over_time_plot(sec, runs, udp_traffic::rr, [](const json_node& d) { return path(d, {"udp", "rr"}); });
    add_udp_over_time_plot(sec, runs, udp_traffic::stream,
                           [](const json_node& d) { return path(d, {"udp", "stream"}); });
    add_mathis_bar(sec, runs, [](const json_node& d) -> std::optional<double> {
        if (auto s = path(d, {"tcp", "stream"})) return s->number("bits_per_second");
        return std::nullopt;
    });
    add_link_plots(sec, runs, [](const json_node& d) { return d.find("link"); });
}

std::string value_text(const json_node& n) {
    if (n.raw().is_string()) return n.text();
    return fmt::format("{:g}", n.number());
}

void sweep(plot_section& sec, const std::vector<labelled_run>& runs) {
    // Loss swept: configured loss on a linear axis; any other key: the values as categories.
    plot tput{.title = "Loss sweep: TCP throughput against the Mathis model",
              .y_title = "throughput (Mbit/s, log scale)",
              .y_log = true};
    plot loss{.title = "Loss sweep: UDP loss against the configured loss",
              .y_title = "UDP stream loss (%)"};
    std::vector<std::string> parts;
    bool by_loss = true;
    for (const auto& r : runs)
        if (r.doc.at("sweep").text("key") != "loss") by_loss = false;
    const std::string key = runs.front().doc.at("sweep").text("key");
    tput.x_title = loss.x_title = by_loss ? "configured loss (%)" : fmt::format("{} (as given)", key);
    if (!by_loss) tput.kind = loss.kind = "bar";
    plot_series configured{.label = "configured loss", .style = "line"};
    for (const auto& r : runs) {
        plot_series measured{.label = series_label(runs, r, "TCP measured")};
        plot_series model{.label = series_label(runs, r, "Mathis model")};
        plot_series udp{.label = series_label(runs, r, "UDP loss")};
        const auto rows = r.doc.at("sweep").at("runs").items();
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const auto& row = rows[i];
            const double cl = row.number("configured_loss") * 100;
            const double bps = row.number("tcp_bits_per_second") / 1e6;
            const double m = row.number("mathis_bits_per_second") / 1e6;
            const double ul = row.number("udp_loss") * 100;
            if (by_loss) {
                if (bps > 0) measured.xy.push_back({cl, bps});
                if (m > 0) model.xy.push_back({cl, m});  // 0: no loss, no model
                udp.xy.push_back({cl, ul});
                if (&r == &runs.front()) configured.xy.push_back({cl, cl});
            } else {
                if (&r == &runs.front()) tput.categories.push_back(value_text(row.at("value")));
                measured.values.push_back(bps);
                model.values.push_back(m);
                udp.values.push_back(ul);
            }
            parts.push_back(fmt::format("{} {}: TCP {:.3g} Mbit/s{}", series_label(runs, r, ""),
                                        value_text(row.at("value")), bps,
                                        m > 0 ? fmt::format(" vs the model's {:.3g} ({:.2f}x)", m, bps / m) : ""));
        }
        tput.series.push_back(std::move(measured));
        tput.series.push_back(std::move(model));
        loss.series.push_back(std::move(udp));
    }
    if (by_loss) loss.series.push_back(std::move(configured));
    loss.categories = tput.categories;
    tput.reading = fmt::format("{}. Mathis: a loss-based TCP's rate falls as 1/sqrt(loss); a TCP above the model "
                               "is not pacing itself by loss.",
                               fmt::join(parts, "; "));
    loss.reading = "UDP's measured loss should follow the configured loss (the line): UDP neither hides nor "
                   "repairs it, so the gap between the two is the emulator's sampling noise.";
    sec.plots.push_back(std::move(tput));
    sec.plots.push_back(std::move(loss));
}

void tcp_mode(plot_section& sec, const std::vector<labelled_run>& runs, const std::string& mode) {
    if (mode == "connect" || mode == "rr") {
        std::vector<latency_input> lat;
        for (const auto& r : runs) {
            auto res = r.doc.at("result");
            lat.push_back({series_label(runs, r, mode == "connect" ? "TCP connect" : "TCP rr"),
                           res.at(mode == "connect" ? "connect" : "rtt")});
        }
        add_latency_plots(sec, mode == "connect" ? "TCP connect time" : "TCP request/response time", lat);
    } else {
        std::vector<stream_input> streams;
        for (const auto& r : runs) {
            auto res = r.doc.at("result");
            std::optional<double> rx;
            if (auto k = res.find("kernel")) rx = k->number_or("retransmits", 0);
            streams.push_back({series_label(runs, r, "TCP"), res, rx});
        }
        add_throughput_plot(sec, streams);
        add_mathis_bar(sec, runs, [](const json_node& d) -> std::optional<double> {
            return d.at("result").number("bits_per_second");
        });
    }
    add_link_plots(sec, runs, [](const json_node& d) { return d.find("link"); });
}

void udp_mode(plot_section& sec, const std::vector<labelled_run>& runs, const std::string& mode) {
    if (mode == "rr") {
        std::vector<latency_input> lat;
        for (const auto& r : runs) lat.push_back({series_label(runs, r, "UDP rr"), r.doc.at("result").at("rtt")});
        add_latency_plots(sec, "UDP request/response time", lat);
        add_udp_loss_plot(
            sec, runs, [](const json_node& d) { return d.find("result"); },
            [](const json_node&) { return std::optional<json_node>{}; });
        add_udp_over_time_plot(sec, runs, udp_traffic::rr, [](const json_node& d) { return d.find("result"); });
    } else {
        std::vector<stream_input> streams;
        for (const auto& r : runs) streams.push_back({series_label(runs, r, "UDP"), r.doc.at("result"), {}});
        add_throughput_plot(sec, streams);
        add_udp_loss_plot(
            sec, runs, [](const json_node&) { return std::optional<json_node>{}; },
            [](const json_node& d) { return d.find("result"); });
        add_udp_over_time_plot(sec, runs, udp_traffic::stream, [](const json_node& d) { return d.find("result"); });
    }
    add_link_plots(sec, runs, [](const json_node& d) { return d.find("link"); });
}

void dns_timing(plot_section& sec, const std::vector<labelled_run>& runs) {
    std::vector<latency_input> lat;
    plot bars{.title = "DNS lookup time per server",
              .x_title = "server (transport)",
              .y_title = "lookup time (us, log scale)",
              .kind = "bar",
              .y_log = true};
    plot_series p50{.label = "p50"}, p99{.label = "p99"};
    std::vector<std::string> parts;
    for (const auto& r : runs) {
        std::vector<std::pair<std::string, json_node>> servers;
        if (auto sys = r.doc.find("system"))
            if (sys->at("warm").number("count") > 0) servers.emplace_back("system resolver (warm)", sys->at("warm"));
        if (auto list = r.doc.find("servers"))
            for (const auto& s : list->items())
                servers.emplace_back(fmt::format("{} ({})", s.text("server"), s.text("transport")), s.at("latency"));
        for (const auto& [name, summary] : servers) {
            lat.push_back({series_label(runs, r, name), summary});
            if (summary.number("count") <= 0) continue;
            bars.categories.push_back(series_label(runs, r, name));
            p50.values.push_back(std::max(summary.number("p50_us"), 0.001));
            p99.values.push_back(std::max(summary.number("p99_us"), 0.001));
            parts.push_back(fmt::format("{} {}", bars.categories.back(), dur(summary.number("p50_us"))));
        }
    }
    if (!bars.categories.empty()) {
        bars.series = {std::move(p50), std::move(p99)};
        bars.reading = fmt::format("Medians: {}. A cache answers in microseconds to a few ms; a server that "
                                   "must ask upstream shows tens of ms.",
                                   fmt::join(parts, "; "));
        sec.plots.push_back(std::move(bars));
    }
    add_latency_plots(sec, "DNS lookup time", lat);
}

void dns_load(plot_section& sec, const std::vector<labelled_run>& runs) {
    std::vector<latency_input> lat;
    plot p{.title = "DNS load: what became of the queries",
           .x_title = "outcome",
           .y_title = "queries (count)",
           .kind = "bar",
           .categories = {"sent", "answered", "lost", "late"}};
    std::vector<std::string> parts;
    for (const auto& r : runs) {
        auto load = r.doc.at("load");
        lat.push_back({series_label(runs, r, load.text("server")), load.at("latency")});
        p.series.push_back({.label = series_label(runs, r, load.text("server")),
                            .values = {load.number("sent"), load.number("answered"), load.number("lost"),
                                       load.number("late")}});
        parts.push_back(fmt::format("{} answered {:.0f} of {:.0f} at {:.0f} queries/s", p.series.back().label,
                                    load.number("answered"), load.number("sent"), load.number("queries_per_second")));
    }
    p.reading = fmt::format("{}.", fmt::join(parts, "; "));
    sec.plots.push_back(std::move(p));
    add_latency_plots(sec, "DNS lookup time under load", lat);
}

struct hierarchy_row {
    std::string name;  ///< the path: "frame > eth > ip > tcp"
    double packets = 0;
    int depth = 0;
};

void hierarchy_rows(const json_node& n, const std::string& prefix, std::vector<hierarchy_row>& out, int depth) {
    if (depth > 32) n.fail("nested deeper than 32 levels");
    const std::string name = prefix.empty() ? n.text("name") : fmt::format("{} > {}", prefix, n.text("name"));
    out.push_back({.name = name, .packets = n.number("packets"), .depth = depth});
    if (auto c = n.find("children"))
        for (const auto& child : c->items()) hierarchy_rows(child, name, out, depth + 1);
}

void inspect(plot_section& sec, const std::vector<labelled_run>& runs) {
    plot p{.title = "Protocol hierarchy",
           .x_title = "protocol (each row within the one above)",
           .y_title = "packets (count)",
           .kind = "bar",
           .horizontal = true};
    std::vector<std::string> parts;
    std::vector<latency_input> hs, dns;
    for (const auto& r : runs) {
        std::vector<hierarchy_row> rows;
        if (auto h = r.doc.find("protocol_hierarchy")) hierarchy_rows(*h, "", rows, 0);
        plot_series s{.label = runs.size() <= 1 ? std::string{"packets"} : series_label(runs, r, "packets")};
        for (const auto& row : rows) {
            auto it = std::find(p.categories.begin(), p.categories.end(), row.name);
            if (it == p.categories.end()) {
                p.categories.push_back(row.name);
                for (auto& other : p.series) other.values.push_back(0);
                it = p.categories.end() - 1;
            }
            s.values.resize(p.categories.size(), 0);
            s.values[static_cast<std::size_t>(it - p.categories.begin())] = row.packets;
        }
        s.values.resize(p.categories.size(), 0);
        // What the capture mostly is: the deepest layer decoded, the one with the most packets.
        if (!rows.empty()) {
            const double total = rows.front().packets;
            const auto top = std::max_element(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
                return std::pair{a.depth, a.packets} < std::pair{b.depth, b.packets};
            });
            parts.push_back(fmt::format("{}{:.0f} packets, {:.0f}% of them {}", runs.size() > 1 ? r.label + ": " : "",
                                        total, total > 0 ? top->packets / total * 100 : 0.0, top->name));
        }
        p.series.push_back(std::move(s));
        if (auto t = path(r.doc, {"tcp", "handshake_rtt"})) hs.push_back({series_label(runs, r, "TCP handshake"), *t});
        if (auto d = path(r.doc, {"dns", "latency"})) dns.push_back({series_label(runs, r, "DNS"), *d});
    }
    if (!p.categories.empty()) {
        p.reading = fmt::format("{}. Each layer's bar is the packets that carried it; a gap between a layer and "
                                "the sum of the ones inside it is what the decoder stopped at.",
                                fmt::join(parts, "; "));
        sec.plots.push_back(std::move(p));
    }
    add_latency_plots(sec, "TCP handshakes seen in the capture (SYN to ACK)", hs);
    add_latency_plots(sec, "DNS answers seen in the capture (query to response)", dns);
}

void trace(plot_section& sec, const std::vector<labelled_run>& runs) {
    plot rtt{.title = "Round-trip time per hop",
             .x_title = "hop (TTL)",
             .y_title = "round-trip time (us, log scale)",
             .y_log = true};
    plot loss{.title = "Loss per hop", .x_title = "hop (TTL)", .y_title = "probes unanswered (%)", .kind = "bar"};
    std::vector<std::string> parts;
    std::set<double> ttls;
    for (const auto& r : runs)
        for (const auto& h : r.doc.at("trace").at("hops").items()) ttls.insert(h.number("ttl"));
    for (double t : ttls) loss.categories.push_back(fmt::format("{:g}", t));
    for (const auto& r : runs) {
        plot_series best{.label = series_label(runs, r, "best")}, p50{.label = series_label(runs, r, "median")},
            worst{.label = series_label(runs, r, "worst")}, lost{.label = series_label(runs, r, "loss")};
        lost.values.assign(ttls.size(), 0);
        double first = -1, last = -1, step = 0, step_ttl = 0, prev = -1;
        for (const auto& h : r.doc.at("trace").at("hops").items()) {
            const double ttl = h.number("ttl");
            lost.values[static_cast<std::size_t>(std::distance(ttls.begin(), ttls.find(ttl)))] =
                h.number_or("loss", 0) * 100;
            if (h.number_or("received", 0) <= 0) continue;
            const double b = h.number("best_us"), w = h.number("worst_us");
            const double m = h.has("rtt") ? h.at("rtt").number("p50_us") : h.number("mean_us");
            if (b > 0) best.xy.push_back({ttl, b});
            if (m > 0) p50.xy.push_back({ttl, m});
            if (w > 0) worst.xy.push_back({ttl, w});
            if (first < 0) first = m;
            if (prev >= 0 && m - prev > step) {
                step = m - prev;
                step_ttl = ttl;
            }
            prev = last = m;
        }
        if (first >= 0)
            parts.push_back(fmt::format("{}median {} at the first hop that answered, {} at the last{}",
                                        runs.size() > 1 ? r.label + ": " : "", dur(first), dur(last),
                                        step > 0 ? fmt::format("; the largest rise, +{}, is at hop {:g}", dur(step),
                                                               step_ttl)
                                                 : ""));
        for (auto* s : {&best, &p50, &worst})
            if (!s->xy.empty()) rtt.series.push_back(std::move(*s));
        loss.series.push_back(std::move(lost));
    }
    if (!rtt.series.empty()) {
        rtt.reading = fmt::format("{}. A rise that stays for every later hop is a real link (distance, a queue); a "
                                  "spike at one hop only is that router answering ICMP slowly.",
                                  fmt::join(parts, "; "));
        sec.plots.push_back(std::move(rtt));
    }
    if (!loss.categories.empty()) {
        loss.reading = "Loss that starts at a hop and continues to the destination is on the path; loss at one hop "
                       "only is a router rate-limiting its ICMP answers.";
        sec.plots.push_back(std::move(loss));
    }
}

}  // namespace

std::string run_kind(const json_node& doc) {
    const std::string command = doc.text("command");
    if (command == "tcp-vs-udp") return doc.has("sweep") ? "tcp-vs-udp sweep" : "tcp-vs-udp";
    if (command == "tcp" || command == "udp") {
        const auto mode = doc.at("mode");
        const std::string m = mode.text();
        const bool ok = m == "rr" || m == "stream" || (command == "tcp" && m == "connect");
        if (!ok) mode.fail(fmt::format("'{}' is not a mode of {}", m, command));
        return fmt::format("{} {}", command, m);
    }
    if (command == "dns") {
        const auto mode = doc.at("mode");
        const std::string m = mode.text();
        if (m != "timing" && m != "load") mode.fail(fmt::format("'{}' is not a mode of dns", m));
        return fmt::format("dns {}", m);
    }
    if (command == "inspect" || command == "trace" || command == "link") return command;
    doc.at("command").fail(fmt::format("'{}' is not a command nettool report draws", command));
}

plot_section build_section(const std::string& kind, const std::vector<labelled_run>& runs) {
    plot_section sec{.title = kind};
    for (const auto& r : runs) {
        sec.run_labels.push_back(r.label);
        if (auto rd = r.doc.find("readings"))
            for (const auto& line : rd->items())
                sec.readings.push_back(runs.size() > 1 ? fmt::format("{}: {}", r.label, line.text()) : line.text());
    }
    if (kind == "tcp-vs-udp") {
        sec.title = "tcp-vs-udp: TCP and UDP over the same path";
        tcp_vs_udp(sec, runs);
    } else if (kind == "tcp-vs-udp sweep") {
        sec.title = "tcp-vs-udp --sweep: one run per value";
        sweep(sec, runs);
    } else if (kind.starts_with("tcp ")) {
        tcp_mode(sec, runs, kind.substr(4));
    } else if (kind.starts_with("udp ")) {
        udp_mode(sec, runs, kind.substr(4));
    } else if (kind == "dns timing") {
        dns_timing(sec, runs);
    } else if (kind == "dns load") {
        dns_load(sec, runs);
    } else if (kind == "inspect") {
        sec.title = "inspect: what the capture holds";
        inspect(sec, runs);
    } else if (kind == "trace") {
        sec.title = "trace: the path hop by hop";
        trace(sec, runs);
    } else if (kind == "link") {
        sec.title = "link: the emulated link";
        add_link_plots(sec, runs, [](const json_node& d) { return std::optional<json_node>{d}; });
    }
    return sec;
}

}  // namespace nettool::detail
