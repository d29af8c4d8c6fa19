#include "arrow_reader.hpp"

#include <Python.h>

#include <cmath>
#include <cstring>

namespace dora::python {

namespace {

template <typename T>
T load(const void* base, int64_t index) {
    T value;
    std::memcpy(&value,
                static_cast<const std::byte*>(base) + index * static_cast<int64_t>(sizeof(T)),
                sizeof(T));
    return value;
}

double half_to_double(uint16_t h) {
    const int exponent = (h >> 10) & 0x1f;
    const int mantissa = h & 0x3ff;
    double value;
    if (exponent == 0) {
        value = std::ldexp(mantissa, -24);
    } else if (exponent == 31) {
        value = mantissa == 0 ? HUGE_VAL : NAN;
    } else {
        value = std::ldexp(mantissa + 1024, exponent - 25);
    }
    return (h & 0x8000) != 0 ? -value : value;
}

std::string fixed_name(char c) {
    switch (c) {
        case 'n':
            return "null";
        case 'b':
            return "bool";
        case 'c':
            return "int8";
        case 'C':
            return "uint8";
        case 's':
            return "int16";
        case 'S':
            return "uint16";
        case 'i':
            return "int32";
        case 'I':
            return "uint32";
        case 'l':
            return "int64";
        case 'L':
            return "uint64";
        case 'e':
            return "halffloat";
        case 'f':
            return "float";
        case 'g':
            return "double";
        case 'z':
            return "binary";
        case 'Z':
            return "large_binary";
        case 'u':
            return "string";
        case 'U':
            return "large_string";
        default:
            return {};
    }
}

Kind fixed_kind(char c) {
    switch (c) {
        case 'n':
            return Kind::kNull;
        case 'b':
            return Kind::kBool;
        case 'c':
            return Kind::kInt8;
        case 'C':
            return Kind::kUInt8;
        case 's':
            return Kind::kInt16;
        case 'S':
            return Kind::kUInt16;
        case 'i':
            return Kind::kInt32;
        case 'I':
            return Kind::kUInt32;
        case 'l':
            return Kind::kInt64;
        case 'L':
            return Kind::kUInt64;
        case 'e':
            return Kind::kHalf;
        case 'f':
            return Kind::kFloat;
        case 'g':
            return Kind::kDouble;
        case 'z':
        case 'Z':
            return Kind::kBinary;
        default:
            return Kind::kUtf8;  // 'u' 'U'
    }
}

int64_t fixed_width(Kind kind) {
    switch (kind) {
        case Kind::kInt8:
        case Kind::kUInt8:
            return 1;
        case Kind::kInt16:
        case Kind::kUInt16:
        case Kind::kHalf:
            return 2;
        case Kind::kInt32:
        case Kind::kUInt32:
        case Kind::kFloat:
            return 4;
        case Kind::kInt64:
        case Kind::kUInt64:
        case Kind::kDouble:
            return 8;
        default:
            return 0;
    }
}

std::string temporal_name(std::string_view f) {
    const std::string_view head = f.substr(0, 3);
    if (head == "tdD") return "date32[day]";
    if (head == "tdm") return "date64[ms]";
    if (head == "tts") return "time32[s]";
    if (head == "ttm") return "time32[ms]";
    if (head == "ttu") return "time64[us]";
    if (head == "ttn") return "time64[ns]";
    if (head == "tiM") return "month_interval";
    if (head == "tiD") return "day_time_interval";
    if (head == "tin") return "month_day_nano_interval";
    static constexpr std::string_view kUnits[] = {"s", "ms", "us", "ns"};
    const size_t unit = std::string_view("smun").find(f.size() > 2 ? f[2] : '?');
    const std::string u = unit < 4 ? std::string(kUnits[unit]) : "?";
    if (f.starts_with("tD")) return "duration[" + u + "]";
    if (f.starts_with("ts")) {
        const std::string_view tz = f.size() > 4 ? f.substr(4) : std::string_view{};
        return "timestamp[" + u + (tz.empty() ? "" : ", tz=" + std::string(tz)) + "]";
    }
    return std::string(f);
}

std::string field_label(const ArrowSchema& child, const Reader& reader, const char* fallback) {
    const std::string name = child.name != nullptr && child.name[0] != '\0' ? child.name : fallback;
    return name + ": " + reader.name;
}

void make_nested(const ArrowSchema& schema, Reader& r) {
    for (int64_t i = 0; i < schema.n_children; ++i) {
        r.children.push_back(make_reader(*schema.children[i]));
        r.field_names.emplace_back(schema.children[i]->name != nullptr ? schema.children[i]->name
                                                                       : "");
    }
    const std::string_view f = r.format;
    if (f == "+s") {
        r.kind = Kind::kStruct;
        r.name = "struct<";
        for (size_t i = 0; i < r.children.size(); ++i) {
            r.name += (i == 0 ? "" : ", ") + r.field_names[i] + ": " + r.children[i]->name;
        }
        r.name += ">";
        return;
    }
    const std::string item =
        r.children.empty() ? "?" : field_label(*schema.children[0], *r.children[0], "item");
    if (f == "+l" || f == "+L") {
        r.kind = Kind::kList;
        r.width = f == "+l" ? 4 : 8;
        r.name = std::string(f == "+l" ? "list<" : "large_list<") + item + ">";
    } else if (f == "+m") {
        r.kind = Kind::kMap;
        r.width = 4;
        const Reader* entries = r.children.empty() ? nullptr : r.children[0].get();
        if (entries != nullptr && entries->children.size() == 2) {
            r.name = "map<" + entries->children[0]->name + ", " + entries->children[1]->name + ">";
        } else {
            r.name = "map<?>";
        }
    } else {  // +w:N
        r.kind = Kind::kFixedList;
        r.width = std::stoll(std::string(f.substr(3)));
        r.name = "fixed_size_list<" + item + ">[" + std::string(f.substr(3)) + "]";
    }
}

}  // namespace

std::unique_ptr<Reader> make_reader(const ArrowSchema& schema) {
    auto r = std::make_unique<Reader>();
    r->format = schema.format != nullptr ? schema.format : "n";
    const std::string_view f = r->format;
    if (f.size() == 1) {
        r->kind = fixed_kind(f[0]);
        r->width = fixed_width(r->kind);
        r->name = fixed_name(f[0]);
    } else if (f.starts_with("w:")) {
        r->kind = Kind::kFixedBinary;
        r->width = std::stoll(std::string(f.substr(2)));
        r->name = "fixed_size_binary[" + std::string(f.substr(2)) + "]";
    } else if (f.starts_with("d:")) {
        // d:precision,scale[,bits]
        r->kind = Kind::kDecimal;
        const std::string rest(f.substr(2));
        const size_t comma = rest.find(',');
        const size_t second = rest.find(',', comma + 1);
        r->scale = static_cast<int32_t>(std::stol(rest.substr(comma + 1, second - comma - 1)));
        const int64_t bits =
            second == std::string::npos ? 128 : std::stoll(rest.substr(second + 1));
        r->width = bits / 8;
        r->name = "decimal" + std::to_string(bits) + "(" + rest.substr(0, comma) + ", " +
                  std::to_string(r->scale) + ")";
    } else if (f.starts_with("t")) {
        const std::string_view head = f.substr(0, 3);
        if (head == "tiD") {
            r->kind = Kind::kDayTime;
        } else if (head == "tin") {
            r->kind = Kind::kMonthDayNano;
        } else if (head == "tdD" || head == "tts" || head == "ttm" || head == "tiM") {
            r->kind = Kind::kRaw32;
        } else {
            r->kind = Kind::kRaw64;
        }
        r->name = temporal_name(f);
    } else {
        make_nested(schema, *r);
    }
    r->temporal = r->kind == Kind::kRaw32 || r->kind == Kind::kRaw64 || r->kind == Kind::kDayTime ||
                  r->kind == Kind::kMonthDayNano;
    for (const auto& child : r->children) {
        r->temporal = r->temporal || child->temporal;
    }
    if (schema.dictionary != nullptr) {
        // The schema's own format is the index type; the values are the dictionary's.
        r->dictionary = make_reader(*schema.dictionary);
        r->dict_index_width = r->width;
        r->dict_index_signed = f == "c" || f == "s" || f == "i" || f == "l";
        r->name = "dictionary<values=" + r->dictionary->name + ", indices=" + r->name +
                  ", ordered=" + ((schema.flags & ARROW_FLAG_DICTIONARY_ORDERED) != 0 ? "1" : "0") +
                  ">";
        r->temporal = r->temporal || r->dictionary->temporal;
    }
    return r;
}

bool is_valid(const ArrowArray& a, int64_t physical) {
    if (a.null_count == 0 || a.n_buffers == 0 || a.buffers[0] == nullptr) {
        return true;
    }
    const auto* bits = static_cast<const uint8_t*>(a.buffers[0]);
    return ((bits[physical >> 3] >> (physical & 7)) & 1) != 0;
}

int64_t load_offset(const void* offsets, int64_t width, int64_t index) {
    return width == 4 ? load<int32_t>(offsets, index) : load<int64_t>(offsets, index);
}

namespace {

py::object read_decimal(const Reader& r, const void* values, int64_t p) {
    const auto* bytes = static_cast<const unsigned char*>(values) + p * r.width;
    py::object unscaled = py::reinterpret_steal<py::object>(
        _PyLong_FromByteArray(bytes, static_cast<size_t>(r.width), 1, 1));
    if (!unscaled) {
        throw py::error_already_set();
    }
    py::object decimal = py::module_::import("decimal").attr("Decimal")(unscaled);
    return decimal.attr("scaleb")(-r.scale);
}

py::object read_nested(const Reader& r, const ArrowArray& a, int64_t p) {
    switch (r.kind) {
        case Kind::kStruct: {
            py::dict d;
            for (size_t c = 0; c < r.children.size(); ++c) {
                // Struct children are indexed by the parent's logical index plus its offset.
                d[py::str(r.field_names[c])] = read_value(*r.children[c], *a.children[c], p);
            }
            return d;
        }
        case Kind::kList:
        case Kind::kMap: {
            const int64_t begin = load_offset(a.buffers[1], r.width, p);
            const int64_t end = load_offset(a.buffers[1], r.width, p + 1);
            py::list items;
            for (int64_t k = begin; k < end; ++k) {
                py::object item = read_value(*r.children[0], *a.children[0], k);
                if (r.kind == Kind::kMap && py::isinstance<py::dict>(item)) {
                    py::list kv;
                    for (auto entry : py::reinterpret_borrow<py::dict>(item)) {
                        kv.append(entry.second);
                    }
                    item = py::tuple(kv);
                }
                items.append(item);
            }
            return items;
        }
        default: {  // kFixedList
            py::list items;
            for (int64_t k = p * r.width; k < (p + 1) * r.width; ++k) {
                items.append(read_value(*r.children[0], *a.children[0], k));
            }
            return items;
        }
    }
}

}  // namespace

// The Python value of logical element `i` of `a` (offset applied here).
py::object read_value(const Reader& r, const ArrowArray& a, int64_t i) {
    const int64_t p = a.offset + i;
    if (r.kind == Kind::kNull || !is_valid(a, p)) {
        return py::none();
    }
    if (r.dictionary) {
        const int64_t index =
            r.dict_index_width == 1   ? (r.dict_index_signed ? load<int8_t>(a.buffers[1], p)
                                                             : load<uint8_t>(a.buffers[1], p))
            : r.dict_index_width == 2 ? (r.dict_index_signed ? load<int16_t>(a.buffers[1], p)
                                                             : load<uint16_t>(a.buffers[1], p))
            : r.dict_index_width == 4
                ? (r.dict_index_signed ? load<int32_t>(a.buffers[1], p)
                                       : static_cast<int64_t>(load<uint32_t>(a.buffers[1], p)))
                : load<int64_t>(a.buffers[1], p);
        if (index < 0 || index >= a.dictionary->length) {
            throw py::index_error("dictionary index " + std::to_string(index) +
                                  " is outside the dictionary");
        }
        return read_value(*r.dictionary, *a.dictionary, index);
    }
    const void* values = a.n_buffers > 1 ? a.buffers[1] : nullptr;
    switch (r.kind) {
        case Kind::kBool: {
            const auto* bits = static_cast<const uint8_t*>(values);
            return py::bool_(((bits[p >> 3] >> (p & 7)) & 1) != 0);
        }
        case Kind::kInt8:
            return py::int_(load<int8_t>(values, p));
        case Kind::kUInt8:
            return py::int_(load<uint8_t>(values, p));
        case Kind::kInt16:
            return py::int_(load<int16_t>(values, p));
        case Kind::kUInt16:
            return py::int_(load<uint16_t>(values, p));
        case Kind::kInt32:
        case Kind::kRaw32:
            return py::int_(load<int32_t>(values, p));
        case Kind::kUInt32:
            return py::int_(load<uint32_t>(values, p));
        case Kind::kInt64:
        case Kind::kRaw64:
            return py::int_(load<int64_t>(values, p));
        case Kind::kUInt64:
            return py::int_(load<uint64_t>(values, p));
        case Kind::kHalf:
            return py::float_(half_to_double(load<uint16_t>(values, p)));
        case Kind::kFloat:
            return py::float_(load<float>(values, p));
        case Kind::kDouble:
            return py::float_(load<double>(values, p));
        case Kind::kDayTime:
            return py::make_tuple(load<int32_t>(values, 2 * p), load<int32_t>(values, 2 * p + 1));
        case Kind::kMonthDayNano: {
            const auto* base = static_cast<const std::byte*>(values) + p * 16;
            return py::make_tuple(load<int32_t>(base, 0), load<int32_t>(base, 1),
                                  load<int64_t>(base + 8, 0));
        }
        case Kind::kFixedBinary:
            return py::bytes(static_cast<const char*>(values) + p * r.width,
                             static_cast<size_t>(r.width));
        case Kind::kDecimal:
            return read_decimal(r, values, p);
        case Kind::kBinary:
        case Kind::kUtf8: {
            const int64_t width = r.format == "z" || r.format == "u" ? 4 : 8;
            const int64_t begin = load_offset(values, width, p);
            const int64_t end = load_offset(values, width, p + 1);
            const char* chars = static_cast<const char*>(a.buffers[2]) + begin;
            const auto n = static_cast<size_t>(end - begin);
            if (r.kind == Kind::kBinary) {
                return py::bytes(chars, n);
            }
            return py::reinterpret_steal<py::object>(
                PyUnicode_DecodeUTF8(chars, static_cast<Py_ssize_t>(n), "replace"));
        }
        default:
            return read_nested(r, a, p);
    }
}

const char* buffer_format(Kind kind) {
    switch (kind) {
        case Kind::kInt8:
            return "b";
        case Kind::kUInt8:
            return "B";
        case Kind::kInt16:
            return "h";
        case Kind::kUInt16:
            return "H";
        case Kind::kInt32:
            return "i";
        case Kind::kUInt32:
            return "I";
        case Kind::kInt64:
            return "q";
        case Kind::kUInt64:
            return "Q";
        case Kind::kHalf:
            return "e";
        case Kind::kFloat:
            return "f";
        case Kind::kDouble:
            return "d";
        default:
            return nullptr;
    }
}

const char* numpy_dtype(Kind kind) {
    switch (kind) {
        case Kind::kInt8:
            return "int8";
        case Kind::kUInt8:
            return "uint8";
        case Kind::kInt16:
            return "int16";
        case Kind::kUInt16:
            return "uint16";
        case Kind::kInt32:
            return "int32";
        case Kind::kUInt32:
            return "uint32";
        case Kind::kInt64:
            return "int64";
        case Kind::kUInt64:
            return "uint64";
        case Kind::kHalf:
            return "float16";
        case Kind::kFloat:
            return "float32";
        case Kind::kDouble:
            return "float64";
        default:
            return nullptr;
    }
}

}  // namespace dora::python
