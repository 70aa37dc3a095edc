#pragma once
// --link SPEC on the probe commands (tcp, udp, dns): the run crosses an emulated link built for
// it. The probe runs inside the link's namespace; this host is reached at its end of the link.

#include "cli.hpp"

#include <nettool/link/emulator.hpp>
#include <nettool/probe/responder.hpp>

#include <memory>
#include <string>
#include <type_traits>

namespace nettool::cli {

class probe_link {
public:
    /// Builds the link when spec is not empty. A bad spec is a usage error (exit 2); missing
    /// privileges or a refused step throw nettool::error (exit 1).
    explicit probe_link(const std::string& spec);
    ~probe_link();
    probe_link(const probe_link&) = delete;
    probe_link& operator=(const probe_link&) = delete;

    bool active() const noexcept { return em_ != nullptr; }
    /// The host's end of the link (valid when active()).
    const ip_address& host() const noexcept { return em_->addresses().host_v4; }

    /// The probe's target. Without a link: HOST[:PORT] resolved. With one: empty text starts a
    /// responder in-process at this host's end of the link; ":PORT" or "PORT" is that port there
    /// (a 'nettool serve' running on this host); anything else is a usage error.
    socket_address target(const std::string& text, std::uint16_t default_port);

    /// A DNS --server as given, or with a link, ":PORT" (or nothing) meaning this host's end of
    /// the link (port 53 by default): a server on this host listening on every address.
    std::string dns_server_text(const std::string& text) const;

    /// Runs fn inside the link's namespace (here, without a link) and returns what it returns.
    template <typename F>
    std::invoke_result_t<F> run(F&& fn) {
        if (!em_) return fn();
        std::invoke_result_t<F> out{};
        em_->run_inside([&] { out = fn(); });
        return out;
    }

    /// Stops the link and adds its tables and its JSON (under "link") to rep.
    void attach(report& rep);

private:
    link::emulator_options options_;
    std::string spec_;
    std::unique_ptr<link::emulator> em_;
    std::unique_ptr<responder> responder_;
};

}  // namespace nettool::cli
