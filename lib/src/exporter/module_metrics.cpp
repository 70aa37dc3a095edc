#include "exporter/module_metrics.hpp"

#include <fmt/format.h>

#include <array>

namespace nettool::exporter::detail {
namespace {

// One family over every target that has a sample: HELP and TYPE once, before the first.
template <typename Each>
void family_over(exposition& e, const std::vector<target_extras>& targets, std::string_view name,
                 std::string_view help, Each each) {
    bool started = false;
    for (const auto& t : targets) {
        if (!t.extras) continue;
        each(t, [&](std::initializer_list<label> more, double v) {
            if (!started) e.family(name, "gauge", help);
            started = true;
            std::vector<label> l{{"target", t.target}, {"module", t.module}};
            l.insert(l.end(), more.begin(), more.end());
            e.sample(name, l, v);
        });
    }
}

}  // namespace

void probe_extras(exposition& e, const round_extras& x) {
    if (x.tls_handshake_s) {
        e.family("probe_tls_handshake_seconds", "gauge", "The TLS handshake of the first connection, ClientHello to Finished.");
        e.sample("probe_tls_handshake_seconds", {}, *x.tls_handshake_s);
    }
    if (x.cert_expiry_unix_s) {
        e.family("probe_ssl_earliest_cert_expiry", "gauge",
                 "The earliest notAfter of the certificates the server sent (Unix time).");
        e.sample("probe_ssl_earliest_cert_expiry", {}, *x.cert_expiry_unix_s);
    }
    if (!x.tls_version.empty()) {
        e.family("probe_tls_version_info", "gauge", "The TLS version negotiated, in the label 'version'.");
        e.sample("probe_tls_version_info", {{"version", x.tls_version}}, 1);
    }
    if (!x.tls_cipher.empty()) {
        e.family("probe_tls_cipher_info", "gauge", "The cipher suite negotiated (OpenSSL's name), in the label 'cipher'.");
        e.sample("probe_tls_cipher_info", {{"cipher", x.tls_cipher}}, 1);
    }
    if (!x.traced) return;
    e.family("probe_nettool_trace_reached", "gauge", "1 if the trace reached the target, else 0.");
    e.sample("probe_nettool_trace_reached", {}, x.reached ? 1 : 0);
    if (x.reached) {
        e.family("probe_nettool_trace_hops", "gauge", "Hops to the target: the TTL at which it answered.");
        e.sample("probe_nettool_trace_hops", {}, x.destination_hop);
    }
    std::array<char, 8> hop{};
    const auto hop_text = [&](unsigned h) {
        const auto end = fmt::format_to_n(hop.data(), hop.size(), "{}", h).out;
        return std::string_view{hop.data(), static_cast<std::size_t>(end - hop.data())};
    };
    e.family("probe_nettool_trace_hop_rtt_seconds", "gauge", "Each hop's fastest answer, with the address that answered.");
    for (const auto& h : x.hops)
        if (h.best_rtt_s) e.sample("probe_nettool_trace_hop_rtt_seconds", {{"hop", hop_text(h.hop)}, {"address", h.address}}, *h.best_rtt_s);
    e.family("probe_nettool_trace_hop_loss_ratio", "gauge", "Each hop's probes never answered, over those sent, 0..1.");
    for (const auto& h : x.hops)
        e.sample("probe_nettool_trace_hop_loss_ratio", {{"hop", hop_text(h.hop)}, {"address", h.address}},
                 h.sent ? 1.0 - static_cast<double>(h.received) / static_cast<double>(h.sent) : 0.0);
}

void metrics_extras(exposition& e, const std::vector<target_extras>& targets) {
    family_over(e, targets, "nettool_tls_handshake_last_seconds",
                "The last round's first TLS handshake (every handshake is in nettool_probe_latency_seconds).",
                [](const target_extras& t, auto out) {
                    if (t.extras->tls_handshake_s) out({}, *t.extras->tls_handshake_s);
                });
    family_over(e, targets, "nettool_tls_earliest_cert_expiry_timestamp_seconds",
                "The earliest notAfter of the certificates the server last sent (Unix time).",
                [](const target_extras& t, auto out) {
                    if (t.extras->cert_expiry_unix_s) out({}, *t.extras->cert_expiry_unix_s);
                });
    family_over(e, targets, "nettool_tls_version_info", "The TLS version last negotiated, in the label 'version'.",
                [](const target_extras& t, auto out) {
                    if (!t.extras->tls_version.empty()) out({{"version", t.extras->tls_version}}, 1);
                });
    family_over(e, targets, "nettool_trace_reached", "1 if the last trace reached the target, else 0.",
                [](const target_extras& t, auto out) {
                    if (t.extras->traced) out({}, t.extras->reached ? 1 : 0);
                });
    family_over(e, targets, "nettool_trace_hops", "Hops to the target in the last trace: the TTL at which it answered.",
                [](const target_extras& t, auto out) {
                    if (t.extras->traced && t.extras->reached) out({}, t.extras->destination_hop);
                });
    family_over(e, targets, "nettool_trace_hop_rtt_seconds",
                "Each hop's fastest answer in the last trace, with the address that answered.",
                [](const target_extras& t, auto out) {
                    for (const auto& h : t.extras->hops) {
                        if (!h.best_rtt_s) continue;
                        const auto hop = fmt::format("{}", h.hop);
                        out({{"hop", hop}, {"address", h.address}}, *h.best_rtt_s);
                    }
                });
    family_over(e, targets, "nettool_trace_hop_loss_ratio",
                "Each hop's probes never answered in the last trace, over those sent, 0..1.",
                [](const target_extras& t, auto out) {
                    for (const auto& h : t.extras->hops) {
                        const auto hop = fmt::format("{}", h.hop);
                        out({{"hop", hop}, {"address", h.address}},
                            h.sent ? 1.0 - static_cast<double>(h.received) / static_cast<double>(h.sent) : 0.0);
                    }
                });
}

}  // namespace nettool::exporter::detail
