#include "array.hpp"

#include <Python.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "message/arrow_layout.hpp"
#include "optional_modules.hpp"

namespace dora::python {

namespace {

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

const std::shared_ptr<const Reader>& Array::reader() const {
    if (!root_->reader) {
        root_->reader = make_reader(root_->schema);
    }
    return root_->reader;
}

py::handle array_type() { return g_array_type; }

namespace {

const Reader& reader_of(const Array& a) { return *a.reader(); }

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

int64_t null_count(const Array& a) {
    if (reader_of(a).kind == Kind::kNull) {
        return a.length();  // every element of the null type is null, as in pyarrow
    }
    const ArrowArray& arr = a.array();
    if (arr.null_count == 0 || arr.n_buffers == 0 || arr.buffers[0] == nullptr) {
        return 0;  // no validity bitmap: O(1), as for a frame of a million pixels
    }
    int64_t n = 0;
    for (int64_t i = 0; i < a.length(); ++i) {
        n += is_valid(arr, arr.offset + a.start() + i) ? 0 : 1;
    }
    return n;
}

// Whether `a` holds numbers numpy can view as they are: a fixed-width integer or float array
// without nulls (not dictionary-encoded). Only these have the buffer protocol, so that
// numpy.asarray() of anything else goes through __array__ and gives what pyarrow gives (objects,
// bools, NaN for nulls) rather than raw bytes.
bool is_flat_numeric(const Array& a) {
    const Reader& r = reader_of(a);
    return buffer_format(r.kind) != nullptr && !r.dictionary && !has_nulls_in(a);
}

const std::byte* numeric_data(const Array& a) {
    const ArrowArray& arr = a.array();
    const Reader& r = reader_of(a);
    return a.length() == 0
               ? nullptr
               : static_cast<const std::byte*>(arr.buffers[1]) + (arr.offset + a.start()) * r.width;
}

// The bytes to_pybytes() gives, or why there are none: the values of a numeric array, the
// value bytes of a binary/string array, the values of a fixed-size binary array.
struct Bytes {
    const std::byte* ptr = nullptr;
    int64_t size = 0;
    std::string why_not;
};

Bytes bytes_of(const Array& a) {
    const Reader& r = reader_of(a);
    const ArrowArray& arr = a.array();
    const int64_t first = arr.offset + a.start();
    if (r.dictionary) {
        return {.why_not = "a dictionary-encoded array has no flat buffer"};
    }
    if (has_nulls_in(a)) {
        return {.why_not = "an array with nulls has no flat buffer"};
    }
    if (buffer_format(r.kind) != nullptr) {
        return {numeric_data(a), a.length() * r.width, {}};
    }
    if (r.kind == Kind::kBinary || r.kind == Kind::kUtf8) {
        const int64_t width = r.format == "z" || r.format == "u" ? 4 : 8;
        const int64_t begin = load_offset(arr.buffers[1], width, first);
        const int64_t end = load_offset(arr.buffers[1], width, first + a.length());
        return {static_cast<const std::byte*>(arr.buffers[2]) + begin, end - begin, {}};
    }
    if (r.kind == Kind::kFixedBinary) {
        return {static_cast<const std::byte*>(arr.buffers[1]) + first * r.width,
                a.length() * r.width,
                {}};
    }
    if (r.kind == Kind::kNull && a.length() == 0) {
        return {};  // an empty timer tick: zero bytes
    }
    return {.why_not = "a " + r.name + " array has no flat buffer (use to_pylist())"};
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
    const Array* a = nullptr;
    try {
        a = &py::handle(obj).cast<const Array&>();
        if (!is_flat_numeric(*a)) {
            const std::string why = "a " + reader_of(*a).name +
                                    (has_nulls_in(*a) ? " array with nulls" : " array") +
                                    " has no numeric buffer; use to_pybytes(), to_pylist() or "
                                    "to_numpy(zero_copy_only=False)";
            PyErr_SetString(PyExc_BufferError, why.c_str());
            return -1;
        }
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_BufferError, e.what());
        return -1;
    }
    const Reader& r = reader_of(*a);
    auto* shape =
        new ViewShape{static_cast<Py_ssize_t>(a->length()), static_cast<Py_ssize_t>(r.width)};
    static std::byte empty_byte{};
    const std::byte* data = numeric_data(*a);
    view->buf = const_cast<std::byte*>(data != nullptr ? data : &empty_byte);
    view->obj = obj;
    Py_INCREF(obj);
    view->len = static_cast<Py_ssize_t>(a->length() * r.width);
    view->readonly = 1;
    view->itemsize = static_cast<Py_ssize_t>(r.width);
    view->format =
        (flags & PyBUF_FORMAT) == PyBUF_FORMAT ? const_cast<char*>(buffer_format(r.kind)) : nullptr;
    view->ndim = 1;
    view->shape = (flags & PyBUF_ND) == PyBUF_ND ? &shape->shape : nullptr;
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? &shape->stride : nullptr;
    view->suboffsets = nullptr;
    view->internal = shape;
    return 0;
}

extern "C" Py_ssize_t array_length(PyObject* obj) {
    try {
        return static_cast<Py_ssize_t>(py::handle(obj).cast<const Array&>().length());
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_TypeError, e.what());
        return -1;
    }
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

// The zero-copy pyarrow.Array of `self` (made once per dora.Array), or None without pyarrow.
py::object pyarrow_view(const py::handle& self) {
    const Array& a = self.cast<const Array&>();
    if (!a.pyarrow_view) {
        py::handle pa = optional_pyarrow();
        if (pa.is_none()) {
            return py::none();
        }
        a.pyarrow_view = pa.attr("array")(self);
    }
    return a.pyarrow_view;
}

struct DataType {
    std::string name;
    std::string format;
};

DataType dora_type_of(const Reader& r) { return DataType{r.name, r.format}; }

// `.type`: the pyarrow.DataType where pyarrow is installed, else a dora.DataType.
py::object type_of(const py::object& self) {
    const Array& a = self.cast<const Array&>();
    if (!a.pyarrow_type) {
        py::object view = pyarrow_view(self);
        a.pyarrow_type = view.is_none() ? py::cast(dora_type_of(reader_of(a))) : view.attr("type");
    }
    return a.pyarrow_type;
}

// One element of an Array, or (without pyarrow) a field or item of one.
struct Scalar {
    py::object value;                      // what as_py() gives
    std::shared_ptr<const Reader> reader;  // its type
    py::object array = py::none();         // the dora.Array it is element `index` of, or None
    int64_t index = 0;
};

// The Python value of element `i` of `self`: pyarrow's where our reading differs from it
// (temporal types) and pyarrow is installed.
py::object value_at(const py::handle& self, const Array& a, int64_t i) {
    const Reader& r = reader_of(a);
    if (r.temporal) {
        if (py::object view = pyarrow_view(self); !view.is_none()) {
            return view[py::int_(i)].attr("as_py")();
        }
    }
    return read_value(r, a.array(), a.start() + i);
}

Scalar scalar_at(const py::handle& self, const Array& a, int64_t i) {
    return Scalar{value_at(self, a, i), a.reader(), py::reinterpret_borrow<py::object>(self), i};
}

py::list to_pylist(const py::object& self) {
    const Array& a = self.cast<const Array&>();
    const Reader& r = reader_of(a);
    if (r.temporal) {
        if (py::object view = pyarrow_view(self); !view.is_none()) {
            return view.attr("to_pylist")();
        }
    }
    py::list out(static_cast<size_t>(a.length()));
    for (int64_t i = 0; i < a.length(); ++i) {
        out[static_cast<size_t>(i)] = read_value(r, a.array(), a.start() + i);
    }
    return out;
}

py::bytes to_pybytes(const Array& a) {
    const Bytes bytes = bytes_of(a);
    if (!bytes.why_not.empty()) {
        throw py::type_error("to_pybytes(): " + bytes.why_not);
    }
    return py::bytes(reinterpret_cast<const char*>(bytes.ptr), static_cast<size_t>(bytes.size));
}

py::handle numpy_or_raise(const char* call) {
    py::handle np = optional_numpy();
    if (np.is_none()) {
        throw py::import_error(std::string(call) +
                               " needs numpy, which is not installed; use to_pylist(), "
                               "bytes(value) or memoryview(value) instead, or install numpy");
    }
    return np;
}

// A read-only numpy view of a flat numeric array: numpy.frombuffer(self, dtype), with the
// function and the dtype objects looked up once (this is on the per-event path of many nodes).
py::object numpy_view(const py::handle& self, const Array& a, py::handle np) {
    static PyObject* frombuffer = nullptr;
    static PyObject* dtypes[static_cast<int>(Kind::kStruct) + 1] = {};
    if (frombuffer == nullptr) {
        frombuffer = py::object(np.attr("frombuffer")).release().ptr();  // kept for the process
    }
    const Kind kind = reader_of(a).kind;
    PyObject*& dtype = dtypes[static_cast<int>(kind)];
    if (dtype == nullptr) {
        dtype = py::object(np.attr("dtype")(numpy_dtype(kind))).release().ptr();
    }
    PyObject* view = PyObject_CallFunctionObjArgs(frombuffer, self.ptr(), dtype, nullptr);
    if (view == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(view);
}

// Our own copying conversion (without pyarrow): what pyarrow gives, for the types we read.
py::object numpy_copy(const py::object& self, const Array& a, py::handle np) {
    const Reader& r = reader_of(a);
    const char* dtype = numpy_dtype(r.kind);
    if (r.kind == Kind::kBool && !has_nulls_in(a)) {
        return np.attr("array")(to_pylist(self), py::arg("dtype") = "bool");
    }
    if (dtype != nullptr && !r.dictionary) {
        // Nulls become NaN, as pyarrow does (integers with nulls become float64).
        py::list values = to_pylist(self);
        for (size_t i = 0; i < values.size(); ++i) {
            if (values[i].is_none()) {
                values[i] = py::float_(NAN);
            }
        }
        const bool floating =
            r.kind == Kind::kHalf || r.kind == Kind::kFloat || r.kind == Kind::kDouble;
        return np.attr("array")(
            values, py::arg("dtype") = floating || !has_nulls_in(a) ? dtype : "float64");
    }
    // Objects, as pyarrow gives for strings, binary, nested types and bools with nulls.
    py::list values = to_pylist(self);
    py::object out = np.attr("empty")(values.size(), py::arg("dtype") = "object");
    for (size_t i = 0; i < values.size(); ++i) {
        out[py::int_(i)] = values[i];
    }
    return out;
}

py::object to_numpy(const py::object& self, bool zero_copy_only, bool writable) {
    const Array& a = self.cast<const Array&>();
    py::handle np = numpy_or_raise("to_numpy()");
    if (is_flat_numeric(a)) {
        py::object view = numpy_view(self, a, np);
        return writable ? view.attr("copy")() : view;
    }
    if (py::object view = pyarrow_view(self); !view.is_none()) {
        return view.attr("to_numpy")(py::arg("zero_copy_only") = zero_copy_only,
                                     py::arg("writable") = writable);
    }
    if (zero_copy_only) {
        throw py::value_error("to_numpy(): a " + reader_of(a).name +
                              " array cannot be viewed without copying (it has nulls or no "
                              "fixed-width numbers); call to_numpy(zero_copy_only=False)");
    }
    return numpy_copy(self, a, np);
}

// numpy's array protocol: numpy.asarray(value), numpy.array(value, dtype). Flat numeric arrays
// get here only when numpy asks for a dtype or a copy (it reads their buffer otherwise).
py::object array_protocol(const py::object& self, const py::object& dtype, const py::object& copy) {
    const Array& a = self.cast<const Array&>();
    py::handle np = numpy_or_raise("numpy.asarray(value)");
    py::object out;
    bool copied = false;
    if (is_flat_numeric(a)) {
        out = numpy_view(self, a, np);
    } else if (py::object view = pyarrow_view(self); !view.is_none()) {
        return view.attr("__array__")(dtype, copy);
    } else {
        if (!copy.is_none() && !copy.cast<bool>()) {
            throw py::value_error("numpy.asarray(copy=False): a " + reader_of(a).name +
                                  " array cannot be viewed without copying");
        }
        out = numpy_copy(self, a, np);
        copied = true;
    }
    if (!dtype.is_none()) {
        out =
            out.attr("astype")(dtype, py::arg("copy") = copy.is_none() ? false : copy.cast<bool>());
        copied = true;
    }
    if (!copied && !copy.is_none() && copy.cast<bool>()) {
        out = out.attr("copy")();
    }
    return out;
}

std::string repr(const py::object& self) {
    const Array& a = self.cast<const Array&>();
    const Reader& r = reader_of(a);
    std::string text =
        "<dora.Array type=" + r.name + " length=" + std::to_string(a.length()) + ">\n[";
    const int64_t shown = std::min<int64_t>(a.length(), 10);
    for (int64_t i = 0; i < shown; ++i) {
        py::object v = value_at(self, a, i);
        text += (i == 0 ? "\n  " : ",\n  ") + py::repr(v).cast<std::string>();
    }
    if (shown < a.length()) {
        text += ",\n  ...";
    }
    text += shown > 0 ? "\n]" : "]";
    return text;
}

int64_t normalize_index(int64_t length, int64_t i) {
    if (i < 0) {
        i += length;
    }
    if (i < 0 || i >= length) {
        throw py::index_error("index " + std::to_string(i) + " is out of bounds for an array of " +
                              std::to_string(length) + " elements");
    }
    return i;
}

// Python and numpy probe special names (__array_interface__, __deepcopy__, ...): they must see
// what our types have, not pyarrow's.
bool is_special(const std::string& name) { return name.starts_with("__"); }

// Attributes of pyarrow.Array (pyarrow.Scalar) that dora.Array (dora.Scalar) does not define,
// served by `pyarrow_object`, the zero-copy pyarrow view (None without pyarrow). Special names are
// never forwarded.
py::object forward_attribute(const py::object& pyarrow_object, const std::string& name,
                             const char* ours, const char* theirs) {
    const bool dunder = is_special(name);
    if (!dunder && !pyarrow_object.is_none()) {
        if (PyObject* got = PyObject_GetAttrString(pyarrow_object.ptr(), name.c_str())) {
            return py::reinterpret_steal<py::object>(got);
        }
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            throw py::error_already_set();
        }
        PyErr_Clear();
        throw py::attribute_error(std::string("neither '") + ours + "' nor '" + theirs +
                                  "' objects have the attribute '" + name + "'");
    }
    if (dunder || !optional_pyarrow().is_none()) {
        throw py::attribute_error(std::string("'") + ours + "' object has no attribute '" + name +
                                  "'");
    }
    throw py::attribute_error(std::string("'") + ours + "' object has no attribute '" + name +
                              "' (" + theirs + " has it: install pyarrow to use it here)");
}

struct ArrayIterator {
    py::object array;
    int64_t next = 0;
};

// pyarrow.Scalar of a scalar that is an element of an array, or None.
py::object pyarrow_scalar(const Scalar& s) {
    if (s.array.is_none()) {
        return py::none();
    }
    py::object view = pyarrow_view(s.array);
    return view.is_none() ? view : view[py::int_(s.index)];
}

py::object scalar_type(const Scalar& s) {
    if (!s.array.is_none() && !optional_pyarrow().is_none()) {
        return type_of(s.array);
    }
    return py::cast(dora_type_of(*s.reader));
}

// scalar[key]: a struct field by name or a list item by position. With pyarrow, pyarrow's scalar
// (so .values, .as_py() ... work as in pyarrow); without, a dora.Scalar of the Python value.
py::object scalar_item(const Scalar& s, const py::object& key) {
    if (py::object theirs = pyarrow_scalar(s); !theirs.is_none()) {
        return theirs[key];
    }
    const Reader& r = *s.reader;
    if (r.kind == Kind::kStruct && py::isinstance<py::str>(key)) {
        const auto name = key.cast<std::string>();
        for (size_t c = 0; c < r.field_names.size(); ++c) {
            if (r.field_names[c] == name) {
                py::object value =
                    s.value.is_none() ? py::object(py::none()) : py::object(s.value[key]);
                return py::cast(
                    Scalar{value, std::shared_ptr<const Reader>(s.reader, r.children[c].get())});
            }
        }
        throw py::key_error("no field '" + name + "' in " + r.name);
    }
    if ((r.kind == Kind::kList || r.kind == Kind::kFixedList) && py::isinstance<py::int_>(key) &&
        !s.value.is_none()) {
        const auto n = static_cast<int64_t>(py::len(s.value));
        const int64_t i = normalize_index(n, key.cast<int64_t>());
        return py::cast(Scalar{s.value[py::int_(i)],
                               std::shared_ptr<const Reader>(s.reader, r.children[0].get())});
    }
    throw py::type_error("a " + r.name + " scalar cannot be indexed by " +
                         py::repr(key).cast<std::string>());
}

bool scalar_equals(const Scalar& s, const py::object& other) {
    if (py::isinstance<Scalar>(other)) {
        const auto& o = other.cast<const Scalar&>();
        return s.reader->name == o.reader->name && s.value.equal(o.value);
    }
    return s.value.equal(other);
}

bool arrays_equal(const py::object& a, const py::object& b) {
    if (!py::isinstance<Array>(b)) {
        // A pyarrow.Array (or any Arrow array), compared as pyarrow compares arrays.
        py::object view = pyarrow_view(a);
        return !view.is_none() && py::hasattr(b, "__arrow_c_array__") &&
               view.attr("equals")(optional_pyarrow().attr("array")(b)).cast<bool>();
    }
    return reader_of(a.cast<const Array&>()).name == reader_of(b.cast<const Array&>()).name &&
           to_pylist(a).equal(to_pylist(b));
}

// value == other: equal arrays (dora or pyarrow) of the same type and values.
bool equals_any(const py::object& a, const py::object& other) {
    return (py::isinstance<Array>(other) || py::hasattr(other, "__arrow_c_array__")) &&
           arrays_equal(a, other);
}

void bind_data_type(py::module_& m) {
    py::class_<DataType>(m, "DataType",
                         "The Arrow data type of an Array (where pyarrow is not installed), "
                         "printed as pyarrow prints it.")
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
}

void bind_scalar(py::module_& m) {
    py::class_<Scalar>(m, "Scalar", "One element of an Array; as_py() gives the Python value.")
        .def(
            "as_py", [](const Scalar& s) { return s.value; }, "The element as a Python object.")
        .def_property_readonly("type", &scalar_type)
        .def_property_readonly("is_valid", [](const Scalar& s) { return !s.value.is_none(); })
        .def("__getitem__", &scalar_item, py::arg("key"))
        .def("__getattr__",
             [](const Scalar& s, const std::string& name) {
                 return forward_attribute(is_special(name) ? py::none() : pyarrow_scalar(s), name,
                                          "dora.Scalar", "pyarrow.Scalar");
             })
        .def("__repr__",
             [](const Scalar& s) {
                 return "<dora.Scalar type=" + s.reader->name + ": " +
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
            const Array& a = it.array.cast<const Array&>();
            if (it.next >= a.length()) {
                throw py::stop_iteration();
            }
            return scalar_at(it.array, a, it.next++);
        });
}

}  // namespace

void bind_array(py::module_& m) {
    bind_data_type(m);
    bind_scalar(m);

    auto cls = py::class_<Array>(m, "Array", R"doc(
A zero-copy, read-only Arrow array over a message's memory (``event["value"]``).

Behaves like a pyarrow array for the common calls and stays valid as long as Python references it.
``pyarrow.array(value)`` imports it without copying (Arrow PyCapsule interface); where pyarrow is
installed, pyarrow.Array attributes this type does not define are served by such a view.)doc");
    cls.def("__len__", &Array::length)
        .def_property_readonly("type", &type_of,
                               "The Arrow data type: a pyarrow.DataType where pyarrow is "
                               "installed, else a dora.DataType.")
        .def_property_readonly("null_count", &null_count, "Number of null elements.")
        .def(
            "__getitem__",
            [](const py::object& self, int64_t i) {
                const Array& a = self.cast<const Array&>();
                return scalar_at(self, a, normalize_index(a.length(), i));
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
             [](const py::object& self) {
                 return ArrayIterator{self, 0};
             })
        .def("to_pylist", &to_pylist, "The elements as a list of Python objects.")
        .def("tolist", &to_pylist, "Alias of to_pylist().")
        .def("to_pybytes", &to_pybytes,
             "The bytes of a numeric, binary or string array (for strings and binary: the "
             "value bytes, one after the other), copied into a bytes object.")
        .def("__bytes__", &to_pybytes)
        .def("to_numpy", &to_numpy, py::arg("zero_copy_only") = true, py::arg("writable") = false,
             "A numpy array: a zero-copy read-only view of a numeric array without nulls; other "
             "arrays need zero_copy_only=False (a copy). Needs numpy.")
        .def("__array__", &array_protocol, py::arg("dtype") = py::none(),
             py::arg("copy") = py::none())
        .def("__arrow_c_array__", &arrow_c_array, py::arg("requested_schema") = py::none(),
             "Arrow PyCapsule interface: (schema capsule, array capsule), zero-copy.")
        .def("equals", &arrays_equal)
        .def("__eq__", &equals_any)
        .def("__getattr__",
             [](const py::object& self, const std::string& name) {
                 return forward_attribute(is_special(name) ? py::none() : pyarrow_view(self), name,
                                          "dora.Array", "pyarrow.Array");
             })
        .def("__repr__", &repr)
        .def("__str__", &repr);
    // Arrays hold shared memory: hashing by contents would be surprising; keep them unhashable.
    cls.attr("__hash__") = py::none();

    auto* heap = reinterpret_cast<PyHeapTypeObject*>(cls.ptr());
    // len(value) straight from the slot: pybind11's generic dispatch costs ten times more, and
    // nodes call it on every event.
    heap->as_sequence.sq_length = array_length;
    heap->as_mapping.mp_length = array_length;
    heap->ht_type.tp_as_buffer = &heap->as_buffer;
    heap->as_buffer.bf_getbuffer = array_getbuffer;
    heap->as_buffer.bf_releasebuffer = array_releasebuffer;
    g_array_type = cls;
}

}  // namespace dora::python
