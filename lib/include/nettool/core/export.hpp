#pragma once
// What libnettool.so exports. The library builds with hidden visibility (CMake's
// CXX_VISIBILITY_PRESET hidden), so only declarations between NETTOOL_API_BEGIN and
// NETTOOL_API_END are visible to programs that link it. Every public header under
// lib/include/nettool/ wraps its declarations in them; nothing in lib/src/ does, except the few
// private headers that tests and fuzzers reach deliberately, which use NETTOOL_TESTING_API_BEGIN
// (same effect, named so that a reader sees it is a testing interface, not public API).
//
// A region rather than a macro on each declaration: classes, their members, free functions and
// type information (for exceptions crossing the library boundary) all follow it, and a new
// declaration in a public header cannot be forgotten.

#if defined(__GNUC__) || defined(__clang__)
#define NETTOOL_API_BEGIN _Pragma("GCC visibility push(default)")
#define NETTOOL_API_END _Pragma("GCC visibility pop")
#else
#define NETTOOL_API_BEGIN
#define NETTOOL_API_END
#endif

#define NETTOOL_TESTING_API_BEGIN NETTOOL_API_BEGIN
#define NETTOOL_TESTING_API_END NETTOOL_API_END
