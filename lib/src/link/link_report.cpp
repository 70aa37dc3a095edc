// The link's counters as JSON and as a table for people.

#include <nettool/link/emulator.hpp>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace nettool::link {

void to_json(nlohmann::json& j, const direction_stats& s) {
    j = nlohmann::json{
        {"packets_in", s.in},
        {"packets_out", s.out},
        {"bytes_in", s.bytes_in},
        {"bytes_out", s.bytes_out},
        {"dropped",
         {{"random_loss", s.dropped_random},
          {"burst_loss", s.dropped_burst},
          {"queue_full", s.dropped_queue_full},
          {"codel", s.dropped_codel},
          {"no_buffer", s.dropped_no_buffer},
          {"too_big", s.dropped_too_big},
          {"total", s.dropped()}}},
        {"duplicated", s.duplicated},
        {"reordered", s.reordered},
        {"corrupted", s.corrupted},
        {"queue_delay", latency_summary::from(s.queue_delay)},
    };
}

void to_json(nlohmann::json& j, const link_stats& s) {
    j = nlohmann::json{{"uplink", s.uplink},
                       {"downlink", s.downlink},
                       {"write_errors", s.write_errors},
                       {"capture_failed", s.capture_failed},
                       {"capture_written", s.capture_written},
                       {"uplink_overflow", s.uplink_overflow},
                       {"downlink_overflow", s.downlink_overflow},
                       {"elapsed_s", static_cast<double>(s.elapsed.count()) / 1e9}};
}

namespace {

std::string count(std::uint64_t n) {
    return fmt::format("{}", n);
}

std::string share(std::uint64_t n, std::uint64_t of) {
    if (n == 0) return "0";
    return fmt::format("{} ({})", n, format_percent(of ? static_cast<double>(n) / static_cast<double>(of) : 0.0));
}

}  // namespace

report make_report(const emulator_options& opt, const link_addresses& where, const link_stats& s) {
    report r("link");
    auto& d = r.data();
    d["host"] = {{"ipv4", where.host_v4.to_string()}, {"ipv6", where.host_v6.to_string()},
                 {"interface", where.host_interface}};
    d["peer"] = {{"ipv4", where.peer_v4.to_string()}, {"ipv6", where.peer_v6.to_string()},
                 {"interface", where.peer_interface}};
    d["config"] = {{"uplink", describe(opt.link.uplink)},
                   {"downlink", describe(opt.link.downlink)},
                   {"seed", opt.link.seed}};
    d["stats"] = s;
    if (!opt.capture_file.empty()) d["capture_file"] = opt.capture_file;

    table t;
    t.title = fmt::format("link {} ({}) <-> {} ({}), {}", where.host_v4.to_string(), where.host_interface,
                          where.peer_v4.to_string(), where.peer_interface,
                          format_duration(s.elapsed));
    t.header = {"", "uplink (namespace -> host)", "downlink (host -> namespace)"};
    const auto& u = s.uplink;
    const auto& w = s.downlink;
    t.add_row({"impairments", describe(opt.link.uplink), describe(opt.link.downlink)});
    t.add_row({"packets in", count(u.in), count(w.in)});
    t.add_row({"packets out", count(u.out), count(w.out)});
    t.add_row({"bytes out", format_bytes(static_cast<double>(u.bytes_out)), format_bytes(static_cast<double>(w.bytes_out))});
    t.add_row({"dropped: random loss", share(u.dropped_random, u.in), share(w.dropped_random, w.in)});
    t.add_row({"dropped: burst loss", share(u.dropped_burst, u.in), share(w.dropped_burst, w.in)});
    t.add_row({"dropped: queue full", share(u.dropped_queue_full, u.in), share(w.dropped_queue_full, w.in)});
    t.add_row({"dropped: codel", share(u.dropped_codel, u.in), share(w.dropped_codel, w.in)});
    if (u.dropped_no_buffer + w.dropped_no_buffer + u.dropped_too_big + w.dropped_too_big > 0) {
        t.add_row({"dropped: emulator full", share(u.dropped_no_buffer, u.in), share(w.dropped_no_buffer, w.in)});
        t.add_row({"dropped: over the MTU", share(u.dropped_too_big, u.in), share(w.dropped_too_big, w.in)});
    }
    if (s.uplink_overflow + s.downlink_overflow > 0)
        t.add_row({"dropped before the emulator (TUN queue full)", count(s.uplink_overflow), count(s.downlink_overflow)});
    t.add_row({"duplicated", share(u.duplicated, u.in), share(w.duplicated, w.in)});
    t.add_row({"reordered", share(u.reordered, u.in), share(w.reordered, w.in)});
    t.add_row({"corrupted", share(u.corrupted, u.in), share(w.corrupted, w.in)});
    t.add_row({"queue delay p50", format_percentile(u.queue_delay, 50), format_percentile(w.queue_delay, 50)});
    t.add_row({"queue delay p99", format_percentile(u.queue_delay, 99), format_percentile(w.queue_delay, 99)});
    r.add_table(std::move(t));

    if (s.write_errors > 0)
        r.add_reading(fmt::format("The kernel refused {} packets written to a TUN device (counted, not delivered).",
                                  s.write_errors));
    if (s.uplink_overflow + s.downlink_overflow > 0)
        r.add_reading(fmt::format(
            "The kernel dropped {} packets at the TUN devices' queues before the emulator read them: it fell "
            "behind the senders (CPU), so the path lost more than the impairments say.",
            s.uplink_overflow + s.downlink_overflow));
    if (s.capture_failed)
        r.add_reading(fmt::format("Writing {} failed ({}): it holds {} of {} packets, ending on a whole one.",
                                  opt.capture_file, s.capture_error.message(), s.capture_written,
                                  s.capture_offered));
    const auto queue_drops = u.dropped_queue_full + w.dropped_queue_full + u.dropped_codel + w.dropped_codel;
    if (queue_drops > 0)
        r.add_reading(fmt::format(
            "{} packets were dropped at the bottleneck queue: the senders offered more than the rate; TCP reads "
            "such drops as congestion and slows down.",
            queue_drops));
    return r;
}

void add_link(report& rep, const emulator_options& opt, const link_addresses& where, const link_stats& s,
              std::string_view spec) {
    const auto lr = make_report(opt, where, s);
    for (const auto& t : lr.tables()) rep.add_table(t);
    for (const auto& r : lr.readings()) rep.add_reading(r);
    rep.data()["link"] = lr.data();
    rep.data()["link"]["spec"] = spec;
}

}  // namespace nettool::link
