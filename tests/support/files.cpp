#include "support/files.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace nettool::test {

std::string read_text(const std::filesystem::path& p) {
    std::ifstream in{p, std::ios::binary};
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string temp_path(std::string_view name) {
    return (std::filesystem::temp_directory_path() /
            ("nettool-test-" + std::to_string(::getpid()) + "-" + std::string{name}))
        .string();
}

std::size_t count_lines(std::string_view text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

temp_file::temp_file(std::string_view contents, std::string_view suffix) {
    static int serial = 0;
    path_ = temp_path("file-" + std::to_string(serial++) + std::string{suffix});
    std::ofstream{path_, std::ios::binary} << contents;
}

temp_file::~temp_file() { std::remove(path_.c_str()); }

}  // namespace nettool::test
