#include <nettool/probe/on_wire.hpp>

#include <nettool/packet/capture_file.hpp>
#include <nettool/packet/flow_timeline.hpp>
#include <nettool/probe/protocol.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace nettool {

namespace {

using std::chrono::nanoseconds;
using opt_ns = std::optional<nanoseconds>;

// Requests after the first whose echo turnaround is read from the capture (enough for a median).
constexpr std::uint64_t echo_sample_limit = 1000;

opt_ns since(const std::optional<wire_time>& t, const std::optional<wire_time>& origin) {
    if (!t || !origin) return std::nullopt;
    return *t - *origin;
}

opt_ns median(std::vector<nanoseconds>& v) {
    if (v.empty()) return std::nullopt;
    const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    return *mid;
}

// The handshake events every TCP timeline starts with.
void add_handshake(first_exchange& f, const tcp_flow_times& t, nanoseconds app_handshake) {
    f.found = t.syn.has_value();
    f.handshake = since(t.ack, t.syn);
    f.app_handshake = app_handshake;
    f.events.push_back({"SYN sent", since(t.syn, t.syn), std::nullopt});
    f.events.push_back({"SYN/ACK back", since(t.syn_ack, t.syn), std::nullopt});
    f.events.push_back({"ACK sent: handshake done", f.handshake, app_handshake});
}

std::string relative(const opt_ns& d) {
    return d ? "+" + format_duration(*d) : std::string{"not captured"};
}

}  // namespace

first_exchange on_wire(const std::string& capture, const tcp_connect_result& r) {
    first_exchange f;
    f.probe = "tcp connect";
    f.client = r.first_local;
    f.server = r.target;
    auto file = capture_file::open(capture);
    const auto t = find_tcp_flow(file, {r.first_local, r.target, {}, {}});
    add_handshake(f, t, r.first_connect);
    return f;
}

first_exchange on_wire(const std::string& capture, const tcp_rr_result& r, std::uint32_t size) {
    first_exchange f;
    f.probe = "tcp rr";
    f.client = r.local;
    f.server = r.target;
    // Offsets: [0] the hello; [i >= 1] the end of request/response i - 1 (the first request
    // rides with the hello, and the responder answers the hello before echoing it).
    const std::uint64_t messages = std::min<std::uint64_t>(r.completed, echo_sample_limit + 1);
    tcp_flow_query q{r.local, r.target, {}, {}};
    q.client_offsets.push_back(proto::hello_size);
    q.server_offsets.push_back(proto::hello_reply_size);
    for (std::uint64_t i = 1; i <= messages; ++i) {
        q.client_offsets.push_back(proto::hello_size + i * size);
        q.server_offsets.push_back(proto::hello_reply_size + i * size);
    }
    auto file = capture_file::open(capture);
    const auto t = find_tcp_flow(file, q);
    add_handshake(f, t, r.connect_time);
    f.app_first_reply = r.first_reply;
    if (messages == 0) return f;
    f.first_reply = since(t.server_reached[1], t.syn);
    f.events.push_back({"hello + first request sent", since(t.client_reached[1], t.syn), std::nullopt});
    f.events.push_back({"hello answered", since(t.server_reached[0], t.syn), std::nullopt});
    f.events.push_back({"first reply complete", f.first_reply, r.first_reply});
    f.hello_turnaround = since(t.server_reached[0], t.client_reached[0]);
    std::vector<nanoseconds> turns;
    turns.reserve(messages);
    for (std::size_t i = 2; i < t.client_reached.size(); ++i)
        if (const auto d = since(t.server_reached[i], t.client_reached[i])) turns.push_back(*d);
    f.echo_samples = turns.size();
    f.echo_turnaround_p50 = median(turns);
    return f;
}

first_exchange on_wire(const std::string& capture, const udp_rr_result& r) {
    first_exchange f;
    f.probe = "udp rr";
    f.client = r.local;
    f.server = r.target;
    f.app_first_reply = r.first_reply;
    auto file = capture_file::open(capture);
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(r.sent, echo_sample_limit + 1));
    const auto t = find_udp_flow(file, r.local, r.target, n);
    f.found = !t.client_sent.empty();
    if (!f.found) return f;
    const auto origin = t.client_sent.front();
    f.events.push_back({"first datagram sent", nanoseconds{0}, std::nullopt});
    // Datagrams pair up in order only when none went missing or came twice.
    const bool paired = r.lost == 0 && r.duplicates == 0 && r.reordered == 0;
    if (!t.server_sent.empty() && paired) f.first_reply = t.server_sent.front() - origin;
    f.events.push_back({"first answer back", f.first_reply, r.first_reply});
    if (!paired) return f;
    std::vector<nanoseconds> turns;
    for (std::size_t i = 1; i < std::min(t.client_sent.size(), t.server_sent.size()); ++i)
        turns.push_back(t.server_sent[i] - t.client_sent[i]);
    f.echo_samples = turns.size();
    f.echo_turnaround_p50 = median(turns);
    return f;
}

void to_json(nlohmann::json& j, const first_exchange& f) {
    auto us = [](const opt_ns& d) -> nlohmann::json {
        if (!d) return nullptr;
        return std::chrono::duration<double, std::micro>(*d).count();
    };
    j = {{"probe", f.probe},
         {"client", f.client.to_string()},
         {"server", f.server.to_string()},
         {"found", f.found},
         {"handshake_us", us(f.handshake)},
         {"first_reply_us", us(f.first_reply)},
         {"hello_turnaround_us", us(f.hello_turnaround)},
         {"echo_turnaround_p50_us", us(f.echo_turnaround_p50)},
         {"echo_samples", f.echo_samples},
         {"application", {{"handshake_us", us(f.app_handshake)}, {"first_reply_us", us(f.app_first_reply)}}}};
    auto& events = j["events"] = nlohmann::json::array();
    for (const auto& e : f.events)
        events.push_back({{"what", e.what}, {"wire_us", us(e.wire)}, {"application_us", us(e.application)}});
}

void add_on_wire(report& rep, const first_exchange& f) {
    auto& all = rep.data()["on_wire"];
    if (!all.is_array()) all = nlohmann::json::array();
    all.push_back(f);
    if (!f.found) {
        rep.add_reading(fmt::format("On the wire: the {} connection from {} is not in the capture, so its "
                                    "timeline cannot be checked.",
                                    f.probe, f.client.to_string()));
        return;
    }
    table t{fmt::format("On the wire: first exchange of {} ({} to {})", f.probe, f.client.to_string(),
                        f.server.to_string()),
            {"", "wire", "application"},
            {}};
    for (const auto& e : f.events)
        t.add_row({e.what, relative(e.wire), e.application ? format_duration(*e.application) : ""});
    if (f.hello_turnaround) t.add_row({"responder: hello in to answer out", format_duration(*f.hello_turnaround), ""});
    if (f.echo_turnaround_p50)
        t.add_row({fmt::format("responder: request in to response out (p50 of {})", f.echo_samples),
                   format_duration(*f.echo_turnaround_p50), ""});
    rep.add_table(std::move(t));
    std::vector<std::string> parts;
    if (f.handshake && f.app_handshake.count() > 0)
        parts.push_back(fmt::format("the handshake took {} on the wire and {} as the application timed it",
                                    format_duration(*f.handshake), format_duration(f.app_handshake)));
    if (f.first_reply && f.app_first_reply.count() > 0)
        parts.push_back(fmt::format("the first reply came {} after the {} on the wire and {} as the application "
                                    "timed it",
                                    format_duration(*f.first_reply), f.probe == "udp rr" ? "first datagram" : "SYN",
                                    format_duration(f.app_first_reply)));
    if (!parts.empty()) {
        std::string s = "On the wire, " + parts[0];
        for (std::size_t i = 1; i < parts.size(); ++i) s += "; " + parts[i];
        rep.add_reading(s + " (the application's figures add its own system calls and wake-ups).");
    }
}

}  // namespace nettool
