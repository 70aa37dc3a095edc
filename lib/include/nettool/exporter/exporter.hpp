#pragma once
// `nettool exporter`: probes every target of a config on its own interval and serves the results
// to Prometheus (docs/exporter.md):
//   /metrics   per target and module: a latency histogram, counters of probes sent, lost,
//              duplicated and reordered, rounds and failed rounds, the last error; and the
//              exporter's own health
//   /probe     ?target=HOST[:PORT]&module=NAME: one round now, blackbox_exporter's way (probe_success,
//              probe_duration_seconds, probe_dns_lookup_time_seconds) plus nettool's loss and
//              percentiles; the timeout from X-Prometheus-Scrape-Timeout-Seconds
//   /-/healthy and /-/reload (POST), as Prometheus's own
//
// The exporter lives in its own library, libnettool-exporter.so, because its HTTP library
// (cpp-httplib, as Debian builds it) links OpenSSL, brotli and zlib, which every other command
// would otherwise load at start. The CLI opens it when `nettool exporter` runs (plugin.hpp).

#include <nettool/core/export.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

NETTOOL_API_BEGIN
namespace nettool::exporter {

/// Hard limits of the HTTP side: no option lifts them.
struct http_caps {
    static constexpr std::size_t max_threads = 64;            ///< requests served at once
    static constexpr std::size_t max_queued_connections = 256;  ///< accepted, waiting for a thread
    static constexpr std::size_t max_request_body = 4096;     ///< bytes; nothing here takes a body
    static constexpr int read_timeout_s = 5;                  ///< a request must arrive within this
    static constexpr std::size_t max_workers = 256;           ///< probing threads
};

struct exporter_options {
    std::string host = "127.0.0.1";  ///< address to listen on
    std::uint16_t port = 9429;       ///< 0 picks a free port
    std::string config_path;         ///< empty: the built-in modules and no targets (/probe only)
    std::size_t workers = 8;         ///< threads that run rounds (1..max_workers)
    std::size_t http_threads = 8;    ///< 1..max_threads
    /// Called with each log line (config loaded or refused, a target's first failure...).
    std::function<void(std::string_view)> log;
};

class exporter_service {
public:
    virtual ~exporter_service() = default;
    /// The bound port.
    virtual std::uint16_t port() const noexcept = 0;
    /// Reads the config file again. Targets whose module settings did not change keep their
    /// counters; on an error the old config stays and the sentence (with its line) is returned.
    virtual std::string reload() = 0;
    /// Stops probing and serving; joins every thread. Idempotent.
    virtual void stop() noexcept = 0;
};

/// Reads the config, binds, and starts probing and serving. Throws nettool::error for a config
/// it refuses (the sentence names the line) or an address it cannot bind.
std::unique_ptr<exporter_service> start_exporter(const exporter_options& options);

}  // namespace nettool::exporter
NETTOOL_API_END
