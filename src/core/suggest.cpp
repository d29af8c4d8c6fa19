#include "core/suggest.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace dora {

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string did_you_mean(std::string_view key, const std::vector<std::string_view>& known) {
    for (const auto& candidate : known) {
        if (edit_distance(key, candidate) <= 2 && key.size() > 2) {
            return fmt::format(" (did you mean `{}`?)", candidate);
        }
    }
    return {};
}

}  // namespace dora
