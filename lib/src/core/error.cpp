#include <nettool/core/error.hpp>

#include <new>

namespace nettool {

namespace {
class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "nettool"; }
    std::string message(int v) const override {
        switch (static_cast<errc>(v)) {
            case errc::ok: return "success";
            case errc::bad_address: return "not a valid address or host name";
            case errc::bad_port: return "port must be a number from 1 to 65535";
            case errc::bad_prefix: return "invalid prefix (expected ADDR/LEN or ADDR/MASK)";
            case errc::non_contiguous_mask: return "netmask is not contiguous";
            case errc::bad_mac: return "invalid MAC address (expected six hex octets like 00:11:22:33:44:55)";
            case errc::bad_argument: return "invalid argument";
            case errc::bad_dns_name: return "invalid DNS name";
            case errc::unknown_interface: return "no such network interface";
            case errc::resolve_failed: return "host name did not resolve";
            case errc::timed_out: return "timed out";
            case errc::protocol_error: return "peer broke the nettool protocol";
            case errc::version_mismatch: return "peer speaks another nettool protocol version";
            case errc::rejected: return "responder rejected the session";
            case errc::truncated: return "truncated";
            case errc::malformed: return "malformed";
            case errc::unsupported_link_type: return "unsupported link type";
            case errc::permission_denied: return "permission denied (run as root or grant CAP_NET_RAW)";
            case errc::nothing_received: return "nothing received";
            case errc::too_large: return "input is over nettool's limits";
        }
        return "unknown nettool error";
    }
};
}  // namespace

const std::error_category& nettool_category() noexcept {
    static const category c;
    return c;
}

bool is_usage_error(const std::error_code& ec) noexcept {
    if (ec.category() != nettool_category()) return false;
    switch (static_cast<errc>(ec.value())) {
        case errc::bad_address:
        case errc::bad_port:
        case errc::bad_prefix:
        case errc::non_contiguous_mask:
        case errc::bad_mac:
        case errc::bad_argument:
        case errc::bad_dns_name:
        case errc::unknown_interface: return true;
        default: return false;
    }
}

namespace detail {

std::error_code code_of_current_exception(errc otherwise) noexcept {
    try {
        throw;
    } catch (const std::system_error& e) {
        return e.code();
    } catch (const std::bad_alloc&) {
        return std::make_error_code(std::errc::not_enough_memory);
    } catch (...) {
        return make_error_code(otherwise);
    }
}

}  // namespace detail

}  // namespace nettool
