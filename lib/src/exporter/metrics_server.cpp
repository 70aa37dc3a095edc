#include <nettool/exporter/metrics_server.hpp>

#include "exporter/http_limits.hpp"

#include <nettool/exporter/exposition.hpp>

#include <fmt/format.h>
#include <httplib.h>

#include <thread>

namespace nettool::exporter {
namespace {

// Prometheus scrapes one request at a time; two threads leave room for a curl beside it.
constexpr std::size_t metrics_threads = 2;

class server final : public metrics_server {
public:
    explicit server(metrics_server_options o) : opt_(std::move(o)) {
        detail::apply_http_limits(http_, metrics_threads);
        http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(opt_.render ? opt_.render() : std::string{}, std::string{content_type});
        });
        http_.Get("/-/healthy", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("OK\n", "text/plain; charset=utf-8");
        });
        http_.Get("/", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("nettool serve\n/metrics             the responder's counters\n/-/healthy           liveness\n",
                            "text/plain; charset=utf-8");
        });
        port_ = detail::bind_or_throw(http_, opt_.host, opt_.port);
        thread_ = std::thread([this] { http_.listen_after_bind(); });
        // stop() does nothing before the loop has started: wait for it (briefly), so that a
        // server destroyed at once still stops.
        for (int i = 0; i < 2000 && !http_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds{1});
        if (opt_.log)
            opt_.log(fmt::format("metrics on http://{}:{}/metrics",
                                 opt_.host.find(':') != std::string::npos ? "[" + opt_.host + "]" : opt_.host, port_));
    }
    ~server() override {
        http_.stop();
        if (thread_.joinable()) thread_.join();
    }
    std::uint16_t port() const noexcept override { return port_; }

private:
    metrics_server_options opt_;
    httplib::Server http_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

}  // namespace

std::unique_ptr<metrics_server> start_metrics_server(const metrics_server_options& options) {
    return std::make_unique<server>(options);
}

}  // namespace nettool::exporter
