// Files named on the command line (issue 18): input is bounded (endless or binary input is a
// usage error after a bounded read, never a claim of success), output is checked (a full disk is
// exit 1 with the reason, and stdout is output too).
#include "support/limited_run.hpp"
#include "support/link_test_lock.hpp"
#include "support/process.hpp"
#include "support/files.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <thread>

namespace {

namespace fs = std::filesystem;
using nettool::test::limited_options;
using nettool::test::run_limited;
using nettool::test::is_root;
using nettool::test::limited_child;
using nettool::test::run_nettool;
using nettool::test::run_process;

using nettool::test::count_lines;

std::vector<std::string> nettool_argv(std::vector<std::string> args) {
    args.insert(args.begin(), NETTOOL_BIN);
    return args;
}

// Reading an endless or binary file: exit 2, one line naming the file, within seconds, in memory
// far below what the old code took (it grew past 1 GiB).
void expect_bounded_rejection(const std::vector<std::string>& args, const std::string& needle,
                              limited_options o = {}) {
    o.timeout = std::chrono::seconds{20};
    const auto r = run_limited(nettool_argv(args), o);
    SCOPED_TRACE(args.back());
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_LT(r.elapsed, std::chrono::seconds{5});
    EXPECT_LT(r.max_rss_kib, 256 * 1024) << "peak RSS in KiB";
}

TEST(CliFiles, ClassifyFileDevZero) {
    expect_bounded_rejection({"classify", "-f", "/dev/zero"},
                             "nettool: /dev/zero line 1: a NUL byte: this is not a text file");
}

TEST(CliFiles, ClassifyFileDevUrandom) {
    expect_bounded_rejection({"classify", "-f", "/dev/urandom"}, "nettool: /dev/urandom line ");
}

TEST(CliFiles, ClassifyStdinDevZero) {
    expect_bounded_rejection({"classify", "-f", "-"}, "nettool: stdin line 1: a NUL byte",
                             {.stdin_path = "/dev/zero"});
}

TEST(CliFiles, ClassifyMissingFile) {
    expect_bounded_rejection({"classify", "-f", "/nonexistent/hosts.txt"},
                             "nettool: /nonexistent/hosts.txt: cannot open: No such file or directory");
}

TEST(CliFiles, DnsQueriesDevZero) {
    expect_bounded_rejection({"dns", "--server", "127.0.0.1:9", "--queries", "/dev/zero"},
                             "nettool: /dev/zero line 1: a NUL byte");
}

TEST(CliFiles, DnsQueriesMissingFile) {
    expect_bounded_rejection({"dns", "--server", "127.0.0.1:9", "--queries", "/nonexistent/q.txt"},
                             "nettool: /nonexistent/q.txt: cannot open: No such file or directory");
}

TEST(CliFiles, DnsResolvConfDevZero) {
    expect_bounded_rejection({"dns", "example.com", "--count", "1", "--resolv-conf", "/dev/zero"},
                             "nettool: --resolv-conf /dev/zero line 1: a NUL byte");
}

TEST(CliFiles, DnsResolvConfMissingIsAnErrorNotIgnored) {
    expect_bounded_rejection(
        {"dns", "example.com", "--count", "1", "--resolv-conf", "/nonexistent"},
        "nettool: --resolv-conf /nonexistent: cannot open: No such file or directory");
}

TEST(CliFiles, OverlongLineNamesItsNumber) {
    const auto p = fs::temp_directory_path() / ("nettool-cli-files-" + std::to_string(::getpid()));
    std::ofstream{p} << "192.0.2.1\n" << std::string(5000, '1') << "\n";
    expect_bounded_rejection({"classify", "-f", p.string()}, "line 2: longer than 4096 bytes");
    fs::remove(p);
}

TEST(CliFiles, EmptyFileNamesAreUsageErrors) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"capture", "-w", "", "-c", "1"},
             {"dns", "--server", "127.0.0.1:9", "--queries", ""},
             {"dns", "example.com", "--resolv-conf", ""},
             {"link", "--log", "", "--", "true"},
             {"link", "--capture", "", "--", "true"}}) {
        const auto r = run_nettool(args);
        EXPECT_EQ(r.exit_code, 2) << args[1] << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1u) << r.err;
        EXPECT_NE(r.err.find("an empty value is not a file name"), std::string::npos) << r.err;
        EXPECT_EQ(r.out, "") << "nothing may go to stdout instead";
    }
}

// stdout is output too: a report that does not reach it is exit 1 with the reason.
TEST(CliFiles, StdoutOnAFullDevice) {
    for (const auto& args : std::vector<std::vector<std::string>>{{"--json", "netmask", "10.0.0.0/8"},
                                                                  {"netmask", "10.0.0.0/8"},
                                                                  {"--json", "classify", "127.0.0.1"}}) {
        const auto r = run_limited(nettool_argv(args), {.stdout_path = "/dev/full"});
        EXPECT_EQ(r.exit_code, 1) << args[1] << ": " << r.err;
        EXPECT_EQ(r.err, "nettool: stdout: no space left on device\n");
    }
}

// A reader that closed the pipe (`| head`) is not a failure to report: no line, the command's status.
TEST(CliFiles, StdoutToAClosedPipeIsSilent) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    ::close(p[0]);  // the reader is gone before nettool writes a byte
    const auto err = fs::temp_directory_path() / ("nettool-cli-epipe-" + std::to_string(::getpid()));
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(p[1], STDOUT_FILENO);
        ::dup2(e, STDERR_FILENO);
        ::execl(NETTOOL_BIN, NETTOOL_BIN, "--json", "netmask", "10.0.0.0/8", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(p[1]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    std::ifstream in{err};
    const std::string said{std::istreambuf_iterator<char>{in}, {}};
    fs::remove(err);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_EQ(said, "");
}

TEST(CliFiles, StdoutUnderAFileSizeLimit) {
    const auto p = fs::temp_directory_path() / ("nettool-cli-stdout-" + std::to_string(::getpid()));
    const auto r = run_limited(nettool_argv({"--json", "netmask", "10.0.0.0/8"}),
                               {.stdout_path = p.string(), .file_size_limit = 100});
    EXPECT_EQ(r.exit_code, 1) << r.err;  // not killed by SIGXFSZ (153)
    EXPECT_EQ(r.err, "nettool: stdout: file too large\n");
    fs::remove(p);
}

// ---------------------------------------------------------------------------------------------
// capture -w on a full disk: exit 1, the reason and the count in one line, a valid file holding
// exactly that many packets (nettool inspect, tcpdump and tshark agree).

using nettool::test::temp_path;

/// Sends 200-byte UDP datagrams to 127.0.0.1:port until stopped.
class udp_flood {
public:
    explicit udp_flood(std::uint16_t port) : port_(port), thread_([this] { run(); }) {}
    ~udp_flood() {
        stop_ = true;
        thread_.join();
    }
    std::uint16_t port() const { return port_; }

private:
    void run() {
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port_);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        char d[200] = {};
        while (!stop_) {
            for (int i = 0; i < 5; ++i)
                ::sendto(fd, d, sizeof d, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
            std::this_thread::sleep_for(std::chrono::milliseconds{1});
        }
        ::close(fd);
    }
    std::uint16_t port_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

/// A port nobody listens on (the datagrams only need to cross lo).
std::uint16_t quiet_port() {
    return nettool::test::free_port();
}

struct disk_full_outcome {
    nettool::test::limited_result run;
    std::uint64_t written = 0;
    std::uint64_t captured = 0;
};

// Runs capture -w file under opts while lo carries a flood; parses "N of M packets written".
disk_full_outcome capture_until_full(const std::string& file, const std::string& reason, limited_options o) {
    const auto port = quiet_port();
    o.timeout = std::chrono::seconds{20};
    limited_child cap{nettool_argv({"capture", "-q", "-i", "lo", "-c", "100000", "-f",
                                    "udp dst port " + std::to_string(port), "-w", file}),
                      o};
    udp_flood flood{port};
    disk_full_outcome out;
    out.run = cap.wait();
    std::smatch m;
    const std::regex said{"^nettool: " + file + ": " + reason + ": (\\d+) of (\\d+) packets written\n$"};
    EXPECT_TRUE(std::regex_match(out.run.err, m, said)) << out.run.err;
    if (m.size() == 3) {
        out.written = std::stoull(m[1]);
        out.captured = std::stoull(m[2]);
    }
    return out;
}

void expect_valid_pcap_of(const std::string& file, std::uint64_t packets) {
    const auto inspect = run_nettool({"--json", "inspect", file});
    EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_NE(inspect.out.find("\"packets\": " + std::to_string(packets)), std::string::npos) << inspect.out.substr(0, 400);
    const auto tcpdump = run_process({"tcpdump", "-n", "-r", file});
    EXPECT_EQ(tcpdump.exit_code, 0) << tcpdump.err;
    EXPECT_EQ(static_cast<std::uint64_t>(std::count(tcpdump.out.begin(), tcpdump.out.end(), '\n')), packets);
    EXPECT_EQ(tcpdump.err.find("truncated"), std::string::npos) << tcpdump.err;
    const auto tshark = run_process({"tshark", "-n", "-r", file});
    if (tshark.exit_code != 127) {
        EXPECT_EQ(tshark.exit_code, 0) << tshark.err;
        EXPECT_EQ(static_cast<std::uint64_t>(std::count(tshark.out.begin(), tshark.out.end(), '\n')), packets);
    }
}

TEST(CliCaptureFull, FileSizeLimitLeavesAValidFileOfTheReportedCount) {
    if (!is_root()) GTEST_SKIP() << "capturing on lo needs root (CAP_NET_RAW): skipped";
    const auto file = temp_path("fsize.pcap");
    const auto r = capture_until_full(file, "file too large", {.file_size_limit = 100'000});
    EXPECT_EQ(r.run.exit_code, 1);
    EXPECT_GT(r.written, 0u);
    EXPECT_LE(r.written, r.captured);
    // 200-byte datagrams on lo: 14 + 20 + 8 + 200 bytes each, plus 16 of record header.
    EXPECT_EQ(fs::file_size(file), 24 + r.written * (16 + 242));
    expect_valid_pcap_of(file, r.written);
    fs::remove(file);
}

TEST(CliCaptureFull, FullFilesystemLeavesAValidFileOfTheReportedCount) {
    if (!is_root()) GTEST_SKIP() << "mounting a tmpfs needs root: skipped";
    const auto dir = temp_path("tmpfs");
    fs::create_directories(dir);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=64k") != 0) {
        fs::remove(dir);
        GTEST_SKIP() << "cannot mount a tmpfs here: skipped";
    }
    const auto file = dir + "/full.pcap";
    const auto r = capture_until_full(file, "no space left on device", {});
    EXPECT_EQ(r.run.exit_code, 1);
    EXPECT_GT(r.written, 0u);
    expect_valid_pcap_of(file, r.written);
    ::umount(dir.c_str());
    fs::remove(dir);
}

TEST(CliCaptureFull, DevFullAndUnwritableTargets) {
    if (!is_root()) GTEST_SKIP() << "capturing on lo needs root (CAP_NET_RAW): skipped";
    std::vector<std::pair<std::string, std::string>> targets{{"/dev/full", "no space left on device"},
                                                             {"/nonexistent/x.pcap", "no such file or directory"}};
    // A read-only file system, when this host lets us mount one.
    const auto ro = temp_path("ro");
    fs::create_directories(ro);
    const bool mounted = ::mount("tmpfs", ro.c_str(), "tmpfs", MS_RDONLY, "size=64k") == 0;
    if (mounted) targets.emplace_back(ro + "/x.pcap", "read-only file system");
    for (const auto& [target, reason] : targets) {
        const auto r = run_nettool({"capture", "-i", "lo", "-c", "1", "-d", "5", "-w", target});
        EXPECT_EQ(r.exit_code, 1) << r.err;
        EXPECT_EQ(r.err, "nettool: " + target + ": " + reason + ": 0 packets written\n");
    }
    if (mounted) ::umount(ro.c_str());
    fs::remove(ro);
}

TEST(CliCaptureFull, TcpCaptureOnAFullDeviceSaysSo) {
    if (!is_root()) GTEST_SKIP() << "capturing on lo needs root (CAP_NET_RAW): skipped";
    const auto r = run_nettool({"tcp", "127.0.0.1:9", "--capture", "/dev/full"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err, "nettool: --capture /dev/full: no space left on device\n");
}

TEST(CliCaptureFull, TcpCaptureThatFillsTheDiskMidRun) {
    if (!is_root()) GTEST_SKIP() << "capturing on lo needs root (CAP_NET_RAW): skipped";
    const auto port = std::to_string(nettool::test::free_port());
    nettool::test::background_process serve({NETTOOL_BIN, "serve", "--port", port, "--bind", "127.0.0.1"});
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    const auto file = temp_path("tcp.pcap");
    const auto r = run_limited(nettool_argv({"tcp", "127.0.0.1:" + port, "--mode", "rr", "--count", "3000",
                                             "--capture", file}),
                               {.file_size_limit = 20'000, .timeout = std::chrono::seconds{60}});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_match(r.err, m, std::regex{"^nettool: --capture " + file +
                                                      ": file too large: (\\d+) of (\\d+) packets written\n$"}))
        << r.err;
    const auto written = std::stoull(m[1]);
    EXPECT_GT(written, 0u);
    EXPECT_LT(written, std::stoull(m[2]));
    expect_valid_pcap_of(file, written);
    (void)serve.stop(SIGTERM);
    fs::remove(file);
}

TEST(CliCaptureFull, PacketLinesToAFullStdout) {
    if (!is_root()) GTEST_SKIP() << "capturing on lo needs root (CAP_NET_RAW): skipped";
    const auto port = quiet_port();
    limited_child cap{nettool_argv({"capture", "-q", "-i", "lo", "-c", "100000", "-f",
                                    "udp dst port " + std::to_string(port)}),
                      {.stdout_path = "/dev/full", .timeout = std::chrono::seconds{20}}};
    udp_flood flood{port};
    const auto r = cap.wait();
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err, "nettool: stdout: no space left on device\n");
}

// ---------------------------------------------------------------------------------------------
// link --capture and --log: a failed write is exit 1 with the reason and the count, even when
// COMMAND succeeded; the capture keeps its whole packets.

bool can_build_links() {
    return is_root() && ::access("/dev/net/tun", R_OK | W_OK) == 0;
}

TEST(CliLinkFull, CaptureUnderAFileSizeLimit) {
    if (!can_build_links()) GTEST_SKIP() << "needs root and /dev/net/tun to build a link: skipped";
    nettool::test::link_test_lock lock;
    ASSERT_TRUE(lock.held());
    const auto file = temp_path("link.pcap");
    // 1200 bytes hold the file header and about a dozen of the 20 ping packets that cross.
    const auto r = run_limited(nettool_argv({"link", "-q", "--delay", "1ms", "--capture", file, "--", "/bin/sh", "-c",
                                             "ping -n -q -c 10 -i 0.02 $NETTOOL_LINK_HOST >/dev/null"}),
                               {.file_size_limit = 1200, .timeout = std::chrono::seconds{30}});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_match(r.err, m, std::regex{"^nettool: --capture " + file +
                                                      ": file too large: (\\d+) of (\\d+) packets written\n$"}))
        << r.err;
    const auto written = std::stoull(m[1]);
    EXPECT_GT(written, 5u);
    EXPECT_GE(std::stoull(m[2]), 20u);
    // Cut back to the last whole packet: under the limit, by less than one ping packet.
    EXPECT_LE(fs::file_size(file), 1200u);
    EXPECT_GT(fs::file_size(file), 1200u - 16 - 84);
    expect_valid_pcap_of(file, written);
    fs::remove(file);
}

TEST(CliLinkFull, LogOnAFullDevice) {
    if (!can_build_links()) GTEST_SKIP() << "needs root and /dev/net/tun to build a link: skipped";
    nettool::test::link_test_lock lock;
    ASSERT_TRUE(lock.held());
    const auto r = run_nettool({"link", "-q", "--log", "/dev/full", "--", "sleep", "1.5"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err, "nettool: --log /dev/full: no space left on device: 0 of 1 lines written\n");
}

TEST(CliLinkFull, UnwritableCaptureIsExitOneBeforeTheLink) {
    if (!can_build_links()) GTEST_SKIP() << "needs root and /dev/net/tun to build a link: skipped";
    const auto r = run_nettool({"link", "-q", "--capture", "/nonexistent/x.pcap", "--", "true"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err, "nettool: --capture /nonexistent/x.pcap: no such file or directory\n");
}

}  // namespace
