#include "probe_link.hpp"

#include <nettool/core/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>

namespace nettool::cli {

probe_link::probe_link(const std::string& spec) : spec_(spec) {
    if (spec.empty()) return;
    try {
        options_.link = link::parse_link_spec(spec);
    } catch (const error& e) {
        throw error(e.code(), fmt::format("--link '{}': {}", spec, e.what()));
    }
    em_ = link::emulator::start(options_);
}

probe_link::~probe_link() {
    if (responder_) responder_->stop();
}

socket_address probe_link::target(const std::string& text, std::uint16_t default_port) {
    if (!em_) return resolve_target(text, default_port);
    const auto host_text = host().to_string();
    std::error_code ec;
    if (text.empty()) {
        responder_ = responder::start(own_probe_responder(host_text), ec);
        if (!responder_) throw error(ec, fmt::format("cannot start a responder on {}: {}", host_text, ec.message()));
        return socket_address::from_numeric(host_text, responder_->port(), ec);
    }
    const std::string_view digits = text.front() == ':' ? std::string_view{text}.substr(1) : std::string_view{text};
    unsigned port = 0;
    const auto [end, why] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (why != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535)
        throw error(errc::bad_argument,
                    fmt::format("'{}': with --link the probe runs inside the link's namespace and reaches this host "
                                "at its end of the link; give no target (a responder starts there) or :PORT of a "
                                "'nettool serve' on this host",
                                text));
    return socket_address::from_numeric(host_text, static_cast<std::uint16_t>(port), ec);
}

std::string probe_link::dns_server_text(const std::string& text) const {
    if (!em_) return text;
    if (text.empty()) return host().to_string();
    if (text.front() == ':') return host().to_string() + text;
    return text;
}

void probe_link::attach(report& rep) {
    if (!em_) return;
    link::add_link(rep, options_, em_->addresses(), em_->stop(), spec_);
}

}  // namespace nettool::cli
