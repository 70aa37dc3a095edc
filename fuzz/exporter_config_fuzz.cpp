// libFuzzer: an exporter config file (YAML, outside bytes) through yaml-cpp and every check of
// nettool/exporter/config.hpp. What parses must be within the caps, and every target's module
// must exist; anything else must be a nettool::error with a sentence.
#include <nettool/core/error.hpp>
#include <nettool/exporter/config.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace nettool::exporter;
    try {
        const auto c = parse_config(std::string_view{reinterpret_cast<const char*>(data), size});
        if (c.targets.size() > config_caps::max_targets || c.modules.size() > config_caps::max_modules)
            __builtin_trap();
        for (const auto& t : c.targets) {
            if (c.modules.count(t.module) != 1) __builtin_trap();
            if (t.interval < config_caps::min_interval || t.interval > config_caps::max_interval) __builtin_trap();
        }
        for (const auto& [name, m] : c.modules)
            if (m.count < 1 || m.count > config_caps::max_count || m.timeout > config_caps::max_timeout)
                __builtin_trap();
    } catch (const nettool::error& e) {
        if (std::string_view{e.what()}.empty()) __builtin_trap();
    }
    return 0;
}
