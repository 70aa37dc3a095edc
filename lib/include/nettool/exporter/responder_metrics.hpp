#pragma once
// The responder's counters (responder_stats, and iperf3_server_stats with `serve --iperf3`) as a
// Prometheus exposition: what `nettool serve --metrics` answers on GET /metrics. Names start
// nettool_responder_, counters end _total, bytes are bytes (docs/exporter.md lists them).

#include <nettool/core/export.hpp>
#include <nettool/iperf3/server.hpp>
#include <nettool/probe/responder.hpp>

#include <string>

NETTOOL_API_BEGIN
namespace nettool::exporter {

/// The exposition of a responder's counters; with iperf3 (non-null), its iperf3 server's too.
std::string responder_exposition(const responder_stats& s, const iperf3_server_stats* iperf3 = nullptr);

}  // namespace nettool::exporter
NETTOOL_API_END
