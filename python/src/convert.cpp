#include "convert.hpp"

#include <Python.h>
#include <datetime.h>
#include <time.h>

#include <cstring>

#include "message/arrow_format.hpp"

namespace dora::python {

namespace {

constexpr const char* kAccepted =
    "accepted: bytes, bytearray, memoryview, str, a list of int, float, str or bool, an object "
    "with the buffer protocol (e.g. a numpy array) or an object with __arrow_c_array__ (e.g. a "
    "pyarrow array)";

std::string type_name(py::handle object) {
    return py::str(py::type::of(object).attr("__qualname__")).cast<std::string>();
}

void copy_fill(Prepared& out, const void* src, size_t n) {
    out.fill = [src, n](std::byte* dest) {
        if (n != 0) {
            std::memcpy(dest, src, n);
        }
    };
}

// Arrow format of a struct-module/PEP 3118 element format, or nullptr.
const char* arrow_format_of(const char* format, Py_ssize_t itemsize, bool& is_bool) {
    is_bool = false;
    std::string_view f = format == nullptr ? "B" : format;
    if (!f.empty() && (f[0] == '@' || f[0] == '=' || f[0] == '<')) {
        f.remove_prefix(1);  // native / little-endian: what this machine is
    }
    if (f.size() != 1) {
        return nullptr;
    }
    switch (f[0]) {
        case 'b':
            return "c";
        case 'B':
        case 'c':
            return "C";
        case '?':
            is_bool = true;
            return "b";
        case 'e':
            return "e";
        case 'f':
            return "f";
        case 'd':
            return "g";
        default:
            break;
    }
    const bool is_signed = std::string_view("hilqn").find(f[0]) != std::string_view::npos;
    const bool is_unsigned = std::string_view("HILQN").find(f[0]) != std::string_view::npos;
    if (!is_signed && !is_unsigned) {
        return nullptr;
    }
    switch (itemsize) {
        case 2:
            return is_signed ? "s" : "S";
        case 4:
            return is_signed ? "i" : "I";
        case 8:
            return is_signed ? "l" : "L";
        default:
            return nullptr;
    }
}

// Copies the elements of `view` to `dest` in C (row-major) order, whatever its strides: one copy,
// as for a contiguous buffer. Allocates nothing from Python (may run without the GIL).
void copy_strided(const Py_buffer& view, std::byte* dest) {
    const auto* base = static_cast<const std::byte*>(view.buf);
    const auto item = static_cast<size_t>(view.itemsize);
    if (view.ndim == 0) {
        std::memcpy(dest, base, item);
        return;
    }
    for (int d = 0; d < view.ndim; ++d) {
        if (view.shape[d] == 0) {
            return;
        }
    }
    const int inner = view.ndim - 1;
    std::vector<Py_ssize_t> index(static_cast<size_t>(view.ndim), 0);
    for (;;) {
        const std::byte* row = base;
        for (int d = 0; d < inner; ++d) {
            row += index[static_cast<size_t>(d)] * view.strides[d];
        }
        const Py_ssize_t n = view.shape[inner];
        const Py_ssize_t stride = view.strides[inner];
        if (stride == view.itemsize) {
            std::memcpy(dest, row, static_cast<size_t>(n) * item);
            dest += static_cast<size_t>(n) * item;
        } else {
            for (Py_ssize_t k = 0; k < n; ++k, dest += item) {
                std::memcpy(dest, row + k * stride, item);
            }
        }
        int d = inner - 1;
        while (d >= 0 && ++index[static_cast<size_t>(d)] == view.shape[d]) {
            index[static_cast<size_t>(d)] = 0;
            --d;
        }
        if (d < 0) {
            return;
        }
    }
}

bool is_c_contiguous(const Py_buffer& view) {
    return view.strides == nullptr || PyBuffer_IsContiguous(&view, 'C') != 0;
}

// Copies the buffer (contiguous or not) into `dest`.
void buffer_fill(Prepared& out) {
    if (is_c_contiguous(out.view)) {
        copy_fill(out, out.view.buf, static_cast<size_t>(out.view.len));
        return;
    }
    out.fill = [&view = out.view](std::byte* dest) { copy_strided(view, dest); };
}

void prepare_buffer(py::handle data, Prepared& out, bool as_bytes) {
    // Strided buffers are accepted (numpy slices, transposes, channels of an image): they are
    // copied element by element in logical order, still once.
    if (PyObject_GetBuffer(data.ptr(), &out.view, PyBUF_RECORDS_RO) != 0) {
        py::error_already_set error;
        throw py::type_error("send_output: cannot read a " + type_name(data) +
                             " through the buffer protocol (" +
                             py::str(error.value()).cast<std::string>() +
                             "); send pyarrow.array(value) or a numeric copy "
                             "(e.g. value.astype(...))");
    }
    out.has_view = true;
    const auto n = static_cast<size_t>(out.view.len);
    if (as_bytes) {
        out.info = message::bytes_type_info(n);
        out.size = n;
        buffer_fill(out);
        return;
    }
    bool is_bool = false;
    const char* format = arrow_format_of(out.view.format, out.view.itemsize, is_bool);
    if (format == nullptr) {
        throw py::type_error(std::string("send_output: a ") + type_name(data) +
                             " of element format '" +
                             (out.view.format != nullptr ? out.view.format : "B") +
                             "' has no Arrow equivalent here (dora sends numbers and bools of "
                             "this machine's byte order); send pyarrow.array(value), which "
                             "converts what Arrow can hold, or bytes(value)");
    }
    const auto itemsize = static_cast<size_t>(out.view.itemsize);
    const size_t length = itemsize == 0 ? 0 : n / itemsize;
    if (is_bool) {
        // numpy bools are one byte each; Arrow packs them into bits.
        const auto* src = static_cast<const uint8_t*>(out.view.buf);
        if (!is_c_contiguous(out.view)) {
            out.scratch.resize(n);
            copy_strided(out.view, out.scratch.data());
            src = reinterpret_cast<const uint8_t*>(out.scratch.data());
        }
        out.info.format = "b";
        out.info.length = static_cast<int64_t>(length);
        out.size = message::bitmap_bytes(length);
        out.info.buffers = {message::BufferRef::null(), message::BufferRef{0, out.size}};
        out.fill = [src, length, size = out.size](std::byte* dest) {
            std::memset(dest, 0, size);
            for (size_t i = 0; i < length; ++i) {
                if (src[i] != 0) {
                    dest[i >> 3] |= static_cast<std::byte>(1u << (i & 7));
                }
            }
        };
        return;
    }
    out.info = message::primitive_type_info(format, length, itemsize);
    out.size = n;
    buffer_fill(out);
}

void prepare_utf8(Prepared& out) {
    out.plan = message::utf8_layout(out.strings);
    out.info = out.plan.type_info;
    out.size = out.plan.total_size;
    out.fill = [&out](std::byte* dest) { message::pack_utf8(out.strings, out.plan, dest); };
}

std::string_view utf8_of(py::handle s) {
    Py_ssize_t n = 0;
    const char* text = PyUnicode_AsUTF8AndSize(s.ptr(), &n);
    if (text == nullptr) {
        throw py::error_already_set();
    }
    return {text, static_cast<size_t>(n)};
}

void prepare_list(py::handle data, Prepared& out) {
    py::sequence seq = py::reinterpret_borrow<py::sequence>(data);
    const size_t n = seq.size();
    out.keep = py::reinterpret_borrow<py::object>(data);
    if (n == 0) {
        out.info.format = "n";  // as pyarrow.array([]): an empty array of the null type
        out.size = 0;
        out.fill = [](std::byte*) {};
        return;
    }
    bool all_bool = true, all_int = true, all_number = true, all_str = true;
    for (size_t i = 0; i < n; ++i) {
        PyObject* item = PySequence_Fast_GET_ITEM(seq.ptr(), static_cast<Py_ssize_t>(i));
        const bool b = PyBool_Check(item);
        const bool integer = PyLong_Check(item) && !b;
        const bool number = integer || PyFloat_Check(item);
        all_bool &= b;
        all_int &= integer;
        all_number &= number;
        all_str &= PyUnicode_Check(item) != 0;
        if (!b && !number && !PyUnicode_Check(item)) {
            throw py::type_error("send_output: element " + std::to_string(i) +
                                 " of the list is a " + type_name(item) +
                                 "; a list must hold only int, float, str or bool values");
        }
    }
    auto item = [&](size_t i) {
        return PySequence_Fast_GET_ITEM(seq.ptr(), static_cast<Py_ssize_t>(i));
    };
    if (all_str) {
        out.strings.reserve(n);
        for (size_t i = 0; i < n; ++i) {
            out.strings.push_back(utf8_of(item(i)));
        }
        prepare_utf8(out);
        return;
    }
    if (all_bool) {
        out.scratch.assign(message::bitmap_bytes(n), std::byte{0});
        for (size_t i = 0; i < n; ++i) {
            if (item(i) == Py_True) {
                out.scratch[i >> 3] |= static_cast<std::byte>(1u << (i & 7));
            }
        }
        out.info.format = "b";
        out.info.length = static_cast<int64_t>(n);
        out.info.buffers = {message::BufferRef::null(), message::BufferRef{0, out.scratch.size()}};
        out.size = out.scratch.size();
        copy_fill(out, out.scratch.data(), out.size);
        return;
    }
    if (!all_number) {
        throw py::type_error(
            "send_output: a list must hold values of one kind: all int/float, all str or all "
            "bool");
    }
    out.scratch.resize(n * 8);
    for (size_t i = 0; i < n; ++i) {
        if (all_int) {
            const int64_t v = PyLong_AsLongLong(item(i));
            if (v == -1 && PyErr_Occurred()) {
                PyErr_Clear();
                throw py::type_error("send_output: element " + std::to_string(i) +
                                     " of the list does not fit a 64-bit integer");
            }
            std::memcpy(out.scratch.data() + i * 8, &v, 8);
        } else {
            const double v = PyFloat_AsDouble(item(i));
            std::memcpy(out.scratch.data() + i * 8, &v, 8);
        }
    }
    out.info = message::primitive_type_info(all_int ? "l" : "g", n, 8);
    out.size = out.scratch.size();
    copy_fill(out, out.scratch.data(), out.size);
}

void prepare_arrow(py::handle data, Prepared& out) {
    py::object pair = data.attr("__arrow_c_array__")();
    if (!py::isinstance<py::tuple>(pair) || py::len(pair) != 2) {
        throw py::type_error("send_output: " + type_name(data) +
                             ".__arrow_c_array__() did not return (schema, array) capsules");
    }
    py::tuple t = pair;
    auto* schema = static_cast<ArrowSchema*>(PyCapsule_GetPointer(t[0].ptr(), "arrow_schema"));
    auto* array = static_cast<ArrowArray*>(PyCapsule_GetPointer(t[1].ptr(), "arrow_array"));
    if (schema == nullptr || array == nullptr) {
        PyErr_Clear();
        throw py::type_error("send_output: " + type_name(data) +
                             ".__arrow_c_array__() did not return 'arrow_schema' and "
                             "'arrow_array' capsules");
    }
    // Move the structs out (the capsules' destructors then see release == NULL), per the
    // PyCapsule interface.
    out.schema = *schema;
    schema->release = nullptr;
    out.array = *array;
    array->release = nullptr;
    auto plan = message::plan_packing(out.array, out.schema);
    if (!plan) {
        throw py::type_error("send_output: cannot send this " + type_name(data) + ": " +
                             plan.error().message());
    }
    out.plan = std::move(*plan);
    out.info = out.plan.type_info;
    out.size = out.plan.total_size;
    out.fill = [&out](std::byte* dest) { message::pack(out.array, out.plan, dest); };
}

bool import_datetime() {
    if (PyDateTimeAPI == nullptr) {
        PyDateTime_IMPORT;
    }
    return PyDateTimeAPI != nullptr;
}

py::object timestamp_object(uint64_t ns) {
    if (!import_datetime()) {
        throw py::error_already_set();
    }
    const auto seconds = static_cast<time_t>(ns / 1'000'000'000u);
    const auto micros = static_cast<int>((ns % 1'000'000'000u) / 1000u);
    tm t{};
    ::gmtime_r(&seconds, &t);
    PyObject* dt = PyDateTimeAPI->DateTime_FromDateAndTime(
        t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, micros,
        PyDateTime_TimeZone_UTC, PyDateTimeAPI->DateTimeType);
    if (dt == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(dt);
}

py::object parameter_object(const Parameter& p) {
    return std::visit(
        [](const auto& v) -> py::object {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>) {
                return py::bool_(v);
            } else if constexpr (std::is_same_v<T, int64_t>) {
                return py::int_(v);
            } else if constexpr (std::is_same_v<T, double>) {
                return py::float_(v);
            } else if constexpr (std::is_same_v<T, std::string>) {
                return py::str(v);
            } else {
                py::list list;
                for (const auto& e : v) {
                    if constexpr (std::is_same_v<typename T::value_type, bool>) {
                        list.append(py::bool_(static_cast<bool>(e)));
                    } else {
                        list.append(e);
                    }
                }
                return list;
            }
        },
        p);
}

[[noreturn]] void bad_metadata(const std::string& key, py::handle value) {
    throw py::type_error("send_output: metadata[\"" + key + "\"] is a " + type_name(value) +
                         "; metadata values may be bool, int, float, str or lists of one of them");
}

// What a metadata value (or list item) is sent as. numpy scalars count as the Python value they
// stand for (numpy.int64 as int, numpy.float32 as float, numpy.bool_ as bool), as in dora, where
// nodes often put image sizes taken from numpy shapes and dtypes into metadata.
enum class ValueKind { kBool, kInt, kFloat, kStr, kOther };

bool type_name_is(PyObject* v, std::string_view prefix) {
    return std::string_view(Py_TYPE(v)->tp_name).starts_with(prefix);
}

ValueKind kind_of(PyObject* v) {
    if (PyBool_Check(v) || type_name_is(v, "numpy.bool")) {
        return ValueKind::kBool;
    }
    if (PyLong_Check(v) || (PyIndex_Check(v) && type_name_is(v, "numpy."))) {
        return ValueKind::kInt;
    }
    if (PyFloat_Check(v) || type_name_is(v, "numpy.float") || type_name_is(v, "numpy.half") ||
        type_name_is(v, "numpy.longdouble")) {
        return ValueKind::kFloat;
    }
    if (PyUnicode_Check(v)) {
        return ValueKind::kStr;
    }
    return ValueKind::kOther;
}

int64_t int_value(const std::string& key, PyObject* v) {
    py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(v));
    const int64_t i = index ? PyLong_AsLongLong(index.ptr()) : -1;
    if (i == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        throw py::type_error("send_output: metadata[\"" + key +
                             "\"] does not fit a 64-bit integer");
    }
    return i;
}

double float_value(PyObject* v) {
    const double d = PyFloat_AsDouble(v);  // calls __float__ for numpy floats
    if (d == -1.0 && PyErr_Occurred()) {
        throw py::error_already_set();
    }
    return d;
}

Parameter list_parameter(const std::string& key, py::handle value) {
    py::sequence seq = py::reinterpret_borrow<py::sequence>(value);
    bool all_bool = true, all_int = true, all_number = true, all_str = true;
    for (auto item : seq) {
        const ValueKind kind = kind_of(item.ptr());
        all_bool &= kind == ValueKind::kBool;
        all_int &= kind == ValueKind::kInt;
        all_number &= kind == ValueKind::kInt || kind == ValueKind::kFloat;
        all_str &= kind == ValueKind::kStr;
    }
    if (seq.size() == 0 || all_int) {
        std::vector<int64_t> v;
        for (auto item : seq) v.push_back(int_value(key, item.ptr()));
        return v;
    }
    if (all_bool) {
        std::vector<bool> v;
        for (auto item : seq) v.push_back(PyObject_IsTrue(item.ptr()) == 1);
        return v;
    }
    if (all_number) {
        std::vector<double> v;
        for (auto item : seq) v.push_back(float_value(item.ptr()));
        return v;
    }
    if (all_str) {
        std::vector<std::string> v;
        for (auto item : seq) v.push_back(item.cast<std::string>());
        return v;
    }
    bad_metadata(key, value);
}

}  // namespace

Prepared::~Prepared() {
    if (has_view) {
        PyBuffer_Release(&view);
    }
    if (array.release != nullptr) {
        array.release(&array);
    }
    if (schema.release != nullptr) {
        schema.release(&schema);
    }
}

void prepare(py::handle data, Prepared& out) {
    PyObject* p = data.ptr();
    if (PyBytes_Check(p)) {
        out.keep = py::reinterpret_borrow<py::object>(data);
        const auto n = static_cast<size_t>(PyBytes_GET_SIZE(p));
        out.info = message::bytes_type_info(n);
        out.size = n;
        copy_fill(out, PyBytes_AS_STRING(p), n);
        return;
    }
    if (PyByteArray_Check(p) || PyMemoryView_Check(p)) {
        prepare_buffer(data, out, true);
        return;
    }
    if (PyUnicode_Check(p)) {
        out.keep = py::reinterpret_borrow<py::object>(data);
        out.strings.push_back(utf8_of(data));
        prepare_utf8(out);
        return;
    }
    if (PyList_Check(p) || PyTuple_Check(p)) {
        prepare_list(data, out);
        return;
    }
    if (py::hasattr(data, "__arrow_c_array__")) {
        prepare_arrow(data, out);
        return;
    }
    if (PyObject_CheckBuffer(p)) {
        prepare_buffer(data, out, false);
        return;
    }
    if (py::hasattr(data, "__arrow_c_stream__")) {
        throw py::type_error("send_output: a " + type_name(data) +
                             " is a stream of arrays; send one array (for a pyarrow.ChunkedArray: "
                             "value.combine_chunks(); for a table: a column or record batch)");
    }
    throw py::type_error("send_output: cannot send a value of type " + type_name(data) + "; " +
                         kAccepted);
}

Parameters to_parameters(py::handle metadata) {
    Parameters params;
    if (metadata.is_none()) {
        return params;
    }
    if (!PyDict_Check(metadata.ptr())) {
        throw py::type_error("send_output: metadata must be a dict or None, not a " +
                             type_name(metadata));
    }
    for (auto [k, value] : py::reinterpret_borrow<py::dict>(metadata)) {
        if (!PyUnicode_Check(k.ptr())) {
            throw py::type_error("send_output: metadata keys must be str, not " + type_name(k));
        }
        auto key = k.cast<std::string>();
        PyObject* v = value.ptr();
        const ValueKind kind = kind_of(v);
        if (kind == ValueKind::kBool) {
            params.emplace(key, PyObject_IsTrue(v) == 1);
        } else if (kind == ValueKind::kInt) {
            params.emplace(key, int_value(key, v));
        } else if (kind == ValueKind::kFloat) {
            params.emplace(key, float_value(v));
        } else if (kind == ValueKind::kStr) {
            params.emplace(key, std::string(utf8_of(value)));
        } else if (PyList_Check(v) || PyTuple_Check(v)) {
            params.emplace(key, list_parameter(key, value));
        } else if (key == "timestamp" && import_datetime() && PyDateTime_Check(v)) {
            continue;  // the received message's time: the new message gets its own
        } else {
            bad_metadata(key, value);
        }
    }
    return params;
}

py::dict to_metadata_dict(const Parameters& parameters, uint64_t timestamp_ns) {
    py::dict d;
    for (const auto& [k, v] : parameters) {
        d[py::str(k)] = parameter_object(v);
    }
    d["timestamp"] = timestamp_object(timestamp_ns);
    return d;
}

}  // namespace dora::python
