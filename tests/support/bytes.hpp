// A text as the bytes a parser of outside bytes reads: a view, no copy.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace nettool::test {

inline std::span<const std::byte> text_bytes(std::string_view s) { return std::as_bytes(std::span{s.data(), s.size()}); }

}  // namespace nettool::test
