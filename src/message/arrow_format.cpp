#include "message/arrow_format.hpp"

#include <charconv>

namespace dora::message {
namespace {

// Element counts or byte widths beyond this are refused; they only come from hostile input.
constexpr uint64_t kMaxWidth = uint64_t{1} << 31;

constexpr std::string_view kSupported =
    "n b c C s S i I l L e f g d:P,S[,W] w:N z Z u U tdD tdm tts ttm ttu ttn ts?:TZ tD? tiM tiD "
    "tin +l +L +m +w:N +s";

Result<FormatInfo> unsupported(std::string_view format) {
    return fail("unsupported Arrow format '{}' (supported: {})", format, kSupported);
}

FormatInfo fixed(uint64_t bytes) { return FormatInfo{LayoutKind::kFixedWidth, 2, bytes}; }

// Parses a decimal number in [1, kMaxWidth] that makes up all of `text`.
bool parse_count(std::string_view text, uint64_t& out) {
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc() && ptr == end && !text.empty() && out <= kMaxWidth;
}

Result<FormatInfo> parse_decimal(std::string_view format) {
    // d:precision,scale[,bitwidth]
    std::string_view rest = format.substr(2);
    const size_t first = rest.find(',');
    if (first == std::string_view::npos) {
        return unsupported(format);
    }
    uint64_t precision = 0;
    if (!parse_count(rest.substr(0, first), precision)) {
        return unsupported(format);
    }
    rest = rest.substr(first + 1);
    const size_t second = rest.find(',');
    std::string_view scale = rest.substr(0, second);
    if (!scale.empty() && scale.front() == '-') {
        scale.remove_prefix(1);
    }
    uint64_t ignored = 0;
    if (!scale.empty() && scale != "0" && !parse_count(scale, ignored)) {
        return unsupported(format);
    }
    uint64_t bits = 128;
    if (second != std::string_view::npos && !parse_count(rest.substr(second + 1), bits)) {
        return unsupported(format);
    }
    if (bits != 32 && bits != 64 && bits != 128 && bits != 256) {
        return unsupported(format);
    }
    return fixed(bits / 8);
}

Result<FormatInfo> parse_temporal(std::string_view format) {
    if (format.size() < 3) {
        return unsupported(format);
    }
    const std::string_view head = format.substr(0, 3);
    if (head == "tdD" || head == "tts" || head == "ttm" || head == "tiM") {
        return format.size() == 3 ? Result<FormatInfo>(fixed(4)) : unsupported(format);
    }
    if (head == "tdm" || head == "ttu" || head == "ttn" || head == "tDs" || head == "tDm" ||
        head == "tDu" || head == "tDn" || head == "tiD") {
        return format.size() == 3 ? Result<FormatInfo>(fixed(8)) : unsupported(format);
    }
    if (head == "tin") {
        return format.size() == 3 ? Result<FormatInfo>(fixed(16)) : unsupported(format);
    }
    if ((head == "tss" || head == "tsm" || head == "tsu" || head == "tsn") && format.size() >= 4 &&
        format[3] == ':') {
        return fixed(8);  // timestamp; anything after the colon is the time zone
    }
    return unsupported(format);
}

}  // namespace

Result<FormatInfo> parse_format(std::string_view format) {
    if (format.size() == 1) {
        switch (format[0]) {
            case 'n':
                return FormatInfo{LayoutKind::kNull, 0, 0};
            case 'b':
                return FormatInfo{LayoutKind::kBoolean, 2, 0};
            case 'c':
            case 'C':
                return fixed(1);
            case 's':
            case 'S':
            case 'e':
                return fixed(2);
            case 'i':
            case 'I':
            case 'f':
                return fixed(4);
            case 'l':
            case 'L':
            case 'g':
                return fixed(8);
            case 'z':
            case 'u':
                return FormatInfo{LayoutKind::kVariableBinary, 3, 4};
            case 'Z':
            case 'U':
                return FormatInfo{LayoutKind::kVariableBinary, 3, 8};
            default:
                return unsupported(format);
        }
    }
    if (format == "+l" || format == "+m") {
        return FormatInfo{LayoutKind::kList, 2, 4};
    }
    if (format == "+L") {
        return FormatInfo{LayoutKind::kList, 2, 8};
    }
    if (format == "+s") {
        return FormatInfo{LayoutKind::kStruct, 1, 0};
    }
    uint64_t count = 0;
    if (format.starts_with("w:")) {
        if (!parse_count(format.substr(2), count)) {
            return unsupported(format);
        }
        return fixed(count);
    }
    if (format.starts_with("+w:")) {
        if (!parse_count(format.substr(3), count)) {
            return unsupported(format);
        }
        return FormatInfo{LayoutKind::kFixedSizeList, 1, count};
    }
    if (format.starts_with("d:")) {
        return parse_decimal(format);
    }
    if (format.starts_with("t")) {
        return parse_temporal(format);
    }
    return unsupported(format);
}

bool is_integer_format(std::string_view format) {
    return format.size() == 1 &&
           std::string_view("cCsSiIlL").find(format[0]) != std::string_view::npos;
}

}  // namespace dora::message
