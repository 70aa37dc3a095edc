#include <nettool/packet/capture.hpp>

#include <nettool/core/error.hpp>

#include <fmt/format.h>
#include <pcap.h>

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <ctime>
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
    pcap_dumper_t* dumper = nullptr;
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
        if (dumper) pcap_dump_close(dumper);
        if (p) pcap_close(p);
    }

    static void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* data) {
        auto* self = static_cast<impl*>(static_cast<void*>(user));
        if (self->dumper) pcap_dump(static_cast<u_char*>(static_cast<void*>(self->dumper)), h, data);
        auto n = self->captured.fetch_add(1) + 1;
        self->bytes.fetch_add(h->len);
        if (self->handler) {
            captured_packet cp;
            // Opened with nanosecond precision: tv_usec holds nanoseconds.
            cp.time = std::chrono::nanoseconds{static_cast<std::int64_t>(h->ts.tv_sec) * 1'000'000'000 +
                                               static_cast<std::int64_t>(h->ts.tv_usec)};
            cp.data = std::as_bytes(std::span<const u_char>{data, h->caplen});
            cp.wire_length = h->len;
            self->handler(cp);
        }
        if (self->opts.max_packets != 0 && n >= self->opts.max_packets) pcap_breakloop(self->p);
    }

    void refresh_ps() {
        pcap_stat ps{};
        if (pcap_stats(p, &ps) == 0) {
            std::lock_guard lock{stats_mutex};
            last_ps.received = ps.ps_recv;
            last_ps.dropped_kernel = ps.ps_drop;
            last_ps.dropped_interface = ps.ps_ifdrop;
        }
    }

    void run() {
        auto deadline = std::chrono::steady_clock::now() + opts.duration;
        int fd = pcap_get_selectable_fd(p);
        auto last_flush = std::chrono::steady_clock::now();
        while (!stop_requested.load()) {
            if (opts.max_packets != 0 && captured.load() >= opts.max_packets) break;
            auto now = std::chrono::steady_clock::now();
            if (opts.duration.count() != 0 && now >= deadline) break;
            pollfd pfd{fd, POLLIN, 0};
            int rc = fd >= 0 ? ::poll(&pfd, 1, 100) : 1;
            if (rc < 0 && errno != EINTR) break;
            int n = pcap_dispatch(p, -1, &impl::on_packet, static_cast<u_char*>(static_cast<void*>(this)));
            if (n == PCAP_ERROR) break;  // interface went away
            if (dumper && now - last_flush > std::chrono::milliseconds{200}) {
                pcap_dump_flush(dumper);
                last_flush = now;
            }
            refresh_ps();
        }
        refresh_ps();
        if (dumper) pcap_dump_flush(dumper);
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
    s->p = pcap_create(s->iface.c_str(), errbuf);
    if (s->p == nullptr) throw error(errc::unknown_interface, errbuf);
    pcap_set_snaplen(s->p, opts.snaplen);
    pcap_set_promisc(s->p, opts.promiscuous ? 1 : 0);
    pcap_set_immediate_mode(s->p, opts.immediate ? 1 : 0);
    pcap_set_timeout(s->p, 100);
    if (opts.buffer_size > 0) pcap_set_buffer_size(s->p, opts.buffer_size);
    pcap_set_tstamp_precision(s->p, PCAP_TSTAMP_PRECISION_NANO);
    const int rc = pcap_activate(s->p);
    if (rc < 0) {
        std::string detail = pcap_geterr(s->p);
        if (detail.empty()) detail = pcap_statustostr(rc);
        if (rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_PROMISC_PERM_DENIED)
            throw error(errc::permission_denied, std::move(detail));
        if (rc == PCAP_ERROR_NO_SUCH_DEVICE) throw error(errc::unknown_interface, std::move(detail));
        throw error(errc::protocol_error, std::move(detail));
    }
    s->link = pcap_datalink(s->p);
    if (!opts.filter.empty()) {
        bpf_program prog{};
        if (pcap_compile(s->p, &prog, opts.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
            throw error(errc::bad_argument, fmt::format("filter \"{}\": {}", opts.filter, pcap_geterr(s->p)));
        const int set = pcap_setfilter(s->p, &prog);
        pcap_freecode(&prog);
        if (set != 0) throw error(errc::bad_argument, pcap_geterr(s->p));
    }
    if (pcap_setnonblock(s->p, 1, errbuf) != 0) throw error(errc::protocol_error, errbuf);
    if (!opts.output_file.empty()) {
        errno = 0;
        s->dumper = pcap_dump_open(s->p, opts.output_file.c_str());
        if (s->dumper == nullptr)
            throw error(std::error_code{errno != 0 ? errno : EIO, std::system_category()}, pcap_geterr(s->p));
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
        if (impl_->dumper) {
            pcap_dump_close(impl_->dumper);
            impl_->dumper = nullptr;
        }
        impl_->stopped = true;
    }
    return impl_->snapshot();
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

// ---- tcpdump -n style lines ------------------------------------------------------------------

namespace {

std::string ipv4_text(std::uint32_t a) {
    return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

std::string ipv6_text(const std::array<std::uint8_t, 16>& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
    return buf;
}

std::string tcp_flags(std::uint8_t f) {
    std::string s;
    if (f & tcp_view::syn) s += 'S';
    if (f & tcp_view::fin) s += 'F';
    if (f & tcp_view::psh) s += 'P';
    if (f & tcp_view::rst) s += 'R';
    if (f & tcp_view::urg) s += 'U';
    if (f & tcp_view::ece) s += 'E';
    if (f & tcp_view::cwr) s += 'W';
    if (f & tcp_view::ack_flag) s += '.';
    return s.empty() ? "none" : s;
}

}  // namespace

std::string packet_line(std::chrono::nanoseconds time, const decoded_packet& p, std::uint32_t wire_length) {
    std::time_t secs = static_cast<std::time_t>(time.count() / 1'000'000'000);
    std::tm tm{};
    localtime_r(&secs, &tm);
    char hms[16];
    std::strftime(hms, sizeof hms, "%H:%M:%S", &tm);
    std::string out = fmt::format("{}.{:06} ", hms, (time.count() % 1'000'000'000) / 1000);

    std::string src, dst, family;
    if (p.ipv4) {
        family = "IP";
        src = ipv4_text(p.ipv4->src());
        dst = ipv4_text(p.ipv4->dst());
    } else if (p.ipv6) {
        family = "IP6";
        src = ipv6_text(p.ipv6->src());
        dst = ipv6_text(p.ipv6->dst());
    }
    if (p.tcp) {
        out += fmt::format("{} {}.{} > {}.{}: Flags [{}], seq {}", family, src, p.tcp->src_port(), dst,
                           p.tcp->dst_port(), tcp_flags(p.tcp->flags()), p.tcp->seq());
        if (p.tcp->has(tcp_view::ack_flag)) out += fmt::format(", ack {}", p.tcp->ack());
        out += fmt::format(", win {}, length {}", p.tcp->window(), p.tcp->payload().size());
    } else if (p.udp) {
        out += fmt::format("{} {}.{} > {}.{}: ", family, src, p.udp->src_port(), dst, p.udp->dst_port());
        if (p.dns) {
            auto q = p.dns->first_question();
            out +=
                fmt::format("DNS {} id {} {}{}", p.dns->is_response() ? "response" : "query", p.dns->id(),
                            q ? q->name.view() : std::string_view{"?"},
                            p.dns->is_response() ? fmt::format(" rcode {}", p.dns->rcode()) : std::string{});
        } else {
            out += fmt::format("UDP, length {}", p.udp->payload().size());
        }
    } else if (p.icmp) {
        out +=
            fmt::format("{} {} > {}: ICMP type {} code {}", family, src, dst, p.icmp->type(), p.icmp->code());
    } else if (p.icmpv6) {
        out += fmt::format("{} {} > {}: ICMP6 type {} code {}", family, src, dst, p.icmpv6->type(),
                           p.icmpv6->code());
    } else if (p.arp) {
        out += fmt::format("ARP, {}, length {}", p.arp->operation() == 1 ? "Request" : "Reply", wire_length);
    } else if (!family.empty()) {
        out += fmt::format("{} {} > {}: proto {}, length {}", family, src, dst, p.ip_protocol, wire_length);
    } else {
        out +=
            fmt::format("link type {}, length {} ({})", p.link_type, wire_length, decode_stop_name(p.stop));
    }
    return out;
}

}  // namespace nettool
