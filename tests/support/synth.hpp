#pragma once
// Test helper: builds Ethernet/IPv4/TCP|UDP frames byte by byte and writes them to a pcap file
// through libpcap's dumper, so inspect and tshark read the very same file.

#include <pcap.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nettool::test {

class pcap_synth {
public:
    explicit pcap_synth(const std::string& path, int link = DLT_EN10MB) {
        dead_ = pcap_open_dead(link, 262144);
        dumper_ = pcap_dump_open(dead_, path.c_str());
    }
    ~pcap_synth() { close(); }
    pcap_synth(const pcap_synth&) = delete;
    pcap_synth& operator=(const pcap_synth&) = delete;

    bool ok() const { return dumper_ != nullptr; }
    void close() {
        if (dumper_) pcap_dump_close(dumper_);
        if (dead_) pcap_close(dead_);
        dumper_ = nullptr;
        dead_ = nullptr;
    }

    /// Writes one frame captured at t_us microseconds after 1 000 000 000 s.
    void write(std::int64_t t_us, const std::vector<std::uint8_t>& frame) {
        pcap_pkthdr h{};
        h.ts.tv_sec = 1'000'000'000 + t_us / 1'000'000;
        h.ts.tv_usec = static_cast<suseconds_t>(t_us % 1'000'000);
        h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
        pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, frame.data());  // libpcap's own API shape
    }

    static std::vector<std::uint8_t> ipv4(std::uint32_t src, std::uint32_t dst, std::uint8_t proto,
                                          const std::vector<std::uint8_t>& l4) {
        std::vector<std::uint8_t> f{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00};
        auto total = static_cast<std::uint16_t>(20 + l4.size());
        std::vector<std::uint8_t> ip{0x45,
                                     0,
                                     static_cast<std::uint8_t>(total >> 8),
                                     static_cast<std::uint8_t>(total),
                                     0,
                                     1,
                                     0x40,
                                     0,
                                     64,
                                     proto,
                                     0,
                                     0};
        for (auto a : {src, dst})
            for (int s = 24; s >= 0; s -= 8) ip.push_back(static_cast<std::uint8_t>(a >> s));
        // Header checksum, so tshark's view matches a real packet.
        std::uint32_t sum = 0;
        for (std::size_t i = 0; i < ip.size(); i += 2)
            sum += static_cast<std::uint32_t>((ip[i] << 8) | ip[i + 1]);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        sum = ~sum & 0xffff;
        ip[10] = static_cast<std::uint8_t>(sum >> 8);
        ip[11] = static_cast<std::uint8_t>(sum);
        f.insert(f.end(), ip.begin(), ip.end());
        f.insert(f.end(), l4.begin(), l4.end());
        return f;
    }

    static std::vector<std::uint8_t> tcp(std::uint32_t src, std::uint16_t sport, std::uint32_t dst,
                                         std::uint16_t dport, std::uint32_t seq, std::uint32_t ack,
                                         std::uint8_t flags, std::uint16_t window, std::size_t payload) {
        std::vector<std::uint8_t> t;
        auto put16 = [&t](std::uint16_t v) {
            t.push_back(static_cast<std::uint8_t>(v >> 8));
            t.push_back(static_cast<std::uint8_t>(v));
        };
        auto put32 = [&](std::uint32_t v) {
            put16(static_cast<std::uint16_t>(v >> 16));
            put16(static_cast<std::uint16_t>(v));
        };
        put16(sport);
        put16(dport);
        put32(seq);
        put32(ack);
        t.push_back(0x50);
        t.push_back(flags);
        put16(window);
        put16(0);
        put16(0);
        t.insert(t.end(), payload, 0x61);
        return ipv4(src, dst, 6, t);
    }

    static std::vector<std::uint8_t> udp(std::uint32_t src, std::uint16_t sport, std::uint32_t dst,
                                         std::uint16_t dport, const std::vector<std::uint8_t>& payload) {
        auto len = static_cast<std::uint16_t>(8 + payload.size());
        std::vector<std::uint8_t> u{static_cast<std::uint8_t>(sport >> 8),
                                    static_cast<std::uint8_t>(sport),
                                    static_cast<std::uint8_t>(dport >> 8),
                                    static_cast<std::uint8_t>(dport),
                                    static_cast<std::uint8_t>(len >> 8),
                                    static_cast<std::uint8_t>(len),
                                    0,
                                    0};
        u.insert(u.end(), payload.begin(), payload.end());
        return ipv4(src, dst, 17, u);
    }

    /// A DNS message with one question for `name` (type A).
    static std::vector<std::uint8_t> dns(std::uint16_t id, bool response, std::uint8_t rcode,
                                         const std::string& name) {
        std::vector<std::uint8_t> m{static_cast<std::uint8_t>(id >> 8),
                                    static_cast<std::uint8_t>(id),
                                    static_cast<std::uint8_t>(response ? 0x81 : 0x01),
                                    static_cast<std::uint8_t>(response ? 0x80 | rcode : 0),
                                    0,
                                    1,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0};
        std::size_t start = 0;
        while (start <= name.size()) {
            auto dot = name.find('.', start);
            if (dot == std::string::npos) dot = name.size();
            m.push_back(static_cast<std::uint8_t>(dot - start));
            for (std::size_t i = start; i < dot; ++i) m.push_back(static_cast<std::uint8_t>(name[i]));
            start = dot + 1;
        }
        m.insert(m.end(), {0, 0, 1, 0, 1});
        return m;
    }

private:
    pcap_t* dead_ = nullptr;
    pcap_dumper_t* dumper_ = nullptr;
};

}  // namespace nettool::test
