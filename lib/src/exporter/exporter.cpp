#include <nettool/exporter/exporter.hpp>

#include "exporter/http_limits.hpp"

#include <nettool/core/clock.hpp>
#include <nettool/core/error.hpp>
#include <nettool/core/version.hpp>
#include <nettool/exporter/config.hpp>
#include <nettool/exporter/exposition.hpp>
#include <nettool/exporter/plugin.hpp>
#include <nettool/exporter/probe_round.hpp>
#include <nettool/net/endpoint.hpp>

#include "exporter/module_metrics.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/resource.h>

namespace nettool::exporter {
namespace {

using namespace std::chrono_literals;

// A udp_rr target keeps two descriptors open (its session), so a thousand targets need more than
// the usual soft limit of 1,024: take the hard limit, as Go's runtime does for Prometheus's
// exporters. Returns the limit now in force.
rlim_t raise_open_files() noexcept {
    rlimit l{};
    if (::getrlimit(RLIMIT_NOFILE, &l) != 0) return 0;
    if (l.rlim_cur < l.rlim_max) {
        rlimit want = l;
        want.rlim_cur = l.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &want) == 0) return want.rlim_cur;
    }
    return l.rlim_cur;
}

double unix_now_s() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// What a target has measured since the exporter started (or since its module last changed).
struct target_metrics {
    latency_buckets latency;
    std::uint64_t rounds = 0;
    std::uint64_t failed_rounds = 0;
    std::uint64_t skipped_rounds = 0;  // due while the previous round still ran
    std::uint64_t sent = 0;
    std::uint64_t lost = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t reordered = 0;
    bool last_success = false;
    double last_duration_s = 0;
    double last_round_unix_s = 0;
    std::string last_error;
    round_extras last_extras;  // tls and trace: the last round's gauges
};

struct target_slot {
    target_config target;
    module_config module;
    mono_clock::time_point next_due{};
    std::atomic<bool> running{false};
    mutable std::mutex mu;  // guards metrics
    target_metrics metrics;
    round_state state;  // the running round's only (running guards it)
};

std::vector<label> labels_of(const target_slot& s) {
    return {{"target", s.target.name}, {"module", s.module.name}};
}

class service final : public exporter_service {
public:
    explicit service(exporter_options o) : opt_(std::move(o)) {
        opt_.workers = std::clamp<std::size_t>(opt_.workers, 1, http_caps::max_workers);
        opt_.http_threads = std::clamp<std::size_t>(opt_.http_threads, 1, http_caps::max_threads);
        config c;
        c.modules = builtin_modules();
        if (!opt_.config_path.empty()) c = read_config(opt_.config_path);
        const auto open_files = raise_open_files();
        if (opt_.log && open_files != RLIM_INFINITY && 2 * c.targets.size() + 64 > open_files)
            opt_.log(fmt::format("{} targets may need {} open files, and this process may open {}: udp_rr rounds "
                                 "past that fail (raise the hard limit: ulimit -Hn, LimitNOFILE=)",
                                 c.targets.size(), 2 * c.targets.size() + 64, open_files));
        install(c);
        if (opt_.log)
            opt_.log(fmt::format("config {}: {} targets, {} modules",
                                 opt_.config_path.empty() ? "(built-in modules only)" : opt_.config_path,
                                 c.targets.size(), c.modules.size()));
        setup_http();
        port_ = detail::bind_or_throw(http_, opt_.host, opt_.port);
        for (std::size_t i = 0; i < opt_.workers; ++i) workers_.emplace_back([this] { work(); });
        scheduler_ = std::thread([this] { schedule(); });
        http_thread_ = std::thread([this] { http_.listen_after_bind(); });
    }
    ~service() override { stop(); }

    std::uint16_t port() const noexcept override { return port_; }

    std::string reload() override {
        if (opt_.config_path.empty()) return "no config file to reload (started without --config)";
        try {
            const auto c = read_config(opt_.config_path);
            install(c);
            ++reloads_;
            if (opt_.log) opt_.log(fmt::format("config {} reloaded: {} targets", opt_.config_path, c.targets.size()));
            return {};
        } catch (const error& e) {
            ++reload_failures_;
            if (opt_.log) opt_.log(fmt::format("config not reloaded, the old one stays: {}", e.what()));
            return e.what();
        }
    }

    void stop() noexcept override {
        {
            std::lock_guard lock{mu_};
            if (stopping_) return;
            stopping_ = true;
        }
        wake_.notify_all();
        jobs_ready_.notify_all();
        http_.stop();
        if (http_thread_.joinable()) http_thread_.join();
        if (scheduler_.joinable()) scheduler_.join();
        for (auto& w : workers_)
            if (w.joinable()) w.join();
    }

private:
    // New slots for the config; a target whose module settings are unchanged keeps its slot.
    void install(const config& c) {
        std::map<std::pair<std::string, std::string>, std::shared_ptr<target_slot>> old;
        {
            std::lock_guard lock{mu_};
            for (auto& s : slots_) old[{s->target.name, s->module.name}] = s;
        }
        std::vector<std::shared_ptr<target_slot>> next;
        next.reserve(c.targets.size());
        const auto now = mono_clock::now();
        for (std::size_t i = 0; i < c.targets.size(); ++i) {
            const auto& t = c.targets[i];
            const auto& m = c.modules.at(t.module);
            const auto it = old.find({t.name, t.module});
            if (it != old.end() && it->second->module == m) {
                it->second->target = t;
                next.push_back(it->second);
                continue;
            }
            auto s = std::make_shared<target_slot>();
            s->target = t;
            s->module = m;
            // Spread the first rounds over one interval so a thousand targets do not start at once.
            s->next_due = now + t.interval * static_cast<std::int64_t>(i % 1000) / 1000;
            next.push_back(std::move(s));
        }
        std::lock_guard lock{mu_};
        slots_ = std::move(next);
        modules_ = c.modules;
    }

    void schedule() {
        std::unique_lock lock{mu_};
        while (!stopping_) {
            const auto now = mono_clock::now();
            auto next_wake = now + 100ms;
            for (auto& s : slots_) {
                if (s->next_due <= now) {
                    s->next_due += s->target.interval;
                    if (s->next_due <= now) s->next_due = now + s->target.interval;  // fell behind: no burst
                    if (s->running.exchange(true)) {
                        std::lock_guard m{s->mu};
                        ++s->metrics.skipped_rounds;
                    } else {
                        jobs_.push_back(s);
                        jobs_ready_.notify_one();
                    }
                }
                next_wake = std::min(next_wake, s->next_due);
            }
            wake_.wait_until(lock, next_wake);
        }
    }

    void work() {
        for (;;) {
            std::shared_ptr<target_slot> s;
            {
                std::unique_lock lock{mu_};
                jobs_ready_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
                if (stopping_) return;
                s = std::move(jobs_.front());
                jobs_.pop_front();
            }
            // A round may take at most its interval, so it ends before the next one is due.
            const auto budget = std::chrono::duration_cast<std::chrono::milliseconds>(s->target.interval);
            const auto r = run_round(s->module, s->target.name, budget, &s->state);
            {
                std::lock_guard m{s->mu};
                auto& t = s->metrics;
                ++t.rounds;
                if (!r.success) ++t.failed_rounds;
                t.latency.add(r.latency);
                t.sent += r.sent;
                t.lost += r.lost;
                t.duplicates += r.duplicates;
                t.reordered += r.reordered;
                if (!r.success && t.last_success && opt_.log)
                    opt_.log(fmt::format("{} {}: {}", s->target.name, s->module.name, r.error));
                t.last_success = r.success;
                t.last_duration_s = r.duration_s;
                t.last_round_unix_s = unix_now_s();
                t.last_error = r.error;
                if (s->module.kind == prober::tls || s->module.kind == prober::trace) t.last_extras = r.extras;
            }
            s->running = false;
        }
    }

    std::string metrics_text() {
        std::vector<std::shared_ptr<target_slot>> slots;
        {
            std::lock_guard lock{mu_};
            slots = slots_;
        }
        std::vector<target_metrics> snap;
        snap.reserve(slots.size());
        for (const auto& s : slots) {
            std::lock_guard m{s->mu};
            snap.push_back(s->metrics);
        }
        exposition e;
        const auto each = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
            e.family(name, type, help);
            for (std::size_t i = 0; i < slots.size(); ++i) e.sample(name, labels_of(*slots[i]), value(snap[i]));
        };
        e.family("nettool_probe_latency_seconds", "histogram",
                 "Each probe's time: TCP connect (tcp_connect), request round trip (tcp_rr, udp_rr), query (dns), "
                 "TLS handshake (tls).");
        for (std::size_t i = 0; i < slots.size(); ++i)
            e.histogram_samples("nettool_probe_latency_seconds", labels_of(*slots[i]), snap[i].latency);
        const auto d = [](std::uint64_t v) { return static_cast<double>(v); };
        each("nettool_probes_sent_total", "counter", "Probes sent: connects attempted, requests, datagrams, queries.",
             [&](const target_metrics& t) { return d(t.sent); });
        each("nettool_probes_lost_total", "counter", "Probes never answered (timeouts, refusals, lost datagrams).",
             [&](const target_metrics& t) { return d(t.lost); });
        each("nettool_probes_duplicated_total", "counter", "Answers that arrived more than once (udp_rr).",
             [&](const target_metrics& t) { return d(t.duplicates); });
        each("nettool_probes_reordered_total", "counter", "Answers older than one already received (udp_rr).",
             [&](const target_metrics& t) { return d(t.reordered); });
        each("nettool_probe_rounds_total", "counter", "Rounds run (one per interval).",
             [&](const target_metrics& t) { return d(t.rounds); });
        each("nettool_probe_rounds_failed_total", "counter", "Rounds in which a probe went unanswered or failed.",
             [&](const target_metrics& t) { return d(t.failed_rounds); });
        each("nettool_probe_rounds_skipped_total", "counter",
             "Rounds not started because the previous one still ran (a slow target or too few workers).",
             [&](const target_metrics& t) { return d(t.skipped_rounds); });
        each("nettool_probe_success", "gauge", "1 if the last round succeeded, else 0.",
             [&](const target_metrics& t) { return t.last_success ? 1.0 : 0.0; });
        each("nettool_probe_last_round_duration_seconds", "gauge", "How long the last round took, lookup included.",
             [&](const target_metrics& t) { return t.last_duration_s; });
        each("nettool_probe_last_round_timestamp_seconds", "gauge", "When the last round ended (Unix time).",
             [&](const target_metrics& t) { return t.last_round_unix_s; });
        e.family("nettool_probe_last_error_info", "gauge", "The last round's error, in the label 'error'; absent when it succeeded.");
        for (std::size_t i = 0; i < slots.size(); ++i) {
            if (snap[i].last_error.empty()) continue;
            auto l = labels_of(*slots[i]);
            l.emplace_back("error", snap[i].last_error);
            e.sample("nettool_probe_last_error_info", l, 1);
        }
        {
            std::vector<detail::target_extras> extras;
            for (std::size_t i = 0; i < slots.size(); ++i)
                if (slots[i]->module.kind == prober::tls || slots[i]->module.kind == prober::trace)
                    extras.push_back({slots[i]->target.name, slots[i]->module.name, &snap[i].last_extras});
            detail::metrics_extras(e, extras);
        }
        e.family("nettool_exporter_targets", "gauge", "Targets in the config.");
        e.sample("nettool_exporter_targets", {}, d(slots.size()));
        e.family("nettool_exporter_scrapes_total", "counter", "Requests to /metrics.");
        e.sample("nettool_exporter_scrapes_total", {}, d(++scrapes_));
        e.family("nettool_exporter_probe_requests_total", "counter", "Requests to /probe, answered or refused.");
        e.sample("nettool_exporter_probe_requests_total", {}, d(probe_requests_.load()));
        e.family("nettool_exporter_config_reloads_total", "counter", "Config reloads, by result.");
        e.sample("nettool_exporter_config_reloads_total", {{"result", "success"}}, d(reloads_.load()));
        e.sample("nettool_exporter_config_reloads_total", {{"result", "failure"}}, d(reload_failures_.load()));
        e.family("nettool_exporter_build_info", "gauge", "The nettool version serving these metrics.");
        e.sample("nettool_exporter_build_info", {{"version", version_string}}, 1);
        return e.take();
    }

    void probe(const httplib::Request& req, httplib::Response& res) {
        ++probe_requests_;
        const auto bad = [&](const std::string& why) {
            res.status = 400;
            res.set_content(why + "\n", "text/plain; charset=utf-8");
        };
        if (!req.has_param("target")) return bad("target parameter is missing: /probe?target=HOST[:PORT]&module=NAME");
        const auto target = req.get_param_value("target");
        const auto module_name = req.has_param("module") ? req.get_param_value("module") : std::string{"tcp_connect"};
        module_config m;
        {
            std::lock_guard lock{mu_};
            const auto it = modules_.find(module_name);
            if (it == modules_.end()) return bad(fmt::format("unknown module '{}'", module_name));
            m = it->second;
        }
        std::error_code ec;
        parse_host_port(target, default_port(m), ec);
        if (ec || target.empty() || target.size() > 255) return bad(fmt::format("target '{}' is not HOST[:PORT]", target));
        // As blackbox_exporter: the scrape's timeout less half a second of margin, at most 60 s.
        double timeout_s = 10;
        if (req.has_header("X-Prometheus-Scrape-Timeout-Seconds")) {
            const auto h = req.get_header_value("X-Prometheus-Scrape-Timeout-Seconds");
            double v = 0;
            const auto [end, fec] = std::from_chars(h.data(), h.data() + h.size(), v);
            if (fec != std::errc{} || end != h.data() + h.size() || !std::isfinite(v) || v <= 0)
                return bad(fmt::format("X-Prometheus-Scrape-Timeout-Seconds '{}' is not a positive number", h));
            timeout_s = v;
        }
        timeout_s = std::clamp(timeout_s - 0.5, 0.001, 60.0);
        const auto budget = std::chrono::milliseconds{static_cast<std::int64_t>(timeout_s * 1000)};
        const auto r = run_round(m, target, budget);
        exposition e;
        e.family("probe_success", "gauge", "Whether every probe of the round was answered.");
        e.sample("probe_success", {}, r.success ? 1 : 0);
        e.family("probe_duration_seconds", "gauge", "How long the round took, lookup included.");
        e.sample("probe_duration_seconds", {}, r.duration_s);
        e.family("probe_dns_lookup_time_seconds", "gauge", "Resolving the target's name (0 for an address).");
        e.sample("probe_dns_lookup_time_seconds", {}, r.lookup_s);
        if (r.connect_s) {
            e.family("probe_tcp_connect_seconds", "gauge", "The TCP handshake of the session (tcp_rr) or of the first connection (tls).");
            e.sample("probe_tcp_connect_seconds", {}, *r.connect_s);
        }
        const auto d = [](std::uint64_t v) { return static_cast<double>(v); };
        e.family("probe_nettool_sent", "gauge", "Probes sent in this round.");
        e.sample("probe_nettool_sent", {}, d(r.sent));
        e.family("probe_nettool_lost", "gauge", "Probes never answered in this round.");
        e.sample("probe_nettool_lost", {}, d(r.lost));
        e.family("probe_nettool_loss_ratio", "gauge", "Lost over sent, 0..1.");
        e.sample("probe_nettool_loss_ratio", {}, r.sent ? d(r.lost) / d(r.sent) : 0);
        e.family("probe_nettool_duplicated", "gauge", "Answers that arrived more than once (udp_rr).");
        e.sample("probe_nettool_duplicated", {}, d(r.duplicates));
        e.family("probe_nettool_reordered", "gauge", "Answers older than one already received (udp_rr).");
        e.sample("probe_nettool_reordered", {}, d(r.reordered));
        if (r.latency.count() > 0) {
            // Gauges, one per percentile: a "quantile" label belongs to summaries only.
            for (const auto& [name, p] : {std::pair{"probe_nettool_latency_p50_seconds", 50.0},
                                          {"probe_nettool_latency_p90_seconds", 90.0},
                                          {"probe_nettool_latency_p99_seconds", 99.0}}) {
                e.family(name, "gauge", fmt::format("The {}th percentile of the round's probe times.", p));
                e.sample(name, {}, d(r.latency.percentile(p)) / 1e9);
            }
            e.family("probe_nettool_latency_stddev_seconds", "gauge",
                     "Standard deviation of the round's probe times: how much they vary (jitter).");
            e.sample("probe_nettool_latency_stddev_seconds", {}, r.latency.stddev() / 1e9);
        }
        detail::probe_extras(e, r.extras);
        res.set_content(e.take(), std::string{content_type});
    }

    void setup_http() {
        detail::apply_http_limits(http_, opt_.http_threads);
        http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(metrics_text(), std::string{content_type});
        });
        http_.Get("/probe", [this](const httplib::Request& req, httplib::Response& res) { probe(req, res); });
        http_.Get("/-/healthy", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("OK\n", "text/plain; charset=utf-8");
        });
        // POST or PUT, as Prometheus's own. The body is ignored but must have a length
        // (curl -d ''): without one, HTTP/1.1 says it runs to the connection's end.
        const auto reload_handler = [this](const httplib::Request&, httplib::Response& res) {
            const auto why = reload();
            res.status = why.empty() ? 200 : 500;
            res.set_content(why.empty() ? "reloaded\n" : why + "\n", "text/plain; charset=utf-8");
        };
        http_.Post("/-/reload", reload_handler);
        http_.Put("/-/reload", reload_handler);
        http_.Get("/", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(
                "nettool exporter\n/metrics             every target's metrics\n"
                "/probe?target=HOST[:PORT]&module=NAME   one round now (tcp_connect, tcp_rr, udp_rr, dns, tls, trace, or the config's)\n"
                "/-/healthy           liveness\nPOST /-/reload       read the config again\n",
                "text/plain; charset=utf-8");
        });
    }

    exporter_options opt_;
    httplib::Server http_;
    std::uint16_t port_ = 0;
    std::mutex mu_;  // slots_, modules_, jobs_, stopping_
    std::condition_variable wake_, jobs_ready_;
    std::vector<std::shared_ptr<target_slot>> slots_;
    std::map<std::string, module_config> modules_;
    std::deque<std::shared_ptr<target_slot>> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
    std::thread scheduler_, http_thread_;
    std::atomic<std::uint64_t> scrapes_{0}, probe_requests_{0}, reloads_{0}, reload_failures_{0};
};

std::unique_ptr<exporter_service> start_for_plugin(const exporter_options& o) { return start_exporter(o); }

std::string check_for_plugin(const std::string& path) {
    const auto c = read_config(path);
    return fmt::format("{} targets, {} modules", c.targets.size(), c.modules.size());
}

std::unique_ptr<metrics_server> serve_metrics_for_plugin(const metrics_server_options& o) {
    return start_metrics_server(o);
}

std::string responder_exposition_for_plugin(const responder_stats& s, const iperf3_server_stats* iperf3) {
    return responder_exposition(s, iperf3);
}

constexpr plugin_api the_plugin{.start = &start_for_plugin,
                                .check_config = &check_for_plugin,
                                .serve_metrics = &serve_metrics_for_plugin,
                                .responder_exposition = &responder_exposition_for_plugin};

}  // namespace

std::unique_ptr<exporter_service> start_exporter(const exporter_options& options) {
    return std::make_unique<service>(options);
}

}  // namespace nettool::exporter

// The one symbol the CLI looks up (plugin.hpp); exported although the library hides the rest.
NETTOOL_API_BEGIN
extern "C" const nettool::exporter::plugin_api* nettool_exporter_plugin() { return &nettool::exporter::the_plugin; }
NETTOOL_API_END
