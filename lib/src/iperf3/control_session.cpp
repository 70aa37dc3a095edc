// The client's side of iperf3's control conversation, shared by the TCP and UDP clients.
#include "iperf3/control_session.hpp"

#include <nettool/core/cursor.hpp>
#include <nettool/core/error.hpp>
#include <nettool/core/report.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>

namespace nettool::detail {

using namespace std::chrono_literals;

std::span<const std::byte> iperf3_bytes(std::string_view s) noexcept {
    return std::as_bytes(std::span{s.data(), s.size()});
}

std::int64_t iperf3_stream_id(unsigned index) noexcept {
    return index == 0 ? 1 : static_cast<std::int64_t>(index) + 2;
}

double process_cpu_seconds() noexcept {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void iperf3_control::connect(const std::string& cookie) {
    std::error_code ec;
    fd_ = tcp_connect(target_, mono_clock::now() + timeout_, ec);
    if (ec) throw error(ec, fmt::format("connecting to iperf3 server {}: {}", who(), ec.message()));
    set_int_option(fd_.get(), IPPROTO_TCP, TCP_NODELAY, 1);
    try {
        write(iperf3_bytes(cookie), "the cookie");
    } catch (const error&) {
        // A busy server sends ACCESS_DENIED and closes without reading the cookie, which can
        // fail the write: its state byte may still be waiting to be read.
        read_state("PARAM_EXCHANGE");
        throw;
    }
}

void iperf3_control::write(std::span<const std::byte> data, std::string_view what) {
    std::error_code ec;
    if (!write_all(fd_.get(), data, mono_clock::now() + timeout_, ec))
        throw error(ec, fmt::format("iperf3 server {}: sending {}: {}", who(), what, words(ec)));
}

void iperf3_control::send_state(iperf3::state s) {
    const std::array<std::byte, 1> b{static_cast<std::byte>(static_cast<std::int8_t>(s))};
    write(b, iperf3::state_name(static_cast<std::int8_t>(s)));
}

void iperf3_control::send_json(const std::string& json, std::string_view what) {
    std::array<std::byte, 4> len{};
    byte_writer w{len};
    w.u32(static_cast<std::uint32_t>(json.size()));
    write(len, what);
    write(iperf3_bytes(json), what);
}

iperf3::state iperf3_control::read_state(std::string_view waiting_for) {
    std::array<std::byte, 1> b{};
    read(b, mono_clock::now() + timeout_, fmt::format("waiting for {}", waiting_for));
    const auto raw = std::to_integer<std::uint8_t>(b[0]);
    states_.push_back(static_cast<std::int8_t>(raw));
    const auto s = iperf3::parse_state(raw);
    if (!s)
        throw error(errc::version_mismatch,
                    fmt::format("iperf3 server {} sent state byte {} where {} was expected, which iperf3 3.x "
                                "does not define: another protocol version, or not iperf3",
                                who(), static_cast<int>(static_cast<std::int8_t>(raw)), waiting_for));
    if (*s == iperf3::state::access_denied)
        throw error(errc::rejected, fmt::format("iperf3 server {} is busy running a test (ACCESS_DENIED): "
                                                "try again later",
                                                who()));
    if (*s == iperf3::state::server_error) server_error();
    if (*s == iperf3::state::server_terminate)
        throw error(errc::rejected, fmt::format("iperf3 server {} was terminated during the test "
                                                "(SERVER_TERMINATE)",
                                                who()));
    return *s;
}

void iperf3_control::expect(iperf3::state want) {
    const auto name = iperf3::state_name(static_cast<std::int8_t>(want));
    const auto got = read_state(name);
    if (got != want)
        throw error(errc::protocol_error, fmt::format("iperf3 server {} sent {} where {} was expected", who(),
                                                      iperf3::state_name(static_cast<std::int8_t>(got)), name));
}

std::vector<std::byte> iperf3_control::read_message(std::string_view what) {
    std::array<std::byte, 4> head{};
    const auto deadline = mono_clock::now() + timeout_;
    read(head, deadline, fmt::format("waiting for {}", what));
    const auto f = iperf3::parse_frame(head, 0);  // the length alone; cap checked below
    if (f.length == 0)
        throw error(errc::protocol_error, fmt::format("iperf3 server {} sent an empty {}", who(), what));
    if (f.length > iperf3::max_message)
        throw error(errc::too_large, fmt::format("iperf3 server {} announced {} bytes of {}, over nettool's limit of {}",
                                                 who(), f.length, what, iperf3::max_message));
    std::vector<std::byte> msg(4 + f.length);
    std::copy(head.begin(), head.end(), msg.begin());
    read(std::span{msg}.subspan(4), deadline, fmt::format("in the middle of {} ({} bytes announced)", what, f.length));
    const auto whole = iperf3::parse_frame(msg);
    if (whole.status != iperf3::frame_status::ok)
        throw error(errc::protocol_error, fmt::format("iperf3 server {} sent a broken {}", who(), what));
    return {whole.json.begin(), whole.json.end()};
}

iperf3::peer_results iperf3_control::exchange_results(const iperf3::peer_results& mine) {
    expect(iperf3::state::exchange_results);
    send_json(iperf3::results_json(mine), "nettool's results");
    const auto msg = read_message("the server's results");
    auto theirs = iperf3::parse_results(msg);
    expect(iperf3::state::display_results);
    send_state(iperf3::state::iperf_done);
    return theirs;
}

std::string iperf3_control::words(const std::error_code& ec) {
    if (ec == std::errc::connection_aborted) return "the server closed the connection";
    if (ec == std::errc::connection_reset) return "connection reset by the server";
    return ec.message();
}

void iperf3_control::read(std::span<std::byte> out, mono_clock::time_point deadline, const std::string& what) {
    std::error_code ec;
    if (read_exact(fd_.get(), out, deadline, ec)) return;
    if (ec == errc::timed_out)
        throw error(errc::timed_out, fmt::format("iperf3 server {} sent nothing for {} {}", who(),
                                                 format_duration(timeout_), what));
    throw error(ec, fmt::format("iperf3 server {}: {} {}", who(), words(ec), what));
}

void iperf3_control::server_error() {
    std::array<std::byte, 8> codes{};
    std::error_code ec;
    // i_errno always; errno when the server has one to send (3.12 may close after i_errno).
    if (!read_exact(fd_.get(), std::span{codes}.first(4), mono_clock::now() + timeout_, ec))
        throw error(errc::rejected,
                    fmt::format("iperf3 server {} reported an error (SERVER_ERROR) without its code", who()));
    std::size_t n = 4;
    if (read_exact(fd_.get(), std::span{codes}.subspan(4),
                   mono_clock::now() + std::min<std::chrono::nanoseconds>(timeout_, 1s), ec))
        n = 8;
    const auto e = iperf3::parse_server_error(std::span{codes}.first(n));
    const auto code = e ? e->iperf_error : 0;
    if (code == iperf3::error_auth_failed)
        throw error(errc::rejected,
                    fmt::format("iperf3 server {} requires authentication (it runs with --rsa-private-key-path "
                                "and --authorized-users-path), which nettool does not support (SERVER_ERROR {}: {})",
                                who(), code, iperf3::describe_iperf_error(code)));
    std::string sys;
    if (e && e->sys_errno && *e->sys_errno != 0)
        sys = fmt::format(", errno {}: {}", *e->sys_errno, std::strerror(*e->sys_errno));
    throw error(errc::rejected, fmt::format("iperf3 server {} failed: {} (SERVER_ERROR, iperf3 error {}{})", who(),
                                            iperf3::describe_iperf_error(code), code, sys));
}

}  // namespace nettool::detail
