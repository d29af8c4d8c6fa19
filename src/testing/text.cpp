#include "testing/text.hpp"

#include <fstream>
#include <sstream>

namespace dora::testing {

::testing::AssertionResult contains(std::string_view text, std::string_view what) {
    if (has_text(text, what)) {
        return ::testing::AssertionSuccess() << "found \"" << what << "\" in:\n" << text;
    }
    return ::testing::AssertionFailure() << "\"" << what << "\" not found in:\n" << text;
}

size_t count_of(std::string_view text, std::string_view what) {
    if (what.empty()) {
        return 0;
    }
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    if (from.empty()) {
        return text;
    }
    for (size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

std::string read_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace dora::testing
