#pragma once
// A throw-away lab of network namespaces for tests: unique names (nt<pid><tag><n>), interfaces
// created directly inside the namespaces (never on the host's own interfaces), and everything
// removed in the destructor even when the test fails.

#include "support/process.hpp"

#include <unistd.h>

#include <string>
#include <vector>

namespace nettool::test {

class netns_lab {
public:
    explicit netns_lab(std::string tag) : prefix_("nt" + std::to_string(::getpid()) + std::move(tag)) {}
    netns_lab(const netns_lab&) = delete;
    netns_lab& operator=(const netns_lab&) = delete;
    ~netns_lab() {
        for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it)
            run_process({"ip", "netns", "del", *it}, std::chrono::seconds{10});
    }

    /// Creates a namespace with loopback up; returns its full name ("" on failure).
    std::string add_namespace(const std::string& short_name) {
        const std::string name = prefix_ + short_name;
        if (run_process({"ip", "netns", "add", name}).exit_code != 0) return {};
        namespaces_.push_back(name);
        run_process({"ip", "-n", name, "link", "set", "lo", "up"});
        return name;
    }

    /// Runs "ip -n NS args..." and returns true on success; failures are kept in errors().
    bool ip(const std::string& ns, std::vector<std::string> args) {
        std::vector<std::string> argv{"ip", "-n", ns};
        argv.insert(argv.end(), args.begin(), args.end());
        auto r = run_process(argv, std::chrono::seconds{10});
        if (r.exit_code != 0) {
            std::string cmd;
            for (const auto& a : argv) cmd += a + " ";
            errors_ += cmd + ": " + r.err;
        }
        return r.exit_code == 0;
    }

    /// A veth pair with one end in each namespace.
    bool veth(const std::string& ns1, const std::string& if1, const std::string& ns2,
              const std::string& if2) {
        auto r = run_process({"ip", "link", "add", "name", if1, "netns", ns1, "type", "veth", "peer", "name",
                              if2, "netns", ns2},
                             std::chrono::seconds{10});
        if (r.exit_code != 0) errors_ += "veth " + if1 + "/" + if2 + ": " + r.err;
        return r.exit_code == 0 && ip(ns1, {"link", "set", if1, "up"}) && ip(ns2, {"link", "set", if2, "up"});
    }

    /// A bridge inside the namespace, up (a switch for the lab's hosts; see attach()).
    bool bridge(const std::string& ns, const std::string& name) {
        return ip(ns, {"link", "add", "name", name, "type", "bridge"}) && ip(ns, {"link", "set", name, "up"});
    }

    /// Plugs an interface of the namespace into a bridge of the same namespace.
    bool attach(const std::string& ns, const std::string& ifname, const std::string& bridge_name) {
        return ip(ns, {"link", "set", ifname, "master", bridge_name});
    }

    /// Sets sysctls inside the namespace ("net.ipv4.ip_forward=1", ...) with one "sysctl -qw"; true on
    /// success, failures are kept in errors(). The net.* keys are per namespace: the host's stay as they are.
    bool sysctl(const std::string& ns, const std::vector<std::string>& settings) {
        std::vector<std::string> argv{"ip", "netns", "exec", ns, "sysctl", "-qw"};
        argv.insert(argv.end(), settings.begin(), settings.end());
        auto r = run_process(argv, std::chrono::seconds{10});
        if (r.exit_code != 0) {
            errors_ += "sysctl in " + ns + ":";
            for (const auto& s : settings) errors_ += " " + s;
            errors_ += ": " + r.err;
        }
        return r.exit_code == 0;
    }

    /// Runs argv inside the namespace.
    process_result exec(const std::string& ns, std::vector<std::string> argv,
                        std::chrono::seconds timeout = std::chrono::seconds{60}) {
        std::vector<std::string> full{"ip", "netns", "exec", ns};
        full.insert(full.end(), argv.begin(), argv.end());
        return run_process(full, timeout);
    }

    const std::string& errors() const noexcept { return errors_; }
    /// What every namespace name of this lab starts with (to check that none is left behind).
    const std::string& prefix() const noexcept { return prefix_; }

private:
    std::string prefix_;
    std::vector<std::string> namespaces_;
    std::string errors_;
};

}  // namespace nettool::test
