#include "core/shared_object.hpp"

#include <nettool/core/error.hpp>

#include <fmt/format.h>

#include <dlfcn.h>

#include <cerrno>

namespace nettool::detail {

void* open_shared_object(const char* soname) {
    void* h = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
        const char* why = ::dlerror();
        throw error(
            std::error_code{ENOENT, std::system_category()},
            fmt::format("cannot load {}: {} (run scripts/install-deps.sh)", soname, why ? why : "unknown"));
    }
    return h;
}

void* shared_object_symbol(void* handle, const char* soname, const char* name) {
    ::dlerror();
    void* p = ::dlsym(handle, name);
    if (p == nullptr)
        throw error(
            std::error_code{ENOENT, std::system_category()},
            fmt::format("{} has no symbol {}: a different version than nettool was built for", soname, name));
    return p;
}

}  // namespace nettool::detail
