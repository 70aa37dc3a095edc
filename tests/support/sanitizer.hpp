#pragma once
// Whether this test binary is built with a sanitizer (the asan preset). Its timings speak for the
// instrumentation, not for nettool: ASan's allocator serves every library in the process
// (OpenSSL's allocations too, which a peer tool like curl pays nothing for), so timing tests
// there check what was measured and leave the ratios to the release build.

namespace nettool::test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool instrumented = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
inline constexpr bool instrumented = true;
#else
inline constexpr bool instrumented = false;
#endif
#else
inline constexpr bool instrumented = false;
#endif

}  // namespace nettool::test
