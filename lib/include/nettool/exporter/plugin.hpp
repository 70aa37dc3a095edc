#pragma once
// How the CLI reaches libnettool-exporter.so without linking it: it opens the library when an
// exporter command or `serve --metrics` runs and asks it for this table (see exporter.hpp for why).

#include <nettool/exporter/exporter.hpp>
#include <nettool/exporter/metrics_server.hpp>
#include <nettool/exporter/responder_metrics.hpp>

#include <memory>
#include <string>

namespace nettool::exporter {

struct plugin_api {
    std::unique_ptr<exporter_service> (*start)(const exporter_options&);
    /// Reads and checks a config file, starting nothing: "N targets, M modules". Throws
    /// nettool::error as start() does for the same file.
    std::string (*check_config)(const std::string& path);
    /// `nettool serve --metrics`: serves GET /metrics from options.render until the result is
    /// destroyed (metrics_server.hpp). Throws nettool::error when it cannot listen.
    std::unique_ptr<metrics_server> (*serve_metrics)(const metrics_server_options& options);
    /// The responder's counters (and its iperf3 server's, when non-null) as an exposition
    /// (responder_metrics.hpp): the CLI's render function for serve_metrics.
    std::string (*responder_exposition)(const responder_stats& s, const iperf3_server_stats* iperf3);
};

/// The library's soname and the one symbol the CLI looks up in it.
inline constexpr const char* plugin_soname = "libnettool-exporter.so.0";
inline constexpr const char* plugin_symbol = "nettool_exporter_plugin";
using plugin_entry = const plugin_api* (*)();

}  // namespace nettool::exporter
