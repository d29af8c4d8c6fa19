#include "array.hpp"

#include <Python.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "arrow_reader.hpp"
#include "message/arrow_layout.hpp"

namespace dora::python {

namespace {

// A flat, read-only byte view of an array: fixed-width primitives without nulls, or the value
// bytes of binary/string arrays.
struct FlatView {
    const std::byte* ptr = nullptr;
    int64_t bytes = 0;
    int64_t itemsize = 1;
    const char* format = "B";
};

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
