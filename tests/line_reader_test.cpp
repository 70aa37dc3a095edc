// line_reader: the one bounded reader of text files a user names (issue 18, "bounded input").
#include <nettool/core/line_reader.hpp>
#include "support/files.hpp"

#include <nettool/core/error.hpp>
#include <nettool/dns/dns_timer.hpp>
#include <nettool/net/address_list.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using nettool::errc;
using nettool::line_limits;
using nettool::line_reader;

std::vector<std::string> all_lines(line_reader& in) {
    std::vector<std::string> out;
    while (auto l = in.next()) out.emplace_back(*l);
    return out;
}

std::vector<std::string> all_lines(std::string_view text, line_limits limits = {}) {
    auto in = line_reader::from_text(text, "t.txt", limits);
    return all_lines(in);
}

/// The error next() throws somewhere in text; fails the test when there is none.
nettool::error error_of(std::string_view text, line_limits limits = {}) {
    auto in = line_reader::from_text(text, "t.txt", limits);
    try {
        while (in.next()) {
        }
    } catch (const nettool::error& e) {
        EXPECT_FALSE(in.next()) << "a reader that failed must stay failed";
        return e;
    }
    ADD_FAILURE() << "no error for " << text.size() << " bytes";
    return nettool::error(errc::ok, "none");
}

using nettool::test::temp_file;

TEST(LineReader, SplitsLinesWithLfCrlfAndNoFinalNewline) {
    EXPECT_EQ(all_lines("a\nb\r\nc"), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(all_lines("a\n\nb\n"), (std::vector<std::string>{"a", "", "b"}));
    EXPECT_EQ(all_lines("last\r"), (std::vector<std::string>{"last"}));
    EXPECT_EQ(all_lines("in\rside\n"), (std::vector<std::string>{"in\rside"}));  // only a final CR goes
}

TEST(LineReader, EmptyInputHasNoLines) {
    EXPECT_TRUE(all_lines("").empty());
    EXPECT_EQ(all_lines("\n"), (std::vector<std::string>{""}));
}

TEST(LineReader, CountsLines) {
    auto in = line_reader::from_text("a\nb\n", "t.txt");
    EXPECT_EQ(in.line_number(), 0u);
    (void)in.next();
    EXPECT_EQ(in.line_number(), 1u);
    (void)in.next();
    EXPECT_EQ(in.line_number(), 2u);
    EXPECT_FALSE(in.next());
}

TEST(LineReader, NulByteIsNotText) {
    const auto e = error_of(std::string_view{"ok\nb\0d\n", 7});
    EXPECT_EQ(e.code(), errc::malformed);
    EXPECT_STREQ(e.what(), "t.txt line 2: a NUL byte: this is not a text file");
}

TEST(LineReader, LineLengthLimit) {
    const line_limits l{.max_line_bytes = 8};
    EXPECT_EQ(all_lines("12345678\r\n12345678", l).size(), 2u);  // exactly the limit, CR not counted
    const auto e = error_of("12345678\n123456789\n", l);
    EXPECT_EQ(e.code(), errc::too_large);
    EXPECT_STREQ(e.what(),
                 "t.txt line 2: longer than 8 bytes: is this a text file? (lines are at most 8 bytes)");
    EXPECT_EQ(error_of("123456789", l).code(), errc::too_large);  // the last line too
}

TEST(LineReader, LineCountLimit) {
    const line_limits l{.max_lines = 3};
    EXPECT_EQ(all_lines("a\nb\nc\n", l).size(), 3u);
    const auto e = error_of("a\nb\nc\nd\n", l);
    EXPECT_EQ(e.code(), errc::too_large);
    EXPECT_STREQ(e.what(), "t.txt: more than 3 lines: give a shorter file (at most 3 lines)");
}

TEST(LineReader, SizeLimit) {
    const line_limits l{.max_bytes = 6};
    EXPECT_EQ(all_lines("ab\ncd\n", l).size(), 2u);
    const auto e = error_of("ab\ncd\ne", l);
    EXPECT_EQ(e.code(), errc::too_large);
    EXPECT_STREQ(e.what(), "t.txt: more than 6 bytes: give a smaller file (at most 6 bytes)");
}

TEST(LineReader, StreamsAFileThroughItsSmallBuffer) {
    std::string content;
    for (int i = 0; i < 50'000; ++i) content += "line " + std::to_string(i) + (i % 2 ? "\r\n" : "\n");
    temp_file f{content};
    auto in = line_reader::open(f.path(), {.max_line_bytes = 16});
    const auto lines = all_lines(in);
    ASSERT_EQ(lines.size(), 50'000u);
    EXPECT_EQ(lines[12345], "line 12345");
    EXPECT_EQ(lines.back(), "line 49999");
}

TEST(LineReader, DevZeroIsAnErrorAfterABoundedRead) {
    const auto start = std::chrono::steady_clock::now();
    auto in = line_reader::open("/dev/zero");
    try {
        (void)in.next();
        ADD_FAILURE() << "/dev/zero gave a line";
    } catch (const nettool::error& e) {
        EXPECT_EQ(e.code(), errc::malformed);
        EXPECT_STREQ(e.what(), "/dev/zero line 1: a NUL byte: this is not a text file");
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds{2});
}

TEST(LineReader, EndlessTextEndsAtALimit) {
    // /dev/zero's cousin without NULs: a stream of short lines never ending.
    temp_file f{std::string(1 << 20, '\n')};
    auto in = line_reader::open(f.path(), {.max_lines = 1000});
    try {
        while (in.next()) {
        }
        ADD_FAILURE() << "no limit";
    } catch (const nettool::error& e) {
        EXPECT_EQ(e.code(), errc::too_large);
        EXPECT_EQ(in.line_number(), 1000u);
    }
}

TEST(LineReader, OpenErrorsCarryTheOsCodeAndThePath) {
    try {
        (void)line_reader::open("/nonexistent/nettool.txt");
        ADD_FAILURE() << "opened";
    } catch (const nettool::error& e) {
        EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
        EXPECT_STREQ(e.what(), "/nonexistent/nettool.txt: cannot open: No such file or directory");
    }
    try {
        (void)line_reader::open("/");
        ADD_FAILURE() << "opened a directory";
    } catch (const nettool::error& e) {
        EXPECT_EQ(e.code(), std::errc::is_a_directory);
    }
}

TEST(LineReader, ErrorCodeOverload) {
    auto in = line_reader::from_text(std::string_view{"a\n\0", 3}, "t.txt");
    std::error_code ec;
    EXPECT_EQ(in.next(ec), std::optional<std::string_view>{"a"});
    EXPECT_FALSE(ec);
    EXPECT_FALSE(in.next(ec));
    EXPECT_EQ(ec, errc::malformed);
}

TEST(LineReader, QuotedExcerptIsBounded) {
    EXPECT_EQ(nettool::quoted_excerpt("abc"), "'abc'");
    EXPECT_EQ(nettool::quoted_excerpt(std::string(100, 'x'), 4), "'xxxx...'");
}

// Every parser over the reader: every prefix of a fixture ends cleanly (lines or one error),
// never a crash or a read past the end (the truncation sweep of STYLE.md).
TEST(LineReader, TruncationSweepOfTheParsers) {
    const std::string addresses = "# hosts\n192.0.2.1\r\n  2001:db8::1  # v6\n\n10.0.0.1";
    const std::string queries = "www.example A\n; c\nexample MX\r\nbare.example\n";
    const std::string resolv = "search example\nnameserver 192.0.2.53\nnameserver fe80::1%lo\noptions x";
    for (std::size_t n = 0; n <= addresses.size(); ++n) {
        auto in = line_reader::from_text(std::string_view{addresses}.substr(0, n), "a");
        try {
            (void)nettool::read_address_list(in);
        } catch (const nettool::error& e) {
            EXPECT_EQ(e.code(), errc::bad_address) << n << ": " << e.what();
        }
    }
    for (std::size_t n = 0; n <= queries.size(); ++n) {
        try {
            (void)nettool::parse_dns_query_file(std::string_view{queries}.substr(0, n));
        } catch (const nettool::error& e) {
            EXPECT_TRUE(e.code() == errc::bad_argument || e.code() == errc::bad_dns_name) << n << ": " << e.what();
        }
    }
    for (std::size_t n = 0; n <= resolv.size(); ++n) {
        auto in = line_reader::from_text(std::string_view{resolv}.substr(0, n), "r");
        EXPECT_LE(nettool::parse_resolv_conf(in).size(), 2u);
    }
}

TEST(AddressList, ReadsAddressesCommentsAndBlankLines) {
    auto in = line_reader::from_text("# hosts\n192.0.2.1\r\n  2001:db8::1  # v6\n\n10.0.0.1", "hosts.txt");
    const auto list = nettool::read_address_list(in);
    ASSERT_EQ(list.size(), 3u);
    EXPECT_EQ(list[1].to_string(), "2001:db8::1");
    auto bad = line_reader::from_text("192.0.2.1\nnot-an-address\n", "hosts.txt");
    try {
        (void)nettool::read_address_list(bad);
        ADD_FAILURE() << "parsed";
    } catch (const nettool::error& e) {
        EXPECT_EQ(e.code(), errc::bad_address);
        EXPECT_STREQ(e.what(), "hosts.txt line 2: 'not-an-address' is not an IPv4 or IPv6 address");
    }
}

TEST(ResolvConf, MissingOrBinaryFileIsAnError) {
    EXPECT_THROW((void)nettool::resolv_conf_servers("/nonexistent/resolv.conf"), nettool::error);
    EXPECT_THROW((void)nettool::resolv_conf_servers("/dev/zero"), nettool::error);
}

}  // namespace
