#pragma once
#include "cli.hpp"

#include <nettool/probe/responder.hpp>

#include <optional>

namespace nettool::cli {

struct serve_options {
    std::uint16_t port = 51423;
    std::string bind;
    // The library's defaults (docs/PROTOCOL.md, "What the responder guards against").
    std::size_t max_sessions = responder_config{}.max_sessions;
    std::size_t max_sessions_per_source = responder_config{}.max_sessions_per_source;
    std::size_t max_session_rate_per_source = responder_config{}.max_session_rate_per_source;
    /// --iperf3 [PORT]: also serve stock iperf3 clients on PORT (5201 when given without one).
    std::optional<std::uint16_t> iperf3_port;
};

void setup_serve(CLI::App& app, context& ctx);
int run_serve(const serve_options& opt, const context& ctx);

}  // namespace nettool::cli
