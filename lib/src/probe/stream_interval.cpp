#include <nettool/probe/stream_interval.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>

namespace nettool {

void interval_meter::close(mono_clock::time_point now, std::uint64_t total_bytes,
                           std::optional<std::uint64_t> total_retransmits) {
    stream_interval iv;
    iv.start_s = std::chrono::duration<double>(from_ - start_).count();
    iv.end_s = std::chrono::duration<double>(now - start_).count();
    iv.bytes = total_bytes - base_;
    const double dt = iv.end_s - iv.start_s;
    iv.bits_per_second = dt > 0 ? static_cast<double>(iv.bytes) * 8.0 / dt : 0.0;
    if (total_retransmits) {
        // A running count never falls; a smaller one (a socket that went away) adds nothing.
        const std::uint64_t now_total = std::max(*total_retransmits, retransmits_base_);
        iv.retransmits = now_total - retransmits_base_;
        if (dt >= 0.05) {
            retransmits_base_ = now_total;
        } else if (!out_.empty()) {
            out_.back().retransmits = out_.back().retransmits.value_or(0) + *iv.retransmits;
            retransmits_base_ = now_total;
        }
    }
    if (dt >= 0.05) {
        out_.push_back(iv);
        if (on_interval_) on_interval_(iv);
    }
    base_ = total_bytes;
    from_ = now;
}

const char* to_string(stream_direction d) noexcept {
    switch (d) {
        case stream_direction::upload: return "upload";
        case stream_direction::download: return "download";
        case stream_direction::bidir: return "bidir";
    }
    return "?";
}

void to_json(nlohmann::json& j, const stream_interval& i) {
    j = {{"start_s", i.start_s},
         {"end_s", i.end_s},
         {"bytes", i.bytes},
         {"bits_per_second", i.bits_per_second}};
    if (i.retransmits) j["retransmits"] = *i.retransmits;
    if (i.sent) {
        j["sent"] = *i.sent;
        j["lost"] = i.lost.value_or(0);
        j["reordered"] = i.reordered.value_or(0);
        j["duplicates"] = i.duplicates.value_or(0);
    }
}

}  // namespace nettool
