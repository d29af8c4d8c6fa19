// A double as Python's repr() (and so print() and json.dumps) writes it, for the sensor
// network's C++ nodes, whose output lines and payloads must equal the Python nodes' byte for
// byte: the shortest digits that read back as the same double, positional notation with at
// least one digit after the point ("1007.0", "21.7") when the decimal exponent is in [-4, 16),
// otherwise scientific with a signed two-digit-minimum exponent ("1e-05", "1.5e+16").
// Header-only so the example builds out of tree with nothing but the node API; pure function,
// safe from any thread.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>

inline std::string python_float(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value < 0 ? "-inf" : "inf";

    // Shortest round-trip digits, as "[-]d[.ddd]e<sign>XX"; the same digits Python chooses.
    char buf[64];
    const auto result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
    std::string_view text(buf, static_cast<size_t>(result.ptr - buf));
    std::string out;
    if (text.front() == '-') {
        out += '-';
        text.remove_prefix(1);
    }
    const size_t e = text.find('e');
    std::string digits(1, text[0]);
    if (e > 1) digits += text.substr(2, e - 2);
    const int exponent = std::atoi(std::string(text.substr(e + 1)).c_str());
    const int digit_count = static_cast<int>(digits.size());

    if (exponent < -4 || exponent >= 16) {
        out += digits[0];
        if (digit_count > 1) out += '.' + digits.substr(1);
        const int magnitude = std::abs(exponent);
        out += exponent < 0 ? "e-" : "e+";
        if (magnitude < 10) out += '0';
        out += std::to_string(magnitude);
    } else if (exponent < 0) {
        out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (digit_count <= exponent + 1) {
        out += digits + std::string(static_cast<size_t>(exponent + 1 - digit_count), '0') + ".0";
    } else {
        const auto point = static_cast<size_t>(exponent + 1);
        out += digits.substr(0, point) + '.' + digits.substr(point);
    }
    return out;
}
