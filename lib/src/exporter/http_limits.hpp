#pragma once
// The HTTP side every server of this library shares (the exporter, `serve --metrics`): cpp-httplib
// with the limits of http_caps -- a bounded thread pool and queue, a request-size cap, read and
// write deadlines -- and one way to bind that says what went wrong. Private to libnettool-exporter.

#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace nettool::exporter::detail {

/// Sets the limits of http_caps on a server not yet listening: `threads` (clamped to
/// 1..http_caps::max_threads) serve requests, at most http_caps::max_queued_connections wait.
void apply_http_limits(httplib::Server& server, std::size_t threads);

/// Binds host:port (0: any free port) and returns the bound port. Throws nettool::error
/// ("cannot listen on HOST port PORT: reason") when it cannot.
std::uint16_t bind_or_throw(httplib::Server& server, const std::string& host, std::uint16_t port);

}  // namespace nettool::exporter::detail
