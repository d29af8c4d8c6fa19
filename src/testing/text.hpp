// Test support: looking at what processes printed and files they wrote.
//
// Thread safety: free functions, no shared state.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace dora::testing {

// For assertions: EXPECT_TRUE(contains(run.out(), "total 5")) prints the whole text when the
// line is missing, and EXPECT_FALSE(...) prints it when the line is there.
[[nodiscard]] ::testing::AssertionResult contains(std::string_view text, std::string_view what);

// The same as a plain bool, for conditions polled in a loop.
[[nodiscard]] inline bool has_text(std::string_view text, std::string_view what) {
    return text.find(what) != std::string_view::npos;
}

// How many times `what` occurs in `text` (overlapping occurrences counted).
[[nodiscard]] size_t count_of(std::string_view text, std::string_view what);

// `text` with every `from` replaced by `to`.
[[nodiscard]] std::string replace_all(std::string text, std::string_view from, std::string_view to);

// The file's content, or "" when it cannot be read.
[[nodiscard]] std::string read_file(const std::filesystem::path& file);

}  // namespace dora::testing
