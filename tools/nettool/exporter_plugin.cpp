#include "exporter_plugin.hpp"

#include <fmt/format.h>

#include <dlfcn.h>

namespace nettool::cli {

// The executable's run path finds the library beside libnettool.so, in the build tree and once
// installed.
const exporter::plugin_api* load_exporter_plugin(std::string& why) {
    void* handle = ::dlopen(exporter::plugin_soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* e = ::dlerror();
        why = fmt::format("cannot open {} (it is built and installed with nettool): {}", exporter::plugin_soname,
                          e ? e : "unknown reason");
        return nullptr;
    }
    const auto entry = reinterpret_cast<exporter::plugin_entry>(::dlsym(handle, exporter::plugin_symbol));
    if (!entry) {
        why = fmt::format("{} has no {}: another nettool version's library?", exporter::plugin_soname,
                          exporter::plugin_symbol);
        return nullptr;
    }
    return entry();
}

}  // namespace nettool::cli
