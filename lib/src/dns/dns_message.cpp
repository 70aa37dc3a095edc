#include "dns/dns_message.hpp"

#include <nettool/core/error.hpp>
#include <nettool/packet/packet.hpp>

#include "dns/ldns_api.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>

namespace nettool::detail {

namespace {

struct pkt_deleter {
    void operator()(ldns_pkt* p) const noexcept { ldns().pkt_free(p); }
};
using pkt_ptr = std::unique_ptr<ldns_pkt, pkt_deleter>;

struct c_free {
    void operator()(void* p) const noexcept { std::free(p); }
};

std::string take_string(char* s) {
    std::unique_ptr<char, c_free> owner{s};
    return s ? std::string{s} : std::string{};
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::vector<std::string> rr_strings(const ldns_rr_list* list) {
    std::vector<std::string> out;
    if (list == nullptr) return out;
    const std::size_t n = ldns().rr_list_rr_count(list);
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::string s = take_string(ldns().rr2str(ldns().rr_list_rr(list, i)));
        while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace

dns_query_wire build_dns_query(std::string_view name, std::uint16_t type, std::uint16_t id, bool recurse,
                               bool edns, std::uint16_t edns_size, std::error_code& ec) {
    ec.clear();
    dns_query_wire out;
    const std::string n{name};
    ldns_rdf* owner = ldns().dname_new_frm_str(n.c_str());
    if (owner == nullptr) {
        ec = make_error_code(errc::bad_dns_name);
        return out;
    }
    out.question.name = lower(take_string(ldns().rdf2str(owner)));
    // ldns_pkt_query_new takes ownership of owner.
    pkt_ptr pkt{
        ldns().pkt_query_new(owner, static_cast<ldns_rr_type>(type), LDNS_RR_CLASS_IN, recurse ? LDNS_RD : 0)};
    if (!pkt) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return out;
    }
    ldns().pkt_set_id(pkt.get(), id);
    if (edns) {
        ldns().pkt_set_edns_udp_size(pkt.get(), edns_size < 512 ? 512 : edns_size);
    }
    std::uint8_t* wire = nullptr;
    std::size_t size = 0;
    if (ldns().pkt2wire(&wire, pkt.get(), &size) != LDNS_STATUS_OK || wire == nullptr) {
        std::free(wire);
        ec = make_error_code(errc::bad_dns_name);
        return out;
    }
    std::unique_ptr<std::uint8_t, c_free> wire_owner{wire};
    out.wire.resize(size);
    std::transform(wire, wire + size, out.wire.begin(), [](std::uint8_t b) { return std::byte{b}; });
    out.question.id = id;
    out.question.type = type;
    out.question.klass = LDNS_RR_CLASS_IN;
    return out;
}

bool set_dns_query_id(std::span<std::byte> wire, std::uint16_t id) noexcept {
    if (wire.size() < 2) return false;
    wire[0] = std::byte{static_cast<std::uint8_t>(id >> 8)};
    wire[1] = std::byte{static_cast<std::uint8_t>(id & 0xffu)};
    return true;
}

checked_response check_dns_response(std::span<const std::byte> message, const dns_question& q,
                                    bool want_records) {
    checked_response out;
    const auto header = dns_view::parse(message);
    if (!header) return out;  // empty or shorter than a header: malformed
    if (header->id() != q.id) {
        out.verdict = response_verdict::wrong_id;
        return out;
    }
    // nettool's own bounded walk first: records past the end, pointer loops and forward pointers
    // are malformed here whatever ldns would make of them (load mode uses the same test).
    if (!header->well_formed()) return out;
    ldns_pkt* raw = nullptr;
    // ldns reads from a uint8_t buffer; std::byte and uint8_t share representation.
    std::vector<std::uint8_t> copy(message.size());
    std::transform(message.begin(), message.end(), copy.begin(),
                   [](std::byte b) { return std::to_integer<std::uint8_t>(b); });
    if (ldns().wire2pkt(&raw, copy.data(), copy.size()) != LDNS_STATUS_OK || raw == nullptr) {
        ldns().pkt_free(raw);
        return out;  // malformed
    }
    pkt_ptr pkt{raw};
    const ldns_rr_list* question = ldns().pkt_question(pkt.get());
    if (!ldns().pkt_qr(pkt.get()) || question == nullptr || ldns().rr_list_rr_count(question) != 1) {
        out.verdict = response_verdict::wrong_question;
        return out;
    }
    const ldns_rr* qrr = ldns().rr_list_rr(question, 0);
    const std::string qname = lower(take_string(ldns().rdf2str(ldns().rr_owner(qrr))));
    if (qname != q.name || ldns().rr_get_type(qrr) != q.type || ldns().rr_get_class(qrr) != q.klass) {
        out.verdict = response_verdict::wrong_question;
        return out;
    }
    out.verdict = response_verdict::accepted;
    out.rcode = static_cast<unsigned>(ldns().pkt_get_rcode(pkt.get())) |
                (static_cast<unsigned>(ldns().pkt_edns_extended_rcode(pkt.get())) << 4);
    out.truncated = ldns().pkt_tc(pkt.get());
    if (want_records) {
        out.records.rcode = dns_rcode_name(out.rcode);
        out.records.authoritative = ldns().pkt_aa(pkt.get());
        out.records.truncated = out.truncated;
        out.records.answer = rr_strings(ldns().pkt_answer(pkt.get()));
        out.records.authority = rr_strings(ldns().pkt_authority(pkt.get()));
        out.records.additional = rr_strings(ldns().pkt_additional(pkt.get()));
    }
    return out;
}

std::optional<std::uint16_t> dns_tcp_length(std::span<const std::byte> prefix) noexcept {
    cursor c{prefix};
    const auto len = c.u16();
    if (!c.ok()) return std::nullopt;
    return len;
}

}  // namespace nettool::detail
