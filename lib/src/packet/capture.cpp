#include <nettool/packet/capture.hpp>

#include <nettool/core/error.hpp>
#include <nettool/packet/pcap_writer.hpp>

#include <fmt/format.h>
#include "packet/pcap_api.hpp"

#include <atomic>
#include <cerrno>
#include <fstream>
#include <mutex>
#include <poll.h>
#include <sstream>
#include <thread>

namespace nettool {

struct capture_session::impl {
    capture_options opts;
    std::string iface;
    pcap_t* p = nullptr;
    pcap_writer writer;  // open when opts.output_file is set
    std::atomic<std::uint64_t> written{0};
    std::error_code output_error;  // set by the capture thread, read after it is joined
    int link = 0;
    std::thread thread;
    std::atomic<bool> stop_requested{false};
    std::atomic<bool> running{false};
    std::atomic<std::uint64_t> captured{0}, bytes{0};
    std::mutex stats_mutex;
    capture_stats last_ps;  // libpcap's counters, refreshed by the capture thread
    packet_handler handler;
    std::mutex done_mutex;
    bool stopped = false;

    ~impl() {
        if (p) detail::pcap().close(p);
    }

    static void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* data) {
        auto* self = static_cast<impl*>(static_cast<void*>(user));
        auto n = self->captured.fetch_add(1) + 1;
        self->bytes.fetch_add(h->len);
        captured_packet cp;
        // Opened with nanosecond precision: tv_usec holds nanoseconds.
        cp.time = std::chrono::nanoseconds{static_cast<std::int64_t>(h->ts.tv_sec) * 1'000'000'000 +
                                           static_cast<std::int64_t>(h->ts.tv_usec)};
        cp.data = std::as_bytes(std::span<const u_char>{data, h->caplen});
        cp.wire_length = h->len;
        if (self->writer.is_open() && !self->writer.write(cp.time, cp.data, cp.wire_length)) {
            // The file failed (full disk, read-only, too large): stop rather than count packets
            // that go nowhere.
            detail::pcap().breakloop(self->p);
            return;
        }
        if (self->handler) self->handler(cp);
        if (self->opts.max_packets != 0 && n >= self->opts.max_packets) detail::pcap().breakloop(self->p);
    }

    void refresh_ps() {
        pcap_stat ps{};
        if (detail::pcap().stats(p, &ps) == 0) {
            std::lock_guard lock{stats_mutex};
            last_ps.received = ps.ps_recv;
            last_ps.dropped_kernel = ps.ps_drop;
            last_ps.dropped_interface = ps.ps_ifdrop;
        }
    }

    void run() {
        auto deadline = std::chrono::steady_clock::now() + opts.duration;
        int fd = detail::pcap().get_selectable_fd(p);
        auto last_flush = std::chrono::steady_clock::now();
        while (!stop_requested.load()) {
            if (opts.max_packets != 0 && captured.load() >= opts.max_packets) break;
            auto now = std::chrono::steady_clock::now();
            if (opts.duration.count() != 0 && now >= deadline) break;
            pollfd pfd{fd, POLLIN, 0};
            int rc = fd >= 0 ? ::poll(&pfd, 1, 100) : 1;
            if (rc < 0 && errno != EINTR) break;
            int n = detail::pcap().dispatch(p, -1, &impl::on_packet, static_cast<u_char*>(static_cast<void*>(this)));
            if (n == PCAP_ERROR) break;  // interface went away
            if (writer.is_open() && now - last_flush > std::chrono::milliseconds{200}) {
                writer.flush();
                written.store(writer.written());
                last_flush = now;
            }
            if (writer.error()) break;
            refresh_ps();
        }
        refresh_ps();
        if (writer.is_open()) {
            writer.close();
            written.store(writer.written());
            output_error = writer.error();
        }
        running.store(false);
    }

    capture_stats snapshot() {
        capture_stats s;
        {
            std::lock_guard lock{stats_mutex};
            s = last_ps;
        }
        s.captured = captured.load();
        s.bytes = bytes.load();
        s.written = written.load();
        return s;
    }
};

capture_session::capture_session(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
capture_session::~capture_session() {
    stop();
}

std::unique_ptr<capture_session> capture_session::open(const capture_options& opts) {
    auto s = std::make_unique<impl>();
    s->opts = opts;
    s->iface = opts.interface.empty() ? default_capture_interface() : opts.interface;
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    s->p = detail::pcap().create(s->iface.c_str(), errbuf);
    if (s->p == nullptr) throw error(errc::unknown_interface, errbuf);
    detail::pcap().set_snaplen(s->p, opts.snaplen);
    detail::pcap().set_promisc(s->p, opts.promiscuous ? 1 : 0);
    detail::pcap().set_immediate_mode(s->p, opts.immediate ? 1 : 0);
    detail::pcap().set_timeout(s->p, 100);
    if (opts.buffer_size > 0) detail::pcap().set_buffer_size(s->p, opts.buffer_size);
    detail::pcap().set_tstamp_precision(s->p, PCAP_TSTAMP_PRECISION_NANO);
    const int rc = detail::pcap().activate(s->p);
    if (rc < 0) {
        std::string detail = detail::pcap().geterr(s->p);
        if (detail.empty()) detail = detail::pcap().statustostr(rc);
        if (rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_PROMISC_PERM_DENIED)
            throw error(errc::permission_denied, std::move(detail));
        if (rc == PCAP_ERROR_NO_SUCH_DEVICE) throw error(errc::unknown_interface, std::move(detail));
        throw error(errc::protocol_error, std::move(detail));
    }
    s->link = detail::pcap().datalink(s->p);
    if (!opts.filter.empty()) {
        bpf_program prog{};
        if (detail::pcap().compile(s->p, &prog, opts.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
            throw error(errc::bad_argument, fmt::format("filter \"{}\": {}", opts.filter, detail::pcap().geterr(s->p)));
        const int set = detail::pcap().setfilter(s->p, &prog);
        detail::pcap().freecode(&prog);
        if (set != 0) throw error(errc::bad_argument, detail::pcap().geterr(s->p));
    }
    if (detail::pcap().setnonblock(s->p, 1, errbuf) != 0) throw error(errc::protocol_error, errbuf);
    if (!opts.output_file.empty()) {
        s->writer = pcap_writer::open(opts.output_file, s->link, detail::pcap().snapshot(s->p), pcap_writer::precision::nano);
    }
    return std::unique_ptr<capture_session>(new capture_session(std::move(s)));
}

std::unique_ptr<capture_session> capture_session::open(const capture_options& opts, std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return open(opts); });
}

const std::string& capture_session::interface() const noexcept {
    return impl_->iface;
}
int capture_session::link_type() const noexcept {
    return impl_->link;
}

void capture_session::start(packet_handler handler) {
    if (impl_->running.load() || impl_->thread.joinable()) return;
    impl_->handler = std::move(handler);
    impl_->running.store(true);
    impl_->thread = std::thread([this] { impl_->run(); });
}

bool capture_session::running() const noexcept {
    return impl_->running.load();
}

void capture_session::wait() noexcept {
    while (impl_->running.load()) std::this_thread::sleep_for(std::chrono::milliseconds{20});
}

capture_stats capture_session::stop() noexcept {
    std::lock_guard lock{impl_->done_mutex};
    if (!impl_->stopped) {
        impl_->stop_requested.store(true);
        if (impl_->thread.joinable()) impl_->thread.join();
        impl_->running.store(false);
        if (impl_->p) impl_->refresh_ps();
        if (impl_->writer.is_open()) {  // never started: the thread did not close it
            impl_->writer.close();
            impl_->written.store(impl_->writer.written());
            impl_->output_error = impl_->writer.error();
        }
        impl_->stopped = true;
    }
    return impl_->snapshot();
}

const std::error_code& capture_session::output_error() const noexcept {
    return impl_->output_error;
}

capture_stats capture_session::stats() const noexcept {
    return impl_->snapshot();
}

std::string default_capture_interface() {
    std::ifstream route{"/proc/net/route"};
    std::string line;
    std::getline(route, line);  // header
    while (std::getline(route, line)) {
        std::istringstream in{line};
        std::string iface, dest;
        if (in >> iface >> dest && dest == "00000000") return iface;
    }
    return "lo";
}

}  // namespace nettool
