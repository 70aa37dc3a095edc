// The link emulator: the namespace, the two TUN devices and the two forwarding loops.

#include <nettool/link/emulator.hpp>

#include <nettool/core/error.hpp>

#include <nettool/packet/packet.hpp>
#include <nettool/packet/pcap_writer.hpp>

#include "netlink_config.hpp"
#include "tun.hpp"
#include "udp_train.hpp"

#include <fmt/format.h>
#include <pcap.h>

#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>
#include <fstream>
#include <charconv>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <set>
#include <thread>

namespace nettool::link {

namespace {

using clock = std::chrono::steady_clock;
constexpr auto publish_every = std::chrono::milliseconds{50};
// Packets read per wake-up before the loop looks at the clock, the pipe and the stop flag again.
constexpr int read_batch = 64;
// The largest read from a TUN device: the virtio_net_hdr and a 64 KB IP packet (a GSO super-packet).
constexpr std::size_t read_buffer_size = detail::vnet_header_size + 65536;
// How far ahead of a packet's due time the loop wakes and starts to spin (see forward()).
constexpr std::chrono::nanoseconds spin_initial{std::chrono::microseconds{100}};
constexpr std::chrono::nanoseconds spin_min{std::chrono::microseconds{10}};
constexpr std::chrono::nanoseconds spin_max{std::chrono::milliseconds{2}};
constexpr std::chrono::nanoseconds spin_margin{std::chrono::microseconds{10}};

// The last 32 timer wake-up delays, to set the next timer early enough for nearly all of them.
class lateness_window {
public:
    void add(std::chrono::nanoseconds late) noexcept {
        ring_[next_++ % ring_.size()] = std::max(late, std::chrono::nanoseconds{0});
    }
    std::chrono::nanoseconds second_largest() const noexcept {
        std::chrono::nanoseconds first{0}, second{0};
        for (const auto v : ring_) {
            if (v > first) {
                second = first;
                first = v;
            } else if (v > second) {
                second = v;
            }
        }
        return second;
    }

private:
    std::array<std::chrono::nanoseconds, 32> ring_{};
    std::size_t next_ = 0;
};

// Packets the kernel dropped at a TUN device's transmit queue (the emulator did not read them
// in time): the TX "drop" column of /proc/thread-self/net/dev, in the calling thread's namespace.
std::uint64_t tx_dropped(const std::string& device) {
    std::ifstream in("/proc/thread-self/net/dev");
    for (std::string line; std::getline(in, line);) {
        const std::string_view v(line);
        const auto colon = v.find(':');
        if (colon == std::string_view::npos) continue;
        auto name = v.substr(0, colon);
        while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
        if (name != device) continue;
        // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
        std::string_view rest = v.substr(colon + 1);
        std::uint64_t value = 0;
        for (int field = 0; field < 12; ++field) {
            while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
            const auto [end, why] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
            if (why != std::errc{}) return 0;
            rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
        }
        return value;
    }
    return 0;
}

std::error_code last_error() noexcept {
    return {errno, std::system_category()};
}

// The wire packets a packet read from a TUN device stands for, and their bytes.
struct wire_size {
    std::uint64_t packets = 1;
    std::uint64_t bytes = 0;
};

// One packet, or for a GSO super-packet (a TCP TSO or UDP USO train the kernel handed over
// whole) the segments it would have cut: ceil(payload / gso_size), each carrying its own copy
// of the IP and TCP or UDP headers.
wire_size wire_size_of(const detail::vnet_header& h, std::span<const std::byte> ip) noexcept {
    wire_size w{1, ip.size()};
    if ((h.gso_type & ~detail::vnet_gso_ecn) == detail::vnet_gso_none || h.gso_size == 0) return w;
    std::size_t headers = 0;
    std::uint8_t protocol = 0;
    if (const auto v4 = ipv4_view::parse(ip)) {
        headers = v4->header_length();
        protocol = v4->protocol();
    } else if (const auto v6 = ipv6_view::parse(ip)) {
        headers = ipv6_view::header_size;
        protocol = v6->next_header();
    } else {
        return w;
    }
    if (protocol == ip_proto::tcp) {
        const auto tcp = tcp_view::parse(ip.subspan(headers));
        if (!tcp) return w;
        headers += tcp->header_length();
    } else if (protocol == ip_proto::udp) {
        headers += udp_view::header_size;
    } else {
        return w;
    }
    if (ip.size() <= headers) return w;
    w.packets = (ip.size() - headers + h.gso_size - 1) / h.gso_size;
    w.bytes = ip.size() + (w.packets - 1) * headers;
    return w;
}

[[noreturn]] void fail_step(const std::error_code& ec, std::string_view step) {
    if (ec == std::errc::operation_not_permitted || ec == std::errc::permission_denied)
        throw error(errc::permission_denied,
                    fmt::format("nettool link needs root or CAP_NET_ADMIN and CAP_SYS_ADMIN ({}: {})", step,
                                ec.message()));
    throw error(ec, fmt::format("cannot build the link: {}: {}", step, ec.message()));
}

// The third octet N of 100.64.N.0/30 that no interface of this namespace uses yet. Called with
// the lock file held, so two emulators starting together pick different subnets.
int free_subnet() {
    std::set<int> used;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) fail_step(last_error(), "listing this host's addresses");
    for (auto* a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
        const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
        const std::uint32_t v = ntohl(sin->sin_addr.s_addr);
        if ((v >> 16) == ((100u << 8) | 64u)) used.insert(static_cast<int>((v >> 8) & 0xff));
    }
    ::freeifaddrs(list);
    for (int n = 0; n < 256; ++n)
        if (!used.contains(n)) return n;
    throw error(errc::bad_argument, "every subnet 100.64.0-255.0/30 is in use: too many links at once");
}

ip_address v6_of(int n, int host) {
    ip_address a;
    a.family = ip_family::v6;
    const std::array<std::uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8, 0x6e, 0x74, 0, static_cast<std::uint8_t>(n),
                                         0,    0,    0,    0,    0,    0,    0, static_cast<std::uint8_t>(host)};
    a.bytes = b;
    return a;
}

class fd_guard {
public:
    explicit fd_guard(int fd = -1) noexcept : fd_(fd) {}
    ~fd_guard() { reset(); }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

}  // namespace

bool have_link_privileges() noexcept {
    __user_cap_header_struct hdr{};
    hdr.version = _LINUX_CAPABILITY_VERSION_3;
    std::array<__user_cap_data_struct, 2> data{};
    if (::syscall(SYS_capget, &hdr, data.data()) != 0) return ::geteuid() == 0;
    const auto has = [&](int cap) { return (data[static_cast<std::size_t>(cap / 32)].effective >> (cap % 32)) & 1u; };
    return has(CAP_NET_ADMIN) && has(CAP_SYS_ADMIN);
}

struct emulator::impl {
    emulator_options opt;
    link_addresses addr;
    fd_guard link_ns;
    fd_guard host_tun;
    fd_guard peer_tun;
    fd_guard stop_fd;
    clock::time_point started;
    clock::time_point ended{};
    bool capture_failed = false;
    std::uint64_t up_overflow = 0;
    std::uint64_t down_overflow = 0;
    timeval wall_started{};

    pipe downlink;
    pipe uplink;
    std::thread down_thread;
    std::thread up_thread;
    std::atomic<std::uint64_t> write_errors{0};
    std::atomic<bool> stopping{false};
    bool stopped = false;

    mutable std::mutex snapshot_mutex;
    direction_stats down_snapshot;
    direction_stats up_snapshot;

    std::mutex capture_mutex;
    pcap_writer writer;  // --capture's file; written under capture_mutex
    bool capturing = false;
    std::error_code capture_error;
    std::uint64_t capture_written = 0;
    std::uint64_t capture_offered = 0;

    explicit impl(const emulator_options& o)
        : opt(o),
          downlink(o.link.downlink, o.link.seed * 2 + 1, std::max<std::size_t>(pipe::default_slot_size, o.mtu)),
          uplink(o.link.uplink, o.link.seed * 2 + 2, std::max<std::size_t>(pipe::default_slot_size, o.mtu)) {}

    // Every write checked (pcap_writer): a full disk stops the recording, the file is cut back to
    // its last whole packet, and stop() says so.
    void record(std::span<const std::byte> p, clock::time_point when) {
        const auto since = std::chrono::duration_cast<std::chrono::microseconds>(when - started);
        const auto wall = std::chrono::seconds{wall_started.tv_sec} + std::chrono::microseconds{wall_started.tv_usec} +
                          since;
        const std::lock_guard lock(capture_mutex);
        writer.write(wall, p, static_cast<std::uint32_t>(p.size()));
    }

    // One direction: read what arrives on `in`, hand it to the pipe, write what the pipe
    // releases to `out`. Between packets the loop sleeps in ppoll, but a sleeping vCPU wakes
    // 50 to 300 us after its timer here: so it sets the timer `early` (learned from how late
    // wake-ups were) and spins the last stretch, reading `in` as it spins, to release each
    // packet within a few microseconds of its due time. A batch of reads shares one timestamp
    // (the clock read before the first): the packets in it were waiting in the device by then,
    // or came in within the few microseconds the batch takes.
    void forward(int in, int out, pipe& p, direction_stats& snapshot) {
        ::prctl(PR_SET_TIMERSLACK, 1UL);
        // Reads land after the virtio_net_hdr's room; writes put a zero header (an ordinary
        // packet, checksums done) before what the pipe releases.
        std::array<std::byte, read_buffer_size> buf;
        const detail::vnet_header plain{};
        std::array<pollfd, 2> fds{pollfd{in, POLLIN, 0}, pollfd{stop_fd.get(), POLLIN, 0}};
        auto published = clock::now();
        std::chrono::nanoseconds early = spin_initial;
        lateness_window lateness;
        // Reads what the device holds, up to read_batch packets; true when it may hold more.
        auto read_batch_now = [&] {
            const auto arrived = clock::now();
            for (int i = 0; i < read_batch; ++i) {
                const ssize_t n = ::read(in, buf.data(), buf.size());
                if (n <= static_cast<ssize_t>(detail::vnet_header_size)) return false;
                p.offer({buf.data() + detail::vnet_header_size, static_cast<std::size_t>(n) - detail::vnet_header_size},
                        arrived);
            }
            return true;
        };
        bool more = false;  // the last batch was full: read again before sleeping
        for (;;) {
            auto now = clock::now();
            while (auto packet = p.pop(now)) {
                const std::array<iovec, 2> iov{iovec{const_cast<detail::vnet_header*>(&plain), sizeof plain},
                                               iovec{const_cast<std::byte*>(packet->data()), packet->size()}};
                if (::writev(out, iov.data(), 2) != static_cast<ssize_t>(sizeof plain + packet->size()))
                    write_errors.fetch_add(1, std::memory_order_relaxed);
                if (capturing) record(*packet, now);
            }
            if (now - published >= publish_every) {
                const std::lock_guard lock(snapshot_mutex);
                snapshot = p.stats();
                published = now;
            }
            if (stopping.load(std::memory_order_relaxed)) break;
            if (more) {  // a full batch: the device may hold more, take it before any sleep
                more = read_batch_now();
                continue;
            }
            const auto due = p.next_due();
            if (due && *due - now <= early) {  // close enough: spin, taking arrivals as they come
                more = read_batch_now();
                continue;
            }
            auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(publish_every);
            if (due) wait = std::min(wait, std::chrono::duration_cast<std::chrono::nanoseconds>(*due - now - early));
            const timespec ts{static_cast<time_t>(wait.count() / 1000000000), static_cast<long>(wait.count() % 1000000000)};
            const auto wake_at = now + wait;
            const int ready = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
            if (ready < 0 && errno != EINTR) break;
            if (ready == 0 && due) {
                // Learn how late the timer fires: early covers all but the worst of the last 32.
                lateness.add(std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - wake_at));
                early = std::clamp(lateness.second_largest() + spin_margin, spin_min, spin_max);
            }
            if (fds[1].revents != 0) break;
            if ((fds[0].revents & POLLIN) != 0) more = read_batch_now();
        }
        const std::lock_guard lock(snapshot_mutex);
        snapshot = p.stats();
    }

    // A direction without impairment: the pipe would hand every packet back at once, so the
    // loop writes each packet straight from its read buffer, virtio_net_hdr and all. With
    // offloads (no --capture), a TCP or UDP GSO super-packet crosses as one read and one write,
    // and the kernel on the other side takes it whole, as from a virtio NIC; and datagrams read
    // one by one leave in trains (udp_train.hpp), up to 64 per write. The counters count the
    // wire packets. Fixed memory, like the pipe: two buffers.
    void pass_through(int in, int out, direction_stats& snapshot, bool trains) {
        std::array<std::byte, read_buffer_size> buf;
        detail::udp_train train;
        std::array<pollfd, 2> fds{pollfd{in, POLLIN, 0}, pollfd{stop_fd.get(), POLLIN, 0}};
        direction_stats counted;
        auto published = clock::now();
        auto send = [&](std::span<const std::byte> packet, std::uint64_t packets) {
            if (::write(out, packet.data(), packet.size()) != static_cast<ssize_t>(packet.size()))
                write_errors.fetch_add(packets, std::memory_order_relaxed);
        };
        auto send_train = [&] {
            if (!train.empty()) {
                const auto n = train.segments();
                send(train.take(), n);
            }
        };
        bool more = false;
        for (;;) {
            if (!more) {
                const timespec ts{0, std::chrono::nanoseconds{publish_every}.count()};
                const int ready = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
                if (ready < 0 && errno != EINTR) break;
                if (fds[1].revents != 0) break;
            }
            more = false;
            for (int i = 0; i < read_batch; ++i) {
                const ssize_t n = ::read(in, buf.data(), buf.size());
                if (n <= static_cast<ssize_t>(detail::vnet_header_size)) break;
                detail::vnet_header h;
                std::memcpy(&h, buf.data(), sizeof h);
                const std::span<const std::byte> ip{buf.data() + detail::vnet_header_size,
                                                    static_cast<std::size_t>(n) - detail::vnet_header_size};
                const auto w = wire_size_of(h, ip);
                counted.in += w.packets;
                counted.out += w.packets;
                counted.bytes_in += w.bytes;
                counted.bytes_out += w.bytes;
                more = i + 1 == read_batch;
                if (capturing) record(ip, clock::now());
                if (trains && train.append(h, ip)) continue;
                send_train();
                if (trains && train.begin(h, ip)) continue;
                send({buf.data(), static_cast<std::size_t>(n)}, w.packets);
            }
            send_train();  // a train never waits for the next wake-up
            const auto now = clock::now();
            if (now - published >= publish_every) {
                const std::lock_guard lock(snapshot_mutex);
                snapshot = counted;
                published = now;
            }
            if (stopping.load(std::memory_order_relaxed)) break;
        }
        const std::lock_guard lock(snapshot_mutex);
        snapshot = counted;
    }
};

emulator::emulator(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

emulator::~emulator() {
    stop();
}

std::unique_ptr<emulator> emulator::start(const emulator_options& opt) {
    if (opt.mtu < 1280 || opt.mtu > 65535)
        throw error(errc::bad_argument, fmt::format("MTU {} is out of range: give 1280 to 65535", opt.mtu));
    if (!have_link_privileges())
        throw error(errc::permission_denied,
                    "nettool link needs root or CAP_NET_ADMIN and CAP_SYS_ADMIN (it creates TUN devices and a "
                    "network namespace): run it with sudo");
    auto s = std::make_unique<impl>(opt);
    auto& a = s->addr;

    if (!opt.capture_file.empty()) {
        try {
            s->writer = pcap_writer::open(opt.capture_file, DLT_RAW, 65535, pcap_writer::precision::micro);
        } catch (const error& e) {
            throw error(e.code(), fmt::format("--capture {}", e.what()));
        }
        s->capturing = true;
    }

    std::error_code ec;
    {
        // Choosing the subnet and taking it is one step for every nettool on this host.
        // The lock is on /dev/net/tun itself, so nothing is left on disk.
        fd_guard lock(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
        if (lock.get() < 0) fail_step(last_error(), "opening /dev/net/tun");
        if (::flock(lock.get(), LOCK_EX) != 0) fail_step(last_error(), "locking /dev/net/tun");
        const int n = free_subnet();
        a.host_v4 = ip_address::v4((100u << 24) | (64u << 16) | (static_cast<std::uint32_t>(n) << 8) | 1u);
        a.peer_v4 = ip_address::v4((100u << 24) | (64u << 16) | (static_cast<std::uint32_t>(n) << 8) | 2u);
        a.host_v6 = v6_of(n, 1);
        a.peer_v6 = v6_of(n, 2);

        auto host = detail::open_tun("ntlink%d", ec);
        if (ec) fail_step(ec, "creating the host's TUN device");
        s->host_tun.reset(host.fd);
        a.host_interface = host.name;
        detail::netlink_config nl(ec);
        if (ec) fail_step(ec, "opening rtnetlink");
        if ((ec = nl.set_up(host.ifindex, opt.mtu))) fail_step(ec, "bringing " + host.name + " up");
        if ((ec = nl.add_address(host.ifindex, a.host_v4, 30))) fail_step(ec, "adding " + a.host_v4.to_string());
        if ((ec = nl.add_address(host.ifindex, a.host_v6, 64))) fail_step(ec, "adding " + a.host_v6.to_string());
    }

    // The peer side: a thread leaves this namespace for a new one, creates the other TUN device
    // there and configures it; the namespace lives on through the descriptor kept of it.
    std::string step;
    std::thread setup([&] {
        if (::unshare(CLONE_NEWNET) != 0) {
            ec = last_error();
            step = "creating a network namespace";
            return;
        }
        s->link_ns.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
        if (s->link_ns.get() < 0) {
            ec = last_error();
            step = "opening the new namespace";
            return;
        }
        auto peer = detail::open_tun("ntlink%d", ec);
        if (ec) {
            step = "creating the namespace's TUN device";
            return;
        }
        s->peer_tun.reset(peer.fd);
        a.peer_interface = peer.name;
        detail::netlink_config nl(ec);
        if (ec) {
            step = "opening rtnetlink in the namespace";
            return;
        }
        const int lo = static_cast<int>(::if_nametoindex("lo"));
        if ((ec = nl.set_up(lo, 0))) step = "bringing lo up";
        else if ((ec = nl.set_up(peer.ifindex, opt.mtu))) step = "bringing " + peer.name + " up";
        else if ((ec = nl.add_address(peer.ifindex, a.peer_v4, 30))) step = "adding " + a.peer_v4.to_string();
        else if ((ec = nl.add_address(peer.ifindex, a.peer_v6, 64))) step = "adding " + a.peer_v6.to_string();
        else if ((ec = nl.add_default_route(peer.ifindex, ip_family::v4))) step = "adding the IPv4 default route";
        else if ((ec = nl.add_default_route(peer.ifindex, ip_family::v6))) step = "adding the IPv6 default route";
    });
    setup.join();
    if (ec) fail_step(ec, step);

    s->stop_fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (s->stop_fd.get() < 0) fail_step(last_error(), "creating an eventfd");
    s->started = clock::now();
    ::gettimeofday(&s->wall_started, nullptr);
    // A direction without impairment bypasses its pipe; without --capture, its reading device
    // also takes GSO super-packets (a capture then shows every wire packet on its own).
    const bool down_plain = opt.link.downlink == direction_config{};
    const bool up_plain = opt.link.uplink == direction_config{};
    bool offloads = opt.capture_file.empty();  // trains of datagrams need the kernel's USO too
    if (offloads) {
        if (down_plain) offloads = detail::enable_offloads(s->host_tun.get(), ec);
        if (!ec && up_plain) offloads = detail::enable_offloads(s->peer_tun.get(), ec) && offloads;
        if (ec) fail_step(ec, "enabling the TUN devices' offloads");
    }
    auto* raw = s.get();
    raw->down_thread = std::thread([raw, down_plain, offloads] {
        if (down_plain)
            raw->pass_through(raw->host_tun.get(), raw->peer_tun.get(), raw->down_snapshot, offloads);
        else
            raw->forward(raw->host_tun.get(), raw->peer_tun.get(), raw->downlink, raw->down_snapshot);
    });
    raw->up_thread = std::thread([raw, up_plain, offloads] {
        if (up_plain)
            raw->pass_through(raw->peer_tun.get(), raw->host_tun.get(), raw->up_snapshot, offloads);
        else
            raw->forward(raw->peer_tun.get(), raw->host_tun.get(), raw->uplink, raw->up_snapshot);
    });
    return std::unique_ptr<emulator>(new emulator(std::move(s)));
}

std::unique_ptr<emulator> emulator::start(const emulator_options& opt, std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return start(opt); });
}

const link_addresses& emulator::addresses() const noexcept {
    return impl_->addr;
}

const emulator_options& emulator::options() const noexcept {
    return impl_->opt;
}

int emulator::namespace_fd() const noexcept {
    return impl_->link_ns.get();
}

void emulator::run_inside(const std::function<void()>& fn) const {
    std::exception_ptr failure;
    std::thread t([&] {
        try {
            if (::setns(impl_->link_ns.get(), CLONE_NEWNET) != 0) fail_step(last_error(), "entering the namespace");
            fn();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    t.join();
    if (failure) std::rethrow_exception(failure);
}

namespace {

// Starts argv with the link's addresses in its environment: inside the namespace `ns` (and
// killed with this process), or, with ns = -1, here in a process group of its own (so ending
// the group ends what it started). Everything the child needs is built before fork: after it,
// only async-signal-safe calls.
pid_t spawn(const std::vector<std::string>& argv, const link_addresses& a, int ns) {
    if (argv.empty()) throw error(errc::bad_argument, "no command to run");
    std::vector<std::string> env_text;
    for (char** e = environ; *e; ++e) {
        const std::string_view v(*e);
        if (!v.starts_with("NETTOOL_LINK_")) env_text.emplace_back(v);
    }
    env_text.push_back("NETTOOL_LINK_HOST=" + a.host_v4.to_string());
    env_text.push_back("NETTOOL_LINK_HOST6=" + a.host_v6.to_string());
    env_text.push_back("NETTOOL_LINK_PEER=" + a.peer_v4.to_string());
    env_text.push_back("NETTOOL_LINK_PEER6=" + a.peer_v6.to_string());
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> argp;
    for (auto& x : args) argp.push_back(x.data());
    argp.push_back(nullptr);
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) throw error(last_error(), fmt::format("cannot start {}: {}", argv[0], last_error().message()));
    if (pid == 0) {
        if (ns >= 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);
        } else {
            ::setpgid(0, 0);
        }
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction dfl{};
        dfl.sa_handler = SIG_DFL;
        ::sigaction(SIGPIPE, &dfl, nullptr);  // nettool ignores SIGPIPE; the command gets the default
        ::sigaction(SIGXFSZ, &dfl, nullptr);  // and SIGXFSZ
        if (ns >= 0 && ::setns(ns, CLONE_NEWNET) != 0) ::_exit(127);
        ::execvpe(argp[0], argp.data(), envp.data());
        const char msg[] = "nettool link: cannot run the command (not found or not executable)\n";
        [[maybe_unused]] auto w = ::write(2, msg, sizeof msg - 1);
        ::_exit(127);
    }
    return pid;
}

}  // namespace

int emulator::spawn_inside(const std::vector<std::string>& argv) const {
    return spawn(argv, impl_->addr, impl_->link_ns.get());
}

int emulator::spawn_on_host(const std::string& shell_command) const {
    return spawn({"/bin/sh", "-c", shell_command}, impl_->addr, -1);
}

link_stats emulator::snapshot() const {
    link_stats s;
    {
        const std::lock_guard lock(impl_->snapshot_mutex);
        s.uplink = impl_->up_snapshot;
        s.downlink = impl_->down_snapshot;
    }
    s.write_errors = impl_->write_errors.load(std::memory_order_relaxed);
    s.capture_failed = impl_->capture_failed;
    s.capture_error = impl_->capture_error;
    s.capture_written = impl_->capture_written;
    s.capture_offered = impl_->capture_offered;
    s.uplink_overflow = impl_->up_overflow;
    s.downlink_overflow = impl_->down_overflow;
    const auto end = impl_->stopped ? impl_->ended : clock::now();
    s.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(end - impl_->started);
    return s;
}

link_stats emulator::stop() noexcept {
    if (!impl_->stopped) {
        impl_->stopped = true;
        impl_->ended = clock::now();
        impl_->stopping.store(true, std::memory_order_relaxed);
        const std::uint64_t one = 1;
        [[maybe_unused]] auto w = ::write(impl_->stop_fd.get(), &one, sizeof one);
        if (impl_->down_thread.joinable()) impl_->down_thread.join();
        if (impl_->up_thread.joinable()) impl_->up_thread.join();
        // Before the devices go: what their queues dropped because the loops fell behind.
        impl_->down_overflow = tx_dropped(impl_->addr.host_interface);
        std::thread inside([this] {
            if (::setns(impl_->link_ns.get(), CLONE_NEWNET) == 0)
                impl_->up_overflow = tx_dropped(impl_->addr.peer_interface);
        });
        inside.join();
        impl_->host_tun.reset();
        impl_->peer_tun.reset();
        if (impl_->capturing) {
            const std::lock_guard lock(impl_->capture_mutex);
            impl_->capture_failed = !impl_->writer.close();
            impl_->capture_error = impl_->writer.error();
            impl_->capture_written = impl_->writer.written();
            impl_->capture_offered = impl_->writer.offered();
        }
    }
    auto s = snapshot();
    return s;
}

}  // namespace nettool::link
