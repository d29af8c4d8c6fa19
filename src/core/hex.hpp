// Lowercase hex text of bytes (digests, nonces, tokens), and the check that a text is such hex of
// a given length.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dora {

[[nodiscard]] inline std::string to_hex(const unsigned char* data, size_t n) {
    constexpr std::string_view kDigits = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (size_t i = 0; i < n; ++i) {
        out.push_back(kDigits[data[i] >> 4]);
        out.push_back(kDigits[data[i] & 15]);
    }
    return out;
}

// True when `text` is `digits` lowercase hex digits.
[[nodiscard]] inline bool is_lower_hex(std::string_view text, size_t digits) {
    return text.size() == digits &&
           text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace dora
