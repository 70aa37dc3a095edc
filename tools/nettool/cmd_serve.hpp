#pragma once
#include "cli.hpp"

#include <nettool/probe/responder.hpp>

#include <optional>

namespace nettool::cli {

/// Where --metrics listens when it names no port.
inline constexpr std::uint16_t default_metrics_port = 9430;

struct serve_options {
    std::uint16_t port = 51423;
    std::string bind;
    // The library's defaults (docs/PROTOCOL.md, "What the responder guards against").
    std::size_t max_sessions = responder_config{}.max_sessions;
    std::size_t max_sessions_per_source = responder_config{}.max_sessions_per_source;
    std::size_t max_session_rate_per_source = responder_config{}.max_session_rate_per_source;
    std::uint64_t udp_poll_us = static_cast<std::uint64_t>(responder_config{}.udp_poll.count());
    /// --iperf3 [PORT]: also serve stock iperf3 clients on PORT (5201 when given without one).
    std::optional<std::uint16_t> iperf3_port;
    /// --metrics ADDR[:PORT]: serve the responder's counters to Prometheus there (HTTP GET /metrics).
    std::optional<std::string> metrics;
};

void setup_serve(CLI::App& app, context& ctx);
int run_serve(const serve_options& opt, const context& ctx);

}  // namespace nettool::cli
