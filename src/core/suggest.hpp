// "Did you mean ...?" for a misspelt key: the one known spelling within two edits of what was
// written (the YAML parsers of dataflow files and cluster files share it).
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dora {

// The Levenshtein distance between `a` and `b`.
[[nodiscard]] size_t edit_distance(std::string_view a, std::string_view b);

// " (did you mean `x`?)" when one known key is a likely typo of `key`, else "".
[[nodiscard]] std::string did_you_mean(std::string_view key,
                                       const std::vector<std::string_view>& known);

}  // namespace dora
