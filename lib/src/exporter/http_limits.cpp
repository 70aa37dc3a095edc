#include "exporter/http_limits.hpp"

#include <nettool/core/error.hpp>
#include <nettool/exporter/exporter.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nettool::exporter::detail {
namespace {

// The accept loop hands each connection to this queue; when max_queued_connections wait, it
// blocks, so further connections stay in the kernel's backlog instead of in memory.
class bounded_pool final : public httplib::TaskQueue {
public:
    explicit bounded_pool(std::size_t threads) {
        for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
    }
    void enqueue(std::function<void()> fn) override {
        std::unique_lock lock{mu_};
        room_.wait(lock, [this] { return jobs_.size() < http_caps::max_queued_connections || shutdown_; });
        jobs_.push_back(std::move(fn));
        ready_.notify_one();
    }
    void shutdown() override {
        {
            std::lock_guard lock{mu_};
            shutdown_ = true;
        }
        ready_.notify_all();
        room_.notify_all();
        for (auto& t : threads_) t.join();
    }

private:
    void run() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock{mu_};
                ready_.wait(lock, [this] { return !jobs_.empty() || shutdown_; });
                if (jobs_.empty()) return;  // shut down and drained
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            room_.notify_one();
            job();
        }
    }
    std::mutex mu_;
    std::condition_variable ready_, room_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    bool shutdown_ = false;
};

}  // namespace

void apply_http_limits(httplib::Server& server, std::size_t threads) {
    threads = std::clamp<std::size_t>(threads, 1, http_caps::max_threads);
    server.new_task_queue = [threads] { return new bounded_pool(threads); };
    server.set_payload_max_length(http_caps::max_request_body);
    server.set_read_timeout(http_caps::read_timeout_s, 0);
    server.set_write_timeout(http_caps::read_timeout_s, 0);
    server.set_keep_alive_max_count(100);
    server.set_keep_alive_timeout(http_caps::read_timeout_s);
}

std::uint16_t bind_or_throw(httplib::Server& server, const std::string& host, std::uint16_t port) {
    errno = 0;
    const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
    if (bound <= 0) {
        const std::error_code ec{errno ? errno : EADDRINUSE, std::system_category()};
        throw error(ec, fmt::format("cannot listen on {} port {}: {}", host, port, ec.message()));
    }
    return static_cast<std::uint16_t>(bound);
}

}  // namespace nettool::exporter::detail
