#include <nettool/packet/capture_file.hpp>

#include <fmt/format.h>
#include "packet/pcap_api.hpp"

#include <cerrno>
#include <cstdio>
#include <sys/stat.h>

namespace nettool {

struct capture_file::impl {
    pcap_t* p = nullptr;
    std::uint64_t size = 0;
    std::string end_note;
    ~impl() {
        if (p != nullptr) detail::pcap().close(p);  // closes the FILE too
    }
};

capture_file::capture_file() noexcept = default;
capture_file::capture_file(capture_file&&) noexcept = default;
capture_file& capture_file::operator=(capture_file&&) noexcept = default;
capture_file::~capture_file() = default;

capture_file capture_file::open(const std::string& path) {
    std::FILE* fp = std::fopen(path.c_str(), "rb");
    if (fp == nullptr) throw error(std::error_code{errno, std::system_category()}, {});
    capture_file f;
    f.impl_ = std::make_unique<impl>();
    struct stat st {};
    if (::fstat(fileno(fp), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            std::fclose(fp);
            throw error(std::make_error_code(std::errc::is_a_directory), {});
        }
        f.impl_->size = static_cast<std::uint64_t>(st.st_size);
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    f.impl_->p = detail::pcap().fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (f.impl_->p == nullptr) {
        std::fclose(fp);
        throw error(errc::malformed, fmt::format("not a pcap or pcapng file libpcap can read ({})", errbuf));
    }
    return f;
}

capture_file capture_file::open(const std::string& path, std::error_code& ec) noexcept {
    return detail::to_error_code(ec, [&] { return open(path); });
}

int capture_file::link_type() const noexcept {
    return impl_ ? detail::pcap().datalink(impl_->p) : 0;
}

std::uint64_t capture_file::size() const noexcept {
    return impl_ ? impl_->size : 0;
}

std::uint64_t capture_file::offset() const noexcept {
    if (!impl_) return 0;
    const long off = std::ftell(detail::pcap().file(impl_->p));
    return off > 0 ? static_cast<std::uint64_t>(off) : 0;
}

bool capture_file::next(captured_packet& out) noexcept {
    if (!impl_) return false;
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    const int rc = detail::pcap().next_ex(impl_->p, &h, &data);
    if (rc == PCAP_ERROR_BREAK) return false;  // end of file
    if (rc != 1) {
        try {
            impl_->end_note = fmt::format("reading stopped early: {}", detail::pcap().geterr(impl_->p));
        } catch (...) {
            // No memory for the note: reading still stops here.
        }
        return false;
    }
    // Opened with nanosecond precision: tv_usec holds nanoseconds.
    out.time = std::chrono::nanoseconds{static_cast<std::int64_t>(h->ts.tv_sec) * 1'000'000'000 +
                                        static_cast<std::int64_t>(h->ts.tv_usec)};
    out.data = std::as_bytes(std::span<const u_char>{data, h->caplen});
    out.wire_length = h->len;
    return true;
}

const std::string& capture_file::end_note() const noexcept {
    static const std::string none;
    return impl_ ? impl_->end_note : none;
}

}  // namespace nettool
