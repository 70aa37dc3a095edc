#include "cmd_classify.hpp"

#include "files.hpp"

#include <nettool/net/address.hpp>
#include <nettool/net/address_list.hpp>
#include <nettool/core/error.hpp>
#include <nettool/packet/inspect.hpp>
#include <nettool/netclass/netclass.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <optional>
#include <set>
#include <memory>

namespace nettool::cli {

namespace {

constexpr std::size_t explain_limit = 8;  // explanations are printed for at most this many addresses

// Bulk text: one line per address, streamed, then the totals.
int run_bulk_text(const bulk_classifier& fast, const std::vector<ip_address>& targets) {
    destination_counts counts;
    std::string out = bulk_header_line();
    for (const auto& t : targets) {
        const auto c = fast.classify(t);
        counts.add(c.kind);
        append_bulk_line(out, c);
        if (out.size() > (1U << 16)) {
            if (!write_stdout(out)) return exit_failed;  // main() says why
            out.clear();
        }
    }
    out += '\n' + counts.sentence() + '\n';
    if (!write_stdout(out) || !flush_stdout()) return exit_failed;
    return counts[destination_kind::unreachable] > 0 ? exit_failed : exit_ok;
}

}  // namespace

void setup_classify(CLI::App& app, context& ctx) {
    auto opts = std::make_shared<classify_options>();
    auto* sub = app.add_subcommand(
        "classify",
        "Is an address loopback, this host (self), on a directly connected network (local), behind a router "
        "(remote) or unreachable? Decided from this host's interfaces and routing table like 'ip route get'; "
        "nothing is sent. Without addresses, lists the interfaces and routes.");
    sub->add_option("address", opts->addresses, "IPv4 or IPv6 destination addresses");
    sub->add_option(
        "-f,--file", opts->file,
        "Classify the addresses in this file, one per line ('#' comments allowed); '-' reads stdin");
    sub->add_option("--pcap", opts->pcap,
                    "Classify both endpoints of every TCP/UDP conversation in this pcap or pcapng file");
    sub->add_flag("--explain", opts->explain, "Show the binary explanation even for more than 8 addresses");
    sub->add_flag("--no-explain", opts->no_explain, "Only the summary table, no binary explanation");
    sub->callback([opts, &ctx] { ctx.exit_status = run_classify(*opts, ctx); });
}

int run_classify(const classify_options& opts, const context& ctx) {
    std::vector<ip_address> targets;
    for (const auto& a : opts.addresses) {
        auto ip = ip_address::parse(a);
        if (!ip) return fail(fmt::format("'{}' is not an IPv4 or IPv6 address", a), exit_usage);
        targets.push_back(*ip);
    }
    if (!opts.file.empty()) {
        // A file named on the command line that cannot be opened, is not text or is not a list
        // of addresses is a usage error, like a bad address typed on the command line.
        try {
            const auto listed = read_address_list(opts.file);
            targets.insert(targets.end(), listed.begin(), listed.end());
        } catch (const error& e) {
            return fail(e.what(), input_file_status(e.code()));
        }
    }

    if (!opts.pcap.empty()) {
        // Every distinct endpoint of the capture's conversations, in first-seen order.
        inspect_options io;
        io.max_flows = 1u << 20;
        inspect_result r;
        try {
            r = inspect_file(opts.pcap, io);
        } catch (const error& e) {
            return fail(fmt::format("--pcap {}: {}", opts.pcap, e.what()),
                        input_file_status(e.code()));
        }
        std::set<std::string> seen;
        for (const auto& c : r.conversations) {
            for (const auto* a : {&c.address_a, &c.address_b}) {
                if (!seen.insert(*a).second) continue;
                if (auto ip = ip_address::parse(*a)) targets.push_back(*ip);
            }
        }
    }
    const bool from_input = !opts.file.empty() || !opts.pcap.empty();

    std::error_code ec;
    const auto view = host_view::load(ec);
    if (ec) return fail("reading interfaces and routes", ec);
    if (targets.empty() && !from_input) {
        emit(ctx, make_report(view));
        return exit_ok;
    }

    const bool bulk = from_input || targets.size() > explain_limit;
    if (bulk && !ctx.global.json && !opts.explain) return run_bulk_text(bulk_classifier(view), targets);

    std::optional<bulk_classifier> fast;
    if (bulk) fast.emplace(view);
    const bool explain_each =
        !opts.no_explain && (opts.explain || (!from_input && targets.size() <= explain_limit));
    std::vector<classification> results;
    results.reserve(targets.size());
    for (const auto& t : targets) results.push_back(fast ? fast->classify(t) : classify(view, t));
    emit(ctx, make_report(results, explain_each));
    for (const auto& c : results)
        if (c.kind == destination_kind::unreachable) return exit_failed;
    return exit_ok;
}

}  // namespace nettool::cli
