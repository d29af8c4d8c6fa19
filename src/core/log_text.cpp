#include "core/log_text.hpp"

#include <fmt/format.h>

namespace dora {

namespace {

// Length of the valid UTF-8 sequence at the start of `s` (1-4), or 0 when it is not one
// (overlong forms, surrogates and code points above U+10FFFF are not valid).
size_t utf8_sequence(std::string_view s) {
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char b0 = byte(0);
    size_t n = 0;
    uint32_t cp = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
        cp = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        cp = b0 & 0x0Fu;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        cp = b0 & 0x07u;
    } else {
        return 0;
    }
    if (s.size() < n) {
        return 0;
    }
    for (size_t i = 1; i < n; ++i) {
        if ((byte(i) & 0xC0u) != 0x80u) {
            return 0;
        }
        cp = (cp << 6) | (byte(i) & 0x3Fu);
    }
    const bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
    const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    if (overlong || surrogate || cp > 0x10FFFF) {
        return 0;
    }
    // C1 controls (U+0080-U+009F) are control characters too.
    if (cp >= 0x80 && cp <= 0x9F) {
        return 0;
    }
    return n;
}

void append_hex(std::string& out, unsigned char c) { out += fmt::format("\\x{:02x}", c); }

}  // namespace

std::string escape_for_log(std::string_view bytes, size_t budget) {
    const std::string_view head = bytes.substr(0, budget);
    std::string out;
    out.reserve(head.size() + 16);
    size_t i = 0;
    while (i < head.size()) {
        const auto c = static_cast<unsigned char>(head[i]);
        if (c >= 0x20 && c < 0x7F) {
            out += c == '\\' ? "\\\\" : std::string(1, static_cast<char>(c));
            ++i;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t";
            ++i;
        } else if (size_t n = c >= 0x80 ? utf8_sequence(head.substr(i)) : 0; n > 0) {
            out.append(head.substr(i, n));
            i += n;
        } else {
            append_hex(out, c);
            ++i;
        }
    }
    if (bytes.size() > head.size()) {
        out += fmt::format("\u2026({} bytes)", bytes.size());
    }
    return out;
}

std::optional<uint64_t> LogThrottle::admit(Clock::time_point now) {
    if (last_ && now - *last_ < interval_) {
        ++held_back_;
        return std::nullopt;
    }
    last_ = now;
    const uint64_t held = held_back_;
    held_back_ = 0;
    return held;
}

}  // namespace dora
