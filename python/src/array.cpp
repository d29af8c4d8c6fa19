#include "array.hpp"

#include <Python.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "message/arrow_layout.hpp"

namespace dora::python {

namespace {

// How to read one column; built once per array from its schema (formats are parsed once, not
// per element).
enum class Kind {
    kNull,
    kBool,
    kInt8,
    kUInt8,
    kInt16,
    kUInt16,
    kInt32,
    kUInt32,
    kInt64,
    kUInt64,
    kHalf,
    kFloat,
    kDouble,
    kBinary,  // z Z: bytes
    kUtf8,    // u U: str
    kFixedBinary,
    kDecimal,
    kRaw32,    // dates, times, month intervals: the stored integer
    kRaw64,    // timestamps, durations, date64, time64: the stored integer
    kDayTime,  // (days, milliseconds)
    kMonthDayNano,
    kList,
    kMap,
    kFixedList,
    kStruct,
};

struct Reader {
    Kind kind = Kind::kNull;
    int64_t width = 0;   // fixed-width bytes; offsets bytes (4/8); fixed list size
    int32_t scale = 0;   // decimals
    std::string name;    // pyarrow-style type name
    std::string format;  // Arrow C format string
    std::vector<std::string> field_names;  // structs
    std::vector<std::unique_ptr<Reader>> children;
    std::unique_ptr<Reader> dictionary;
    int64_t dict_index_width = 0;
    bool dict_index_signed = true;
};

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

std::unique_ptr<Reader> make_reader(const ArrowSchema& schema);

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
    if (schema.dictionary != nullptr) {
        // The schema's own format is the index type; the values are the dictionary's.
        r->dictionary = make_reader(*schema.dictionary);
        r->dict_index_width = r->width;
        r->dict_index_signed = f == "c" || f == "s" || f == "i" || f == "l";
        r->name = "dictionary<values=" + r->dictionary->name + ", indices=" + r->name +
                  ", ordered=" + ((schema.flags & ARROW_FLAG_DICTIONARY_ORDERED) != 0 ? "1" : "0") +
                  ">";
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

py::object read_value(const Reader& r, const ArrowArray& a, int64_t i);

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

// A flat, read-only byte view of an array: fixed-width primitives without nulls, or the value
// bytes of binary/string arrays.
struct FlatView {
    const std::byte* ptr = nullptr;
    int64_t bytes = 0;
    int64_t itemsize = 1;
    const char* format = "B";
};

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

py::handle g_array_type;

}  // namespace

ArrayRoot::~ArrayRoot() {
    if (array.release != nullptr) {
        array.release(&array);
    }
    if (schema.release != nullptr) {
        schema.release(&schema);
    }
}

Array Array::from_source(ArraySource source) {
    auto root = std::make_shared<ArrayRoot>();
    root->source = std::move(source);
    const ArraySource& s = root->source;
    if (auto ok = message::export_array(*s.info, s.data, s.size, s.keep_alive, &root->array,
                                        &root->schema);
        !ok) {
        throw py::value_error("received data is not a readable Arrow array: " +
                              ok.error().message());
    }
    const int64_t length = root->array.length;
    return Array(std::move(root), 0, length);
}

Array Array::empty() {
    static const auto* const kNullInfo = [] {
        auto* info = new message::ArrowTypeInfo();  // never freed: arrays may outlive statics
        info->format = "n";
        return info;
    }();
    ArraySource source;
    source.info = kNullInfo;
    return from_source(std::move(source));
}

Array Array::slice(int64_t start, int64_t length) const {
    return Array(root_, start_ + start, length);
}

py::handle array_type() { return g_array_type; }

namespace {

// Per-root lazily built reader, cached on the Python side would need a holder; build per call
// instead: a reader is a few small allocations, negligible next to creating Python objects.
std::unique_ptr<Reader> reader_of(const Array& a) { return make_reader(a.schema()); }

bool has_nulls_in(const Array& a) {
    const ArrowArray& arr = a.array();
    if (arr.null_count == 0 || arr.n_buffers == 0 || arr.buffers[0] == nullptr) {
        return false;
    }
    for (int64_t i = 0; i < a.length(); ++i) {
        if (!is_valid(arr, arr.offset + a.start() + i)) {
            return true;
        }
    }
    return false;
}

// Why `a` has no flat view, or empty when it has one (filled into `view`).
std::string flat_view(const Array& a, FlatView& view) {
    const auto reader = reader_of(a);
    const ArrowArray& arr = a.array();
    if (reader->dictionary) {
        return "a dictionary-encoded array has no flat buffer";
    }
    if (has_nulls_in(a)) {
        return "an array with nulls has no flat buffer";
    }
    const int64_t first = arr.offset + a.start();
    if (const char* fmt = buffer_format(reader->kind)) {
        view.itemsize = reader->width;
        view.format = fmt;
        view.bytes = a.length() * reader->width;
        view.ptr = a.length() == 0
                       ? nullptr
                       : static_cast<const std::byte*>(arr.buffers[1]) + first * reader->width;
        return {};
    }
    if (reader->kind == Kind::kBinary || reader->kind == Kind::kUtf8) {
        const int64_t width = reader->format == "z" || reader->format == "u" ? 4 : 8;
        const int64_t begin = load_offset(arr.buffers[1], width, first);
        const int64_t end = load_offset(arr.buffers[1], width, first + a.length());
        view.ptr = static_cast<const std::byte*>(arr.buffers[2]) + begin;
        view.bytes = end - begin;
        return {};
    }
    if (reader->kind == Kind::kFixedBinary) {
        view.ptr = static_cast<const std::byte*>(arr.buffers[1]) + first * reader->width;
        view.bytes = a.length() * reader->width;
        return {};
    }
    if (reader->kind == Kind::kNull && a.length() == 0) {
        return {};  // an empty timer tick: zero bytes
    }
    return "a " + reader->name + " array has no flat buffer (use to_pylist())";
}

// Buffer protocol with proper error reporting (pybind11's def_buffer cannot raise).
struct ViewShape {
    Py_ssize_t shape;
    Py_ssize_t stride;
};

extern "C" int array_getbuffer(PyObject* obj, Py_buffer* view, int flags) {
    view->obj = nullptr;
    if ((flags & PyBUF_WRITABLE) == PyBUF_WRITABLE) {
        PyErr_SetString(PyExc_BufferError,
                        "dora.Array is read-only (it is shared memory other nodes may read)");
        return -1;
    }
    FlatView flat;
    std::string why;
    try {
        why = flat_view(py::handle(obj).cast<const Array&>(), flat);
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_BufferError, e.what());
        return -1;
    }
    if (!why.empty()) {
        PyErr_SetString(PyExc_BufferError, why.c_str());
        return -1;
    }
    auto* shape = new ViewShape{static_cast<Py_ssize_t>(flat.bytes / flat.itemsize),
                                static_cast<Py_ssize_t>(flat.itemsize)};
    static std::byte empty_byte{};
    view->buf = const_cast<std::byte*>(flat.ptr != nullptr ? flat.ptr : &empty_byte);
    view->obj = obj;
    Py_INCREF(obj);
    view->len = static_cast<Py_ssize_t>(flat.bytes);
    view->readonly = 1;
    view->itemsize = static_cast<Py_ssize_t>(flat.itemsize);
    view->format =
        (flags & PyBUF_FORMAT) == PyBUF_FORMAT ? const_cast<char*>(flat.format) : nullptr;
    view->ndim = 1;
    view->shape = (flags & PyBUF_ND) == PyBUF_ND ? &shape->shape : nullptr;
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? &shape->stride : nullptr;
    view->suboffsets = nullptr;
    view->internal = shape;
    return 0;
}

extern "C" void array_releasebuffer(PyObject*, Py_buffer* view) {
    delete static_cast<ViewShape*>(view->internal);
}

void release_schema_capsule(PyObject* capsule) {
    auto* schema = static_cast<ArrowSchema*>(PyCapsule_GetPointer(capsule, "arrow_schema"));
    if (schema != nullptr && schema->release != nullptr) {
        schema->release(schema);
    }
    delete schema;
}

void release_array_capsule(PyObject* capsule) {
    auto* array = static_cast<ArrowArray*>(PyCapsule_GetPointer(capsule, "arrow_array"));
    if (array != nullptr && array->release != nullptr) {
        array->release(array);
    }
    delete array;
}

py::tuple arrow_c_array(const Array& a, const py::object& requested_schema) {
    (void)requested_schema;  // the interface allows ignoring it: the consumer casts if needed
    const ArraySource& s = a.root()->source;
    auto schema = std::make_unique<ArrowSchema>();
    auto array = std::make_unique<ArrowArray>();
    if (auto ok =
            message::export_array(*s.info, s.data, s.size, s.keep_alive, array.get(), schema.get());
        !ok) {
        throw py::value_error("__arrow_c_array__: " + ok.error().message());
    }
    if (a.start() != 0 || a.length() != array->length) {
        array->offset += a.start();
        array->length = a.length();
        if (array->null_count != 0) {
            array->null_count = -1;  // unknown for the slice: the consumer recounts
        }
    }
    py::capsule schema_capsule(schema.release(), "arrow_schema", &release_schema_capsule);
    py::capsule array_capsule(array.release(), "arrow_array", &release_array_capsule);
    return py::make_tuple(schema_capsule, array_capsule);
}

struct DataType {
    std::string name;
    std::string format;
};

struct Scalar {
    py::object value;
    DataType type;
};

DataType type_of(const Array& a) {
    auto r = reader_of(a);
    return DataType{r->name, r->format};
}

Scalar scalar_at(const Array& a, const Reader& r, int64_t i) {
    return Scalar{read_value(r, a.array(), a.start() + i), DataType{r.name, r.format}};
}

py::list to_pylist(const Array& a) {
    auto r = reader_of(a);
    py::list out(static_cast<size_t>(a.length()));
    for (int64_t i = 0; i < a.length(); ++i) {
        out[static_cast<size_t>(i)] = read_value(*r, a.array(), a.start() + i);
    }
    return out;
}

py::bytes to_pybytes(const Array& a) {
    FlatView flat;
    if (auto why = flat_view(a, flat); !why.empty()) {
        throw py::type_error("to_pybytes(): " + why);
    }
    return py::bytes(reinterpret_cast<const char*>(flat.ptr), static_cast<size_t>(flat.bytes));
}

py::object to_numpy(const py::object& self, bool zero_copy_only, bool writable) {
    const Array& a = self.cast<const Array&>();
    py::module_ np;
    try {
        np = py::module_::import("numpy");
    } catch (py::error_already_set&) {
        throw py::import_error(
            "to_numpy() needs numpy, which is not installed; use to_pylist(), bytes(value) "
            "or memoryview(value) instead, or install numpy");
    }
    auto r = reader_of(a);
    FlatView flat;
    const char* dtype = numpy_dtype(r->kind);
    if (dtype != nullptr && !r->dictionary && flat_view(a, flat).empty()) {
        py::object result = np.attr("frombuffer")(self, py::arg("dtype") = dtype);
        return writable ? result.attr("copy")() : result;
    }
    if (zero_copy_only) {
        throw py::value_error("to_numpy(): a " + r->name +
                              " array cannot be viewed without copying (it has nulls or no "
                              "fixed-width values); call to_numpy(zero_copy_only=False)");
    }
    if (r->kind == Kind::kBool && !has_nulls_in(a)) {
        return np.attr("array")(to_pylist(a), py::arg("dtype") = "bool");
    }
    if (dtype != nullptr) {
        // Nulls become NaN, as pyarrow does.
        py::list values = to_pylist(a);
        for (size_t i = 0; i < values.size(); ++i) {
            if (values[i].is_none()) {
                values[i] = py::float_(NAN);
            }
        }
        return np.attr("array")(values);
    }
    return np.attr("array")(to_pylist(a), py::arg("dtype") = "object");
}

std::string repr(const Array& a) {
    auto r = reader_of(a);
    std::string text =
        "<dora.Array type=" + r->name + " length=" + std::to_string(a.length()) + ">\n[";
    const int64_t shown = std::min<int64_t>(a.length(), 10);
    for (int64_t i = 0; i < shown; ++i) {
        py::object v = read_value(*r, a.array(), a.start() + i);
        text += (i == 0 ? "\n  " : ",\n  ") + py::repr(v).cast<std::string>();
    }
    if (shown < a.length()) {
        text += ",\n  ...";
    }
    text += shown > 0 ? "\n]" : "]";
    return text;
}

int64_t normalize_index(const Array& a, int64_t i) {
    if (i < 0) {
        i += a.length();
    }
    if (i < 0 || i >= a.length()) {
        throw py::index_error("index " + std::to_string(i) + " is out of bounds for an array of " +
                              std::to_string(a.length()) + " elements");
    }
    return i;
}

struct ArrayIterator {
    Array array;
    std::unique_ptr<Reader> reader;
    int64_t next = 0;
};

bool scalar_equals(const Scalar& s, const py::object& other) {
    if (py::isinstance<Scalar>(other)) {
        const auto& o = other.cast<const Scalar&>();
        return s.type.name == o.type.name && s.value.equal(o.value);
    }
    return s.value.equal(other);
}

}  // namespace

void bind_array(py::module_& m) {
    py::class_<DataType>(m, "DataType",
                         "The Arrow data type of an Array, printed as pyarrow prints it.")
        .def_readonly("format", &DataType::format, "The Arrow C data interface format string.")
        .def("__str__", [](const DataType& t) { return t.name; })
        .def("__repr__", [](const DataType& t) { return "DataType(" + t.name + ")"; })
        .def("__hash__", [](const DataType& t) { return py::hash(py::str(t.name)); })
        .def("__eq__", [](const DataType& t, const py::object& other) {
            if (py::isinstance<DataType>(other)) {
                return other.cast<const DataType&>().name == t.name;
            }
            if (py::isinstance<py::str>(other)) {
                const auto s = other.cast<std::string>();
                return s == t.name || s == t.format;
            }
            // pyarrow.DataType: compare by its printed name.
            const auto module = py::str(py::type::of(other).attr("__module__")).cast<std::string>();
            return module.starts_with("pyarrow") && py::str(other).cast<std::string>() == t.name;
        });

    py::class_<Scalar>(m, "Scalar", "One element of an Array; as_py() gives the Python value.")
        .def(
            "as_py", [](const Scalar& s) { return s.value; }, "The element as a Python object.")
        .def_property_readonly("type", [](const Scalar& s) { return s.type; })
        .def_property_readonly("is_valid", [](const Scalar& s) { return !s.value.is_none(); })
        .def("__repr__",
             [](const Scalar& s) {
                 return "<dora.Scalar type=" + s.type.name + ": " +
                        py::repr(s.value).cast<std::string>() + ">";
             })
        .def("__str__", [](const Scalar& s) { return py::str(s.value); })
        .def("__eq__", &scalar_equals)
        .def("__hash__", [](const Scalar& s) { return py::hash(s.value); })
        .def("__int__", [](const Scalar& s) { return py::int_(s.value); })
        .def("__float__", [](const Scalar& s) { return py::float_(s.value); });

    py::class_<ArrayIterator>(m, "_ArrayIterator")
        .def("__iter__", [](py::object self) { return self; })
        .def("__next__", [](ArrayIterator& it) {
            if (it.next >= it.array.length()) {
                throw py::stop_iteration();
            }
            return scalar_at(it.array, *it.reader, it.next++);
        });

    auto cls = py::class_<Array>(m, "Array", R"doc(
A zero-copy, read-only Arrow array over a message's memory (``event["value"]``).

Behaves like a pyarrow array for the common calls and stays valid as long as Python references it.
``pyarrow.array(value)`` imports it without copying (Arrow PyCapsule interface).)doc");
    cls.def("__len__", &Array::length)
        .def_property_readonly("type", &type_of, "The Arrow data type.")
        .def_property_readonly(
            "null_count",
            [](const Array& a) {
                int64_t n = 0;
                for (int64_t i = 0; i < a.length(); ++i) {
                    n += is_valid(a.array(), a.array().offset + a.start() + i) ? 0 : 1;
                }
                return n;
            },
            "Number of null elements.")
        .def(
            "__getitem__",
            [](const Array& a, int64_t i) {
                auto r = reader_of(a);
                return scalar_at(a, *r, normalize_index(a, i));
            },
            py::arg("index"))
        .def("__getitem__",
             [](const Array& a, const py::slice& s) {
                 size_t start = 0, stop = 0, step = 0, count = 0;
                 if (!s.compute(static_cast<size_t>(a.length()), &start, &stop, &step, &count)) {
                     throw py::error_already_set();
                 }
                 if (step != 1) {
                     throw py::value_error("dora.Array slices need a step of 1");
                 }
                 return a.slice(static_cast<int64_t>(start), static_cast<int64_t>(count));
             })
        .def(
            "slice",
            [](const Array& a, int64_t offset, std::optional<int64_t> length) {
                offset = std::clamp<int64_t>(offset, 0, a.length());
                const int64_t n = std::clamp<int64_t>(length.value_or(a.length() - offset), 0,
                                                      a.length() - offset);
                return a.slice(offset, n);
            },
            py::arg("offset") = 0, py::arg("length") = py::none(),
            "A zero-copy slice, as pyarrow.Array.slice.")
        .def("__iter__",
             [](const Array& a) {
                 return ArrayIterator{a, reader_of(a), 0};
             })
        .def("to_pylist", &to_pylist, "The elements as a list of Python objects.")
        .def("tolist", &to_pylist, "Alias of to_pylist().")
        .def("to_pybytes", &to_pybytes,
             "The bytes of a byte (uint8/int8), other fixed-width primitive, binary or string "
             "array, copied into a bytes object.")
        .def("to_numpy", &to_numpy, py::arg("zero_copy_only") = true, py::arg("writable") = false,
             "A numpy view of a primitive array (zero-copy, read-only); needs numpy.")
        .def("__arrow_c_array__", &arrow_c_array, py::arg("requested_schema") = py::none(),
             "Arrow PyCapsule interface: (schema capsule, array capsule), zero-copy.")
        .def("equals",
             [](const Array& a, const Array& b) {
                 return type_of(a).name == type_of(b).name && to_pylist(a).equal(to_pylist(b));
             })
        .def("__eq__",
             [](const Array& a, const py::object& other) {
                 if (py::isinstance<Array>(other)) {
                     const auto& b = other.cast<const Array&>();
                     return type_of(a).name == type_of(b).name && to_pylist(a).equal(to_pylist(b));
                 }
                 return false;
             })
        .def("__repr__", &repr)
        .def("__str__", &repr);
    // Arrays hold shared memory: hashing by contents would be surprising; keep them unhashable.
    cls.attr("__hash__") = py::none();

    auto* heap = reinterpret_cast<PyHeapTypeObject*>(cls.ptr());
    heap->ht_type.tp_as_buffer = &heap->as_buffer;
    heap->as_buffer.bf_getbuffer = array_getbuffer;
    heap->as_buffer.bf_releasebuffer = array_releasebuffer;
    g_array_type = cls;
}

}  // namespace dora::python
