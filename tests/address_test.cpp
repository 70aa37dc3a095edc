// Addresses and prefixes: parse/print, the ipcalc arithmetic, RFC 3021, and `nettool netmask`.
#include <nettool/net/address.hpp>
#include <nettool/net/endpoint.hpp>

#include "support/process.hpp"
#include "support/files.hpp"

#include <nettool/core/error.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>

namespace {

using nettool::errc;
using nettool::ip_address;
using nettool::ip_prefix;
using nettool::mac_address;
using nettool::prefix_summary;
using nettool::test::run_nettool;

ip_address A(const char* s) {
    auto a = ip_address::parse(s);
    EXPECT_TRUE(a.has_value()) << s;
    return a.value_or(ip_address{});
}

ip_prefix P(const char* s) {
    std::error_code ec;
    auto p = ip_prefix::parse(s, ec);
    EXPECT_FALSE(ec) << s << ": " << ec.message();
    return p;
}

using nettool::test::count_lines;

TEST(Address, ParsesAndPrintsBothFamilies) {
    EXPECT_EQ(A("192.0.2.1").to_string(), "192.0.2.1");
    EXPECT_EQ(A("192.0.2.1").to_v4(), 0xC0000201U);
    EXPECT_EQ(ip_address::v4(0xC6336401U).to_string(), "198.51.100.1");
    EXPECT_EQ(A("2001:0db8:0000:0000:0000:0000:0000:0001").to_string(), "2001:db8::1");
    EXPECT_EQ(A("::1").family, nettool::ip_family::v6);
    for (const char* bad :
         {"", "192.0.2", "192.0.2.256", "1.2.3.4.5", "2001:db8:::1", "abc", "192.0.2.1/24", " 1.2.3.4"})
        EXPECT_FALSE(ip_address::parse(bad).has_value()) << bad;
}

TEST(Address, BinaryViewAndLoopback) {
    EXPECT_EQ(A("192.0.2.77").to_binary(), "11000000.00000000.00000010.01001101");
    EXPECT_EQ(A("::1").to_binary().size(), 128u + 7u);
    EXPECT_TRUE(A("127.1.2.3").is_loopback());
    EXPECT_TRUE(A("::1").is_loopback());
    EXPECT_FALSE(A("::2").is_loopback());
    EXPECT_FALSE(A("128.0.0.1").is_loopback());
}

TEST(Prefix, Ipv4Slash24) {
    auto p = P("192.0.2.77/24");
    EXPECT_EQ(p.length, 24);
    EXPECT_EQ(p.network().to_string(), "192.0.2.0");
    EXPECT_EQ(p.netmask().to_string(), "255.255.255.0");
    EXPECT_EQ(p.wildcard().to_string(), "0.0.0.255");
    ASSERT_TRUE(p.broadcast().has_value());
    EXPECT_EQ(p.broadcast()->to_string(), "192.0.2.255");
    EXPECT_EQ(p.first_host().to_string(), "192.0.2.1");
    EXPECT_EQ(p.last_host().to_string(), "192.0.2.254");
    EXPECT_EQ(p.host_count(), "254");
    EXPECT_TRUE(p.contains(A("192.0.2.200")));
    EXPECT_FALSE(p.contains(A("192.0.3.1")));
    EXPECT_FALSE(p.contains(A("::1")));
}

TEST(Prefix, DottedMaskEqualsCidr) {
    EXPECT_EQ(P("198.51.100.9/255.255.255.240"), P("198.51.100.9/28"));
    EXPECT_EQ(P("198.51.100.9/0.0.0.0").length, 0);
    EXPECT_EQ(P("198.51.100.9/255.255.255.255").length, 32);
}

TEST(Prefix, Rfc3021Slash31AndSlash32) {
    auto p31 = P("203.0.113.6/31");
    EXPECT_FALSE(p31.broadcast().has_value());
    EXPECT_EQ(p31.first_host().to_string(), "203.0.113.6");
    EXPECT_EQ(p31.last_host().to_string(), "203.0.113.7");
    EXPECT_EQ(p31.host_count(), "2");
    auto p32 = P("203.0.113.6/32");
    EXPECT_FALSE(p32.broadcast().has_value());
    EXPECT_EQ(p32.first_host(), p32.last_host());
    EXPECT_EQ(p32.host_count(), "1");
    auto p30 = P("203.0.113.6/30");
    EXPECT_EQ(p30.host_count(), "2");
    EXPECT_EQ(p30.first_host().to_string(), "203.0.113.5");
    EXPECT_EQ(p30.broadcast()->to_string(), "203.0.113.7");
    EXPECT_EQ(P("0.0.0.0/0").host_count(), "4294967294");
}

TEST(Prefix, Ipv6HasNoBroadcast) {
    auto p = P("2001:db8:1:2::abcd/64");
    EXPECT_EQ(p.network().to_string(), "2001:db8:1:2::");
    EXPECT_EQ(p.netmask().to_string(), "ffff:ffff:ffff:ffff::");
    EXPECT_FALSE(p.broadcast().has_value());
    EXPECT_EQ(p.first_host().to_string(), "2001:db8:1:2::");
    EXPECT_EQ(p.last_host().to_string(), "2001:db8:1:2:ffff:ffff:ffff:ffff");
    EXPECT_EQ(p.host_count(), "18446744073709551616");
    EXPECT_FALSE(p.host_count_u64().has_value());
    EXPECT_EQ(P("::/0").host_count(), "340282366920938463463374607431768211456");
    EXPECT_EQ(P("2001:db8::/126").host_count_u64(), 4u);
}

TEST(Prefix, ErrorsNameTheProblem) {
    struct bad_case {
        const char* text;
        errc code;
        const char* words;
    };
    for (const auto& c : {bad_case{"192.0.2.1/255.0.255.0", errc::non_contiguous_mask, "not contiguous"},
                          bad_case{"192.0.2.1/255.255.255.1", errc::non_contiguous_mask, "not contiguous"},
                          bad_case{"192.0.2.1/33", errc::bad_prefix, "out of range"},
                          bad_case{"2001:db8::/129", errc::bad_prefix, "out of range"},
                          bad_case{"192.0.2.1", errc::bad_prefix, "no /PREFIX"},
                          bad_case{"192.0.2.1/", errc::bad_prefix, "empty"},
                          bad_case{"192.0.2.300/24", errc::bad_address, "not an IPv4 or IPv6"},
                          bad_case{"2001:db8::/255.255.0.0", errc::bad_prefix, "netmask"}}) {
        std::error_code ec;
        (void)ip_prefix::parse(c.text, ec);
        EXPECT_EQ(ec, nettool::make_error_code(c.code)) << c.text;
        EXPECT_TRUE(nettool::is_usage_error(ec));
        try {
            (void)ip_prefix::parse(c.text);
            ADD_FAILURE() << c.text << " parsed";
        } catch (const nettool::error& e) {
            EXPECT_EQ(e.code(), nettool::make_error_code(c.code)) << c.text;
            EXPECT_NE(std::string{e.what()}.find(c.words), std::string::npos) << c.text << ": " << e.what();
        }
    }
    EXPECT_THROW(ip_prefix::parse("1.2.3.4/1.2.3.4"), nettool::error);
}

TEST(Prefix, MaskLengthRoundTripsForEveryLength) {
    for (int len = 0; len <= 32; ++len) {
        auto m = nettool::netmask_for(nettool::ip_family::v4, len);
        EXPECT_EQ(nettool::prefix_length_of_mask(m), len);
    }
    for (int len = 0; len <= 128; ++len)
        EXPECT_EQ(nettool::prefix_length_of_mask(nettool::netmask_for(nettool::ip_family::v6, len)), len);
}

TEST(Prefix, ArithmeticMatchesIntegerReference) {
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
        const std::uint32_t a = rng();
        const int len = static_cast<int>(rng() % 33);
        const std::uint32_t mask = len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
        ip_prefix p{ip_address::v4(a), len};
        EXPECT_EQ(p.network().to_v4(), a & mask);
        EXPECT_EQ(p.wildcard().to_v4(), ~mask);
        if (len <= 30) {
            EXPECT_EQ(p.broadcast()->to_v4(), (a & mask) | ~mask);
            EXPECT_EQ(p.first_host().to_v4(), (a & mask) + 1);
            EXPECT_EQ(p.last_host().to_v4(), ((a & mask) | ~mask) - 1);
            EXPECT_EQ(p.host_count_u64(), (std::uint64_t{1} << (32 - len)) - 2);
            EXPECT_EQ(p.host_count(), std::to_string((std::uint64_t{1} << (32 - len)) - 2));
        }
    }
}

TEST(Address, FormatsThroughFmt) {
    EXPECT_EQ(fmt::format("{}|{:>12}", A("192.0.2.1"), A("::1")), "192.0.2.1|         ::1");
    EXPECT_EQ(fmt::format("{}", P("198.51.100.7/24")), "198.51.100.7/24");
    EXPECT_EQ(fmt::format("{}", *mac_address::parse("02:00:00:00:00:0A")), "02:00:00:00:00:0a");
}

TEST(Mac, ParsesCommonSpellings) {
    auto m = mac_address::parse("00:1A:2b:3c:4d:5e");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->to_string(), "00:1a:2b:3c:4d:5e");
    EXPECT_EQ(mac_address::parse("00-1a-2b-3c-4d-5e"), m);
    EXPECT_EQ(mac_address::parse("001a.2b3c.4d5e"), m);
    EXPECT_TRUE(mac_address::parse("ff:ff:ff:ff:ff:ff")->is_broadcast());
    for (const char* bad : {"", "00:1a:2b:3c:4d", "00:1a:2b:3c:4d:5g", "00:1a-2b:3c:4d:5e", "001a2b3c4d5e",
                            "00:1a:2b:3c:4d:5e:6f", "001a.2b3c.4d5"})
        EXPECT_FALSE(mac_address::parse(bad).has_value()) << bad;
}

TEST(NetmaskCli, JsonHasTheContractKeys) {
    auto r = run_nettool({"netmask", "198.51.100.77/255.255.255.192", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["command"], "netmask");
    EXPECT_EQ(j["network"], "198.51.100.64");
    EXPECT_EQ(j["netmask"], "255.255.255.192");
    EXPECT_EQ(j["wildcard"], "0.0.0.63");
    EXPECT_EQ(j["prefix_length"], 26);
    EXPECT_EQ(j["broadcast"], "198.51.100.127");
    EXPECT_EQ(j["first_host"], "198.51.100.65");
    EXPECT_EQ(j["last_host"], "198.51.100.126");
    EXPECT_EQ(j["hosts"], 62);
}

TEST(NetmaskCli, TextShowsBinaryOfAddressAndMask) {
    auto r = run_nettool({"netmask", "192.0.2.77", "24"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("11000000.00000000.00000010.01001101"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("11111111.11111111.11111111.00000000"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("192.0.2.255"), std::string::npos) << r.out;
}

TEST(NetmaskCli, Ipv6JsonBroadcastIsNull) {
    auto r = run_nettool({"netmask", "2001:db8::1/64", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_TRUE(j["broadcast"].is_null());
    EXPECT_EQ(j["hosts"], "18446744073709551616");
}

TEST(NetmaskCli, BadInputIsOneLineAndExitTwo) {
    for (const auto& args : std::vector<std::vector<std::string>>{{"netmask", "192.0.2.1/255.0.255.0"},
                                                                  {"netmask", "192.0.2.1/40"},
                                                                  {"netmask", "banana/24"},
                                                                  {"netmask", "192.0.2.1"},
                                                                  {"netmask", "192.0.2.1/24", "24"}}) {
        auto r = run_nettool(args);
        EXPECT_EQ(r.exit_code, 2) << args[1];
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    }
    auto r = run_nettool({"netmask", "192.0.2.1/255.0.255.0"});
    EXPECT_NE(r.err.find("not contiguous"), std::string::npos) << r.err;
}

}  // namespace

TEST(SocketAddressIp, TheAddressAloneAsAValue) {
    std::error_code ec;
    const auto v4 = nettool::socket_address::from_numeric("192.0.2.7", 80, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(v4.ip(), nettool::ip_address::parse("192.0.2.7"));
    const auto v6 = nettool::socket_address::from_numeric("2001:db8::7", 80, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(v6.ip(), nettool::ip_address::parse("2001:db8::7"));
    EXPECT_FALSE(nettool::socket_address{}.ip().has_value());
}
