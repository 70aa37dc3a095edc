// The protocol table (lib/src/packet/proto/protocol.hpp): every row is wired into the decoder,
// the hierarchy names, the printer and the inspector, and every protocol has a fixture in the
// truncation sweep (tests/support/packet_fixtures.hpp). A new row without them fails here.
#include "packet/proto/protocol.hpp"

#include <nettool/packet/capture.hpp>
#include <nettool/packet/inspect.hpp>

#include "support/packet_fixtures.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace nettool;
using namespace nettool::detail;
using nettool::test::fixture;

std::vector<fixture> every_fixture() {
    auto all = nettool::test::all_fixtures();
    for (auto& f : nettool::test::stop_fixtures()) all.push_back(std::move(f));
    return all;
}

TEST(ProtocolTable, OneRowPerLayerInOrderNamedAsTheHierarchyShowsIt) {
    ASSERT_EQ(protocols.size(), static_cast<std::size_t>(layer::count_));
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < protocols.size(); ++i) {
        const protocol& row = protocols[i];
        EXPECT_EQ(static_cast<std::size_t>(row.id), i) << row.name;
        EXPECT_FALSE(row.name.empty()) << i;
        EXPECT_EQ(layer_name(row.id), row.name);
        EXPECT_TRUE(names.insert(row.name).second) << "duplicate name " << row.name;
        EXPECT_NE(row.decode, nullptr) << row.name << " has no decode step";
        EXPECT_EQ(row.count == nullptr, row.count_key.empty()) << row.name;
    }
}

// Each key a row claims routes to that row's decode step.
TEST(ProtocolTable, EveryCarrierKeyLeadsToItsRow) {
    for (const protocol& row : protocols) {
        for (std::size_t k = 0; k < row.on.count; ++k) {
            const std::uint16_t key = row.on.keys[k];
            switch (row.on.by) {
                case carried_by::link_type:
                    EXPECT_EQ(find_carried(by_link_type, key), &row) << row.name;
                    EXPECT_TRUE(is_supported_link_type(key)) << row.name;
                    break;
                case carried_by::ethertype:
                    EXPECT_EQ(find_carried(by_ethertype, key), &row) << row.name;
                    break;
                case carried_by::ip_protocol:
                    ASSERT_LT(key, 256) << row.name;
                    EXPECT_EQ(&protocols[by_ip_protocol[key]], &row) << row.name;
                    break;
                case carried_by::port: EXPECT_EQ(find_carried(by_port, key), &row) << row.name; break;
                case carried_by::parent:
                    ADD_FAILURE() << row.name << ": a parent-reached row lists keys";
                    break;
            }
        }
        if (row.on.by != carried_by::parent) {
            EXPECT_GT(row.on.count, 0) << row.name << " is reached by no key";
        }
    }
}

// Every row's layer appears in a fixture's decode path (or, for a layer that never joins the
// path such as ipv6.ext, is where some prefix of a fixture stopped): the fixture reaches it
// through the table, and the truncation sweep cuts it at every length.
TEST(ProtocolTable, EveryRowIsReachedByAFixtureOfTheTruncationSweep) {
    std::set<layer> reached;
    for (const auto& fx : nettool::test::all_fixtures()) {
        auto full = decode(fx.link, fx.data);
        for (std::size_t i = 0; i < full.depth; ++i) reached.insert(full.path[i]);
        for (std::size_t n = 0; n < fx.data.size(); ++n) {
            std::vector<std::byte> prefix(fx.data.begin(), fx.data.begin() + static_cast<std::ptrdiff_t>(n));
            auto p = decode(fx.link, prefix);
            if (p.stopped_at) reached.insert(*p.stopped_at);
        }
    }
    for (const protocol& row : protocols)
        EXPECT_TRUE(reached.count(row.id))
            << row.name << " is reached by no fixture: add one to tests/support/packet_fixtures.hpp";
}

// A printing row writes exactly what follows the time in packet_line for a packet whose
// innermost printing layer it is; and every printing row is the one that prints for some fixture.
TEST(ProtocolTable, EveryPrintingRowWritesTheLineOfSomeFixture) {
    std::set<layer> printed;
    for (const auto& fx : every_fixture()) {
        auto p = decode(fx.link, fx.data);
        const auto wire = static_cast<std::uint32_t>(fx.data.size());
        const std::string line = packet_line(std::chrono::seconds{0}, p, wire);
        const std::string words = line.substr(line.find(' ') + 1);
        ASSERT_LE(p.own_depth, p.depth) << fx.name;
        std::string by_row;
        for (std::size_t i = p.own_depth; i-- > 0 && by_row.empty();) {
            const protocol& row = protocol_of(p.path[i]);
            fmt::memory_buffer out;
            if (row.print != nullptr && row.print(p, wire, out)) {
                by_row = fmt::to_string(out);
                printed.insert(row.id);
            }
        }
        if (by_row.empty()) {
            EXPECT_EQ(words.rfind("link type ", 0), 0u) << fx.name << ": " << line;
        } else {
            EXPECT_EQ(words, by_row) << fx.name;
        }
    }
    for (const protocol& row : protocols) {
        if (row.print != nullptr) {
            EXPECT_TRUE(printed.count(row.id)) << row.name << " prints, but for no fixture";
        }
    }
}

// Counted rows show in inspect's "protocols" under their key; rows with an analysis hook leave
// their mark in the result (a new hook needs a line in `marks`).
TEST(ProtocolTable, EveryCountedRowCountsAndEveryHookRuns) {
    const std::map<layer, std::function<bool(const inspect_result&)>> marks = {
        {layer::tcp,
         [](const inspect_result& r) {
             return !r.conversations.empty() && r.conversations[0].protocol == "tcp" &&
                    r.tcp.connections == 1;
         }},
        {layer::udp,
         [](const inspect_result& r) {
             return !r.conversations.empty() && r.conversations[0].protocol == "udp";
         }},
        {layer::dns, [](const inspect_result& r) { return r.dns.messages == 1; }},
    };
    std::set<layer> counted, hooked;
    for (const auto& fx : every_fixture()) {
        inspector insp{fx.link};
        insp.add(std::chrono::seconds{1}, fx.data, static_cast<std::uint32_t>(fx.data.size()));
        const inspect_result r = insp.result();
        const nlohmann::json j = r.protocols;
        const auto p = decode(fx.link, fx.data);
        for (std::size_t i = 0; i < p.depth; ++i) {
            const protocol& row = protocol_of(p.path[i]);
            if (row.count != nullptr) {
                EXPECT_EQ(r.protocols.*row.count, 1u) << fx.name << " " << row.name;
                EXPECT_EQ(j.value(std::string{row.count_key}, 0), 1) << fx.name << " " << row.name;
                counted.insert(row.id);
            }
            if (row.analyze != nullptr && i < p.own_depth) {
                auto m = marks.find(row.id);
                ASSERT_NE(m, marks.end()) << row.name << " has a hook but no mark in this test";
                EXPECT_TRUE(m->second(r)) << fx.name << " " << row.name;
                hooked.insert(row.id);
            }
        }
    }
    for (const protocol& row : protocols) {
        if (row.count != nullptr) {
            EXPECT_TRUE(counted.count(row.id)) << row.name;
        }
        if (row.analyze != nullptr) {
            EXPECT_TRUE(hooked.count(row.id)) << row.name;
        }
    }
}

}  // namespace
