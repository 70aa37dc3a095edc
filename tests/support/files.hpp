// Files a test reads or writes: whole-file reads, per-process temporary paths, and a temporary
// file removed when it goes out of scope.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace nettool::test {

/// The whole file, byte for byte; empty when it cannot be read.
std::string read_text(const std::filesystem::path& p);

/// <temp dir>/nettool-test-<pid>-<name>: unique to this process, so parallel ctest runs (one
/// process per test) never share one.
std::string temp_path(std::string_view name);

/// How many '\n' the text holds.
std::size_t count_lines(std::string_view text);

/// A file holding `contents` under a fresh temp_path, removed on destruction.
class temp_file {
public:
    explicit temp_file(std::string_view contents, std::string_view suffix = "");
    ~temp_file();
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

}  // namespace nettool::test
