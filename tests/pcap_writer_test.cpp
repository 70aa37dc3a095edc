// pcap_writer: every write checked, and a file that fails is cut back to its last whole record
// (issue 18, "no silent loss"). A full disk is simulated with RLIMIT_FSIZE in a forked child and
// with /dev/full; the file left behind is read back by nettool's reader and by tcpdump.
#include <nettool/packet/pcap_writer.hpp>

#include <nettool/packet/capture_file.hpp>

#include "support/process.hpp"
#include "support/files.hpp"

#include <gtest/gtest.h>

#include <pcap.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <filesystem>
#include <string>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using nettool::pcap_writer;

using nettool::test::temp_path;

// A raw IPv4/UDP packet of `size` bytes whose last 4 bytes carry i.
std::vector<std::byte> packet(std::uint32_t i, std::size_t size = 100) {
    std::vector<std::byte> p(size);
    p[0] = std::byte{0x45};
    p[2] = std::byte(size >> 8);
    p[3] = std::byte(size & 0xff);
    p[8] = std::byte{64};
    p[9] = std::byte{17};
    for (std::size_t k = 0; k < 4; ++k) p[size - 1 - k] = std::byte((i >> (8 * k)) & 0xff);
    return p;
}

std::uint64_t count_packets(const std::string& path, std::string* note = nullptr) {
    auto f = nettool::capture_file::open(path);
    nettool::captured_packet p;
    std::uint64_t n = 0;
    while (f.next(p)) ++n;
    if (note) *note = f.end_note();
    return n;
}

TEST(PcapWriter, WritesAFileLibpcapReads) {
    const auto path = temp_path("ok.pcap");
    {
        auto w = pcap_writer::open(path, DLT_RAW, 65535, pcap_writer::precision::nano);
        for (std::uint32_t i = 0; i < 2000; ++i)
            ASSERT_TRUE(w.write(std::chrono::seconds{1'700'000'000} + std::chrono::nanoseconds{i}, packet(i), 100));
        ASSERT_TRUE(w.close());
        EXPECT_EQ(w.written(), 2000u);
        EXPECT_EQ(w.offered(), 2000u);
    }
    EXPECT_EQ(fs::file_size(path), 24u + 2000u * (16 + 100));
    std::string note;
    EXPECT_EQ(count_packets(path, &note), 2000u);
    EXPECT_EQ(note, "");
    auto f = nettool::capture_file::open(path);
    nettool::captured_packet p;
    ASSERT_TRUE(f.next(p));
    ASSERT_TRUE(f.next(p));
    EXPECT_EQ(p.time, std::chrono::seconds{1'700'000'000} + std::chrono::nanoseconds{1});
    EXPECT_EQ(p.data.size(), 100u);
    fs::remove(path);
}

TEST(PcapWriter, MicrosecondFilesKeepMicroseconds) {
    const auto path = temp_path("us.pcap");
    {
        auto w = pcap_writer::open(path, DLT_RAW, 65535, pcap_writer::precision::micro);
        ASSERT_TRUE(w.write(std::chrono::seconds{5} + std::chrono::microseconds{7}, packet(0), 100));
    }
    auto f = nettool::capture_file::open(path);
    nettool::captured_packet p;
    ASSERT_TRUE(f.next(p));
    EXPECT_EQ(p.time, std::chrono::seconds{5} + std::chrono::microseconds{7});
    fs::remove(path);
}

TEST(PcapWriter, DevFullFailsAtTheHeader) {
    try {
        (void)pcap_writer::open("/dev/full", DLT_RAW, 65535, pcap_writer::precision::nano);
        ADD_FAILURE() << "opened";
    } catch (const nettool::error& e) {
        EXPECT_EQ(e.code(), std::errc::no_space_on_device);
        EXPECT_STREQ(e.what(), "/dev/full: No space left on device");
    }
}

TEST(PcapWriter, UnwritableTargetAndEmptyName) {
    std::error_code ec;
    (void)pcap_writer::open("/nonexistent/x.pcap", DLT_RAW, 65535, pcap_writer::precision::nano, ec);
    EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
    (void)pcap_writer::open("", DLT_RAW, 65535, pcap_writer::precision::nano, ec);
    EXPECT_EQ(ec, nettool::errc::bad_argument);
}

// The disk fills (RLIMIT_FSIZE: EFBIG after a short write) in the middle of a record: the file is
// cut back to the last whole record and written() says how many that is.
TEST(PcapWriter, FullDiskLeavesAValidFileOfWrittenRecords) {
    const auto path = temp_path("full.pcap");
    constexpr rlim_t limit = 50'000;  // not a multiple of the 116-byte records
    int pipefd[2];
    ASSERT_EQ(::pipe(pipefd), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit rl{limit, limit};
        ::setrlimit(RLIMIT_FSIZE, &rl);
        std::array<std::uint64_t, 4> out{};
        try {
            auto w = pcap_writer::open(path, DLT_RAW, 65535, pcap_writer::precision::nano);
            for (std::uint32_t i = 0; i < 3000; ++i)
                (void)w.write(std::chrono::seconds{1} + std::chrono::microseconds{i}, packet(i), 100);
            out = {w.close() ? 1u : 0u, static_cast<std::uint64_t>(w.error().value()), w.written(), w.offered()};
        } catch (...) {
            out = {9, 0, 0, 0};
        }
        [[maybe_unused]] auto n = ::write(pipefd[1], out.data(), sizeof out);
        ::_exit(0);
    }
    ::close(pipefd[1]);
    std::array<std::uint64_t, 4> got{};
    ASSERT_EQ(::read(pipefd[0], got.data(), sizeof got), static_cast<ssize_t>(sizeof got));
    ::close(pipefd[0]);
    ::waitpid(pid, nullptr, 0);

    EXPECT_EQ(got[0], 0u) << "close() must report the failure";
    EXPECT_EQ(got[1], static_cast<std::uint64_t>(EFBIG));
    const std::uint64_t written = got[2];
    EXPECT_EQ(got[3], 3000u);
    EXPECT_EQ(written, (limit - 24) / 116);  // every record that fit whole, not one more or less
    EXPECT_EQ(fs::file_size(path), 24 + written * 116);
    std::string note;
    EXPECT_EQ(count_packets(path, &note), written);
    EXPECT_EQ(note, "") << "the last record must be whole";
    if (nettool::test::run_process({"sh", "-c", "command -v tcpdump"}).exit_code == 0) {
        const auto r = nettool::test::run_process({"tcpdump", "-n", "-r", path});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(static_cast<std::uint64_t>(std::count(r.out.begin(), r.out.end(), '\n')), written);
        EXPECT_EQ(r.err.find("truncated"), std::string::npos) << r.err;
    }
    fs::remove(path);
}

}  // namespace
