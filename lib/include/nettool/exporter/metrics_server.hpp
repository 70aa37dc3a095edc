#pragma once
// A small HTTP server for another program's own metrics (`nettool serve --metrics`): GET /metrics
// answers what a render function returns, in the Prometheus text format, with the same limits as
// the exporter's HTTP side (http_caps: threads, queued connections, request size, deadlines).
// Lives in libnettool-exporter.so with the HTTP library; the CLI reaches it through plugin.hpp.

#include <nettool/core/export.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

NETTOOL_API_BEGIN
namespace nettool::exporter {

struct metrics_server_options {
    std::string host = "127.0.0.1";  ///< numeric address to listen on
    std::uint16_t port = 0;          ///< 0 picks a free port
    /// Called on an HTTP thread for each GET /metrics: the whole exposition. Must be thread-safe.
    std::function<std::string()> render;
    std::function<void(std::string_view)> log;  ///< the line saying where it listens
};

/// Serves until destroyed: the destructor stops the server and joins its threads.
class metrics_server {
public:
    virtual ~metrics_server() = default;
    /// The bound port.
    virtual std::uint16_t port() const noexcept = 0;
};

/// Binds and starts serving. Throws nettool::error when it cannot listen (address in use, not
/// an address of this host).
std::unique_ptr<metrics_server> start_metrics_server(const metrics_server_options& options);

}  // namespace nettool::exporter
NETTOOL_API_END
