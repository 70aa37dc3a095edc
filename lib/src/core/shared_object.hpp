#pragma once
// Opening a shared library when it is first needed (dlopen), for dependencies that only some
// commands use: loading them at start would cost every run their relocations.

namespace nettool::detail {

/// The handle of `soname` (kept for the life of the process). Throws nettool::error naming the
/// library and the loader's reason (a missing package, for one) when it cannot be loaded.
void* open_shared_object(const char* soname);

/// The address of `name` in the library `handle` came from. Throws nettool::error naming both.
void* shared_object_symbol(void* handle, const char* soname, const char* name);

/// Fills each member of an API struct from the library: `load(api.member, "c_name")`.
template <typename F>
void load_symbol(F& fn, void* handle, const char* soname, const char* name) {
    fn = reinterpret_cast<F>(shared_object_symbol(handle, soname, name));
}

/// The one loader of every API struct (ldns, libpcap, OpenSSL): opens `soname` the first time
/// and fills an Api with fill(api, handle), once per process (thread-safe: a function-local
/// static per loader, since each passes its own fill).
template <typename Api, typename Fill>
const Api& loaded_api(const char* soname, Fill fill) {
    static const Api api = [&] {
        Api a;
        fill(a, open_shared_object(soname));
        return a;
    }();
    return api;
}

}  // namespace nettool::detail
