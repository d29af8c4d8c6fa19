#include "message/arrow_json.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "message/arrow_format.hpp"
#include "message/arrow_layout.hpp"

namespace dora::message {

namespace {

using nlohmann::json;

// Reads within the data region only: every access is checked against its end.
class Reader {
  public:
    Reader(std::span<const std::byte> data, const ArrowJsonLimits& limits, bool& truncated)
        : data_(data), limits_(limits), truncated_(truncated) {}

    // The elements [first, first + count) of `info` (logical indices, before info.offset).
    Result<json> elements(const ArrowTypeInfo& info, uint64_t first, uint64_t count) {
        json out = json::array();
        uint64_t shown = count;
        if (count > limits_.max_elements) {
            shown = limits_.max_elements;
            truncated_ = true;
        }
        for (uint64_t i = 0; i < shown; ++i) {
            auto value = element(info, first + i);
            if (!value) {
                return fail(value.error());
            }
            out.push_back(std::move(*value));
        }
        if (shown < count) {
            out.push_back(fmt::format("… {} more", count - shown));
        }
        return out;
    }

  private:
    Result<json> element(const ArrowTypeInfo& info, uint64_t logical) {
        if (++rendered_ > limits_.max_values) {
            // Dictionaries may show one large value many times: the work stays bounded.
            return fail("more than {} values to show; look at the data with a program instead",
                        limits_.max_values);
        }
        auto format = parse_format(info.format);
        if (!format) {
            return fail(format.error());
        }
        const uint64_t p = static_cast<uint64_t>(info.offset) + logical;
        if (format->kind != LayoutKind::kNull && !info.buffers.empty() &&
            !info.buffers[0].is_null()) {
            auto bit = read_bit(info.buffers[0], p);
            if (!bit) {
                return fail(bit.error());
            }
            if (!*bit) {
                return json(nullptr);
            }
        }
        if (info.dictionary) {
            auto index = integer(info, p);
            if (!index) {
                return fail(index.error());
            }
            if (*index < 0 || *index >= info.dictionary->length) {
                return fail("dictionary index {} outside its {} values", *index,
                            info.dictionary->length);
            }
            return element(*info.dictionary, static_cast<uint64_t>(*index));
        }
        switch (format->kind) {
            case LayoutKind::kNull:
                return json(nullptr);
            case LayoutKind::kBoolean: {
                auto bit = read_bit(info.buffers[1], p);
                if (!bit) {
                    return fail(bit.error());
                }
                return json(*bit);
            }
            case LayoutKind::kFixedWidth:
                return fixed(info, format->width, p);
            case LayoutKind::kVariableBinary:
                return binary(info, format->width, p);
            case LayoutKind::kList: {
                auto range = offsets(info.buffers[1], format->width, p);
                if (!range) {
                    return fail(range.error());
                }
                return elements(info.children.at(0), range->first, range->second - range->first);
            }
            case LayoutKind::kFixedSizeList:
                return elements(info.children.at(0), p * format->width, format->width);
            case LayoutKind::kStruct: {
                json object = json::object();
                for (const auto& child : info.children) {
                    auto value = element(child, p);
                    if (!value) {
                        return fail(value.error());
                    }
                    object[child.name] = std::move(*value);
                }
                return object;
            }
        }
        return fail("format {} cannot be shown", info.format);
    }

    Result<std::span<const std::byte>> bytes(const BufferRef& buffer, uint64_t at, uint64_t n) {
        if (buffer.is_null() || at > buffer.length || n > buffer.length - at ||
            buffer.offset > data_.size() || buffer.length > data_.size() - buffer.offset) {
            return fail("a read of {} byte(s) at {} leaves its buffer", n, at);
        }
        return data_.subspan(buffer.offset + at, n);
    }

    Result<bool> read_bit(const BufferRef& buffer, uint64_t index) {
        auto byte = bytes(buffer, index / 8, 1);
        if (!byte) {
            return fail(byte.error());
        }
        return ((static_cast<unsigned>((*byte)[0]) >> (index % 8)) & 1U) != 0;
    }

    template <typename T>
    Result<T> read(const BufferRef& buffer, uint64_t index) {
        auto raw = bytes(buffer, index * sizeof(T), sizeof(T));
        if (!raw) {
            return fail(raw.error());
        }
        T value;
        std::memcpy(&value, raw->data(), sizeof(T));
        return value;
    }

    // An integer element of a fixed-width array (dictionary indices, temporal types).
    Result<int64_t> integer(const ArrowTypeInfo& info, uint64_t p) {
        const BufferRef& values = info.buffers.at(1);
        switch (info.format[0]) {
            case 'c':
                return read<int8_t>(values, p);
            case 'C':
                return read<uint8_t>(values, p);
            case 's':
                return read<int16_t>(values, p);
            case 'S':
                return read<uint16_t>(values, p);
            case 'i':
                return read<int32_t>(values, p);
            case 'I':
                return read<uint32_t>(values, p);
            case 'l':
                return read<int64_t>(values, p);
            case 'L': {
                auto v = read<uint64_t>(values, p);
                if (!v) {
                    return fail(v.error());
                }
                return static_cast<int64_t>(*v);
            }
            default:
                return fail("format {} is not an integer", info.format);
        }
    }

    Result<json> fixed(const ArrowTypeInfo& info, uint64_t width, uint64_t p) {
        const BufferRef& values = info.buffers.at(1);
        const std::string& f = info.format;
        auto wrap = [](auto result) -> Result<json> {
            if (!result) {
                return fail(result.error());
            }
            return json(*result);
        };
        if (f == "L") {
            return wrap(read<uint64_t>(values, p));
        }
        if (f.size() == 1 && f != "e" && f != "f" && f != "g") {
            return wrap(integer(info, p));
        }
        if (f == "f") {
            return finite(read<float>(values, p));
        }
        if (f == "g") {
            return finite(read<double>(values, p));
        }
        if (f == "e") {
            auto bits = read<uint16_t>(values, p);
            if (!bits) {
                return fail(bits.error());
            }
            return finite(Result<double>(half_to_double(*bits)));
        }
        if (f.starts_with("t") && (width == 4 || width == 8)) {
            // Dates, times, timestamps, durations: their count of days or time units.
            if (width == 4) {
                return wrap(read<int32_t>(values, p));
            }
            return wrap(read<int64_t>(values, p));
        }
        auto raw = bytes(values, p * width, width);
        if (!raw) {
            return fail(raw.error());
        }
        return json(hex(*raw));
    }

    template <typename T>
    static Result<json> finite(Result<T> value) {
        if (!value) {
            return fail(value.error());
        }
        const auto v = static_cast<double>(*value);
        if (std::isnan(v)) {
            return json("NaN");
        }
        if (std::isinf(v)) {
            return json(v > 0 ? "Infinity" : "-Infinity");
        }
        return json(*value);
    }

    static double half_to_double(uint16_t h) {
        const int exponent = (h >> 10) & 0x1f;
        const int mantissa = h & 0x3ff;
        const double sign = (h & 0x8000) != 0 ? -1.0 : 1.0;
        if (exponent == 0) {
            return sign * std::ldexp(mantissa, -24);
        }
        if (exponent == 31) {
            return mantissa == 0 ? sign * INFINITY : NAN;
        }
        return sign * std::ldexp(mantissa + 1024, exponent - 25);
    }

    Result<std::pair<uint64_t, uint64_t>> offsets(const BufferRef& buffer, uint64_t width,
                                                  uint64_t p) {
        int64_t begin = 0;
        int64_t end = 0;
        if (width == 4) {
            auto b = read<int32_t>(buffer, p);
            auto e = read<int32_t>(buffer, p + 1);
            if (!b || !e) {
                return fail(!b ? b.error() : e.error());
            }
            begin = *b;
            end = *e;
        } else {
            auto b = read<int64_t>(buffer, p);
            auto e = read<int64_t>(buffer, p + 1);
            if (!b || !e) {
                return fail(!b ? b.error() : e.error());
            }
            begin = *b;
            end = *e;
        }
        if (begin < 0 || end < begin) {
            return fail("offsets {}..{} of element {} are not a range", begin, end, p);
        }
        return std::pair<uint64_t, uint64_t>(static_cast<uint64_t>(begin),
                                             static_cast<uint64_t>(end));
    }

    Result<json> binary(const ArrowTypeInfo& info, uint64_t width, uint64_t p) {
        auto range = offsets(info.buffers.at(1), width, p);
        if (!range) {
            return fail(range.error());
        }
        auto raw = bytes(info.buffers.at(2), range->first, range->second - range->first);
        if (!raw) {
            return fail(raw.error());
        }
        if (info.format == "u" || info.format == "U") {
            return json(valid_utf8(*raw));
        }
        return json(hex(*raw));
    }

    std::string hex(std::span<const std::byte> raw) const {
        std::string out = "0x";
        const size_t shown = std::min(raw.size(), limits_.max_hex_bytes);
        for (size_t i = 0; i < shown; ++i) {
            out += fmt::format("{:02x}", static_cast<unsigned>(raw[i]));
        }
        if (shown < raw.size()) {
            out += fmt::format("… ({} bytes)", raw.size());
            truncated_ = true;
        }
        return out;
    }

    std::span<const std::byte> data_;
    const ArrowJsonLimits& limits_;
    bool& truncated_;
    uint64_t rendered_ = 0;  // values rendered so far, at every level
};

}  // namespace

std::string valid_utf8(std::span<const std::byte> raw) {
    // Well-formed sequences are kept; every other byte becomes U+FFFD.
    std::string out;
    out.reserve(raw.size());
    size_t i = 0;
    while (i < raw.size()) {
        const auto b = static_cast<unsigned char>(raw[i]);
        size_t n = b < 0x80           ? 1
                   : (b >> 5) == 0x6  ? 2
                   : (b >> 4) == 0xe  ? 3
                   : (b >> 3) == 0x1e ? 4
                                      : 0;
        bool ok = n != 0 && i + n <= raw.size();
        uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1fU) : n == 3 ? (b & 0x0fU) : (b & 0x07U);
        for (size_t k = 1; ok && k < n; ++k) {
            const auto c = static_cast<unsigned char>(raw[i + k]);
            ok = (c >> 6) == 0x2;
            cp = (cp << 6) | (c & 0x3fU);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        ok = ok && !(n == 2 && cp < 0x80) && !(n == 3 && cp < 0x800) &&
             !(n == 4 && (cp < 0x10000 || cp > 0x10ffff)) && !(cp >= 0xd800 && cp <= 0xdfff);
        if (ok) {
            out.append(reinterpret_cast<const char*>(raw.data()) + i, n);
            i += n;
        } else {
            out += "\xef\xbf\xbd";
            ++i;
        }
    }
    return out;
}

namespace {

std::string simple_name(std::string_view f) {
    static const std::pair<std::string_view, std::string_view> kNames[] = {
        {"n", "null"},       {"b", "bool"},     {"c", "int8"},         {"C", "uint8"},
        {"s", "int16"},      {"S", "uint16"},   {"i", "int32"},        {"I", "uint32"},
        {"l", "int64"},      {"L", "uint64"},   {"e", "float16"},      {"f", "float32"},
        {"g", "float64"},    {"z", "binary"},   {"Z", "large_binary"}, {"u", "utf8"},
        {"U", "large_utf8"}, {"tdD", "date32"}, {"tdm", "date64"},
    };
    for (const auto& [format, name] : kNames) {
        if (f == format) {
            return std::string(name);
        }
    }
    if (f.starts_with("w:")) {
        return fmt::format("fixed_size_binary[{}]", f.substr(2));
    }
    if (f.starts_with("d:")) {
        return fmt::format("decimal({})", f.substr(2));
    }
    if (f.starts_with("tss")) {
        return fmt::format("timestamp[s{}]", f.substr(3));
    }
    if (f.starts_with("tsm")) {
        return fmt::format("timestamp[ms{}]", f.substr(3));
    }
    if (f.starts_with("tsu")) {
        return fmt::format("timestamp[us{}]", f.substr(3));
    }
    if (f.starts_with("tsn")) {
        return fmt::format("timestamp[ns{}]", f.substr(3));
    }
    return std::string(f);
}

}  // namespace

std::string arrow_type_name(const ArrowTypeInfo& info) {
    std::string name;
    if (info.format == "+l" || info.format == "+L") {
        name = fmt::format("{}<{}>", info.format == "+l" ? "list" : "large_list",
                           info.children.empty() ? "?" : arrow_type_name(info.children[0]));
    } else if (info.format.starts_with("+w:")) {
        name = fmt::format("fixed_size_list<{}>[{}]",
                           info.children.empty() ? "?" : arrow_type_name(info.children[0]),
                           info.format.substr(3));
    } else if (info.format == "+s" || info.format == "+m") {
        std::string fields;
        for (const auto& child : info.children) {
            fields += fmt::format("{}{}: {}", fields.empty() ? "" : ", ", child.name,
                                  arrow_type_name(child));
        }
        name = fmt::format("{}<{}>", info.format == "+s" ? "struct" : "map", fields);
    } else {
        name = simple_name(info.format);
    }
    if (info.dictionary) {
        return fmt::format("dictionary<values={}, indices={}>", arrow_type_name(*info.dictionary),
                           name);
    }
    return name;
}

Result<ArrowJson> arrow_to_json(const ArrowTypeInfo& info, std::span<const std::byte> data,
                                const ArrowJsonLimits& limits) {
    if (auto ok = check_layout(info, data.size()); !ok) {
        return fail(ok.error());
    }
    if (auto ok = check_offsets(info, data.data()); !ok) {
        return fail(ok.error());
    }
    ArrowJson out;
    Reader reader(data, limits, out.truncated);
    auto value = reader.elements(info, 0, static_cast<uint64_t>(info.length));
    if (!value) {
        return fail(value.error().context(fmt::format("reading a {}", arrow_type_name(info))));
    }
    out.value = std::move(*value);
    return out;
}

std::optional<std::string> message_text(const ArrowTypeInfo& info,
                                        std::span<const std::byte> data) {
    if (info.dictionary || info.null_count != 0 || !check_layout(info, data.size())) {
        return std::nullopt;
    }
    if (info.format == "C") {
        const uint64_t start = info.buffers[1].offset + static_cast<uint64_t>(info.offset);
        auto bytes = data.subspan(start, static_cast<size_t>(info.length));
        std::string text = valid_utf8(bytes);
        if (text.size() != bytes.size() ||
            std::memcmp(text.data(), bytes.data(), bytes.size()) != 0) {
            return std::nullopt;  // something had to be replaced: not UTF-8
        }
        for (unsigned char c : text) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return std::nullopt;
            if (c == 0x7f) return std::nullopt;
        }
        return text;
    }
    if ((info.format == "u" || info.format == "U") && info.length == 1) {
        auto rendered = arrow_to_json(info, data, {.max_elements = 1});
        if (rendered && rendered->value[0].is_string()) {
            return rendered->value[0].get<std::string>();
        }
    }
    return std::nullopt;
}

nlohmann::json parameters_to_json(const Parameters& parameters) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : parameters) {
        std::visit([&](const auto& v) { out[key] = v; }, value);
    }
    return out;
}

}  // namespace dora::message
