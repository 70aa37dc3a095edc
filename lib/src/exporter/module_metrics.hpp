#pragma once
// The gauges only the tls and trace modules have, in one place for both endpoints: /probe writes a
// round's (blackbox_exporter's names where it has them), /metrics every config target's last
// round, with its target and module labels.

#include <nettool/exporter/exposition.hpp>
#include <nettool/exporter/probe_round.hpp>

#include <string_view>
#include <vector>

namespace nettool::exporter::detail {

/// /probe: probe_tls_handshake_seconds, probe_ssl_earliest_cert_expiry, probe_tls_version_info,
/// probe_tls_cipher_info (tls); probe_nettool_trace_reached, _hops, _hop_rtt_seconds{hop,address},
/// _hop_loss_ratio{hop,address} (trace). Nothing for the other modules.
void probe_extras(exposition& e, const round_extras& x);

/// One config target's last round, for /metrics.
struct target_extras {
    std::string_view target;
    std::string_view module;
    const round_extras* extras = nullptr;
};

/// /metrics: nettool_tls_* and nettool_trace_* families, each written only when some target has
/// a sample for it.
void metrics_extras(exposition& e, const std::vector<target_extras>& targets);

}  // namespace nettool::exporter::detail
