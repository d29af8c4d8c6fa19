// dora.Array: the zero-copy array object behind `event["value"]`, plus dora.Scalar and
// dora.DataType, its pyarrow-like companions.
//
// An Array is a view over an Arrow-layout region (a received shared-memory sample, or a heap
// buffer in tests) described by a message::ArrowTypeInfo. It is exported once with
// message::export_array (which checks layout and offsets) and read through the exported
// ArrowArray/ArrowSchema, so every read is bounded by what those checks accepted. The region stays
// mapped while any Array, Scalar, buffer view (memoryview, numpy array) or exported Arrow struct
// (a pyarrow array made from it) references it: they all hold the `keep_alive` shared pointer.
// Nothing hands out a writable view of it.
//
// Our own object, or a real pyarrow.Array? Real dora gives nodes a pyarrow.Array. We give our own
// object, which does the calls dora users make itself (len, indexing and iteration to Scalars with
// .as_py(), to_pylist(), to_numpy(), .type, .null_count, to_pybytes(), the buffer protocol for
// numeric arrays, __array__ and __arrow_c_array__, so numpy.asarray(value) and
// pyarrow.array(value) work) and, where pyarrow is installed, serves every other pyarrow.Array
// attribute (.values, .field(), .cast(), ...) from a zero-copy pyarrow view of itself made on the
// first such call, and gives pyarrow's types and pyarrow's results where ours would differ
// (copying to_numpy, numpy.asarray of non-numeric arrays, Python values of temporal types).
// Measured (bench/python/event_value_bench.py, this 2-core VM, pyarrow 26.0.1, 2026-11-30):
// importing a received value as a pyarrow.Array through the C data interface costs 1.3-1.6 us;
// a Python node receiving 8-byte messages from a C++ node under `dora run` spends 3.7-8.7 us per
// event with our object and 5.6-15.9 us when it makes a pyarrow.Array of each (x1.5-1.8 in the
// same run; the spread between runs is the machine's load); and handing out pyarrow arrays means
// importing pyarrow in every Python node (120-240 ms, +44 MiB resident), whether it uses pyarrow
// or not. Our calls cost about
// what pyarrow's do (to_numpy() 0.7 us against 0.6-0.8, numpy.asarray 0.4 against 0.9, len 0.07
// against 0.05; as_py() of one element 0.75 against 0.3-0.6). So: our object, always.
// What a node sees differently from real dora: isinstance(value, pyarrow.Array) is False, and
// pyarrow functions that demand a pyarrow.Array (pyarrow.compute.*, pyarrow.concat_arrays) need
// pyarrow.array(value) (zero-copy) first. `.type` is the pyarrow.DataType where pyarrow is
// installed, else a dora.DataType (prints as pyarrow prints the type, compares equal to that name,
// to its Arrow format string and to the pyarrow type).
//
// Thread safety: an Array is immutable after construction (its caches are filled under the GIL);
// Python's GIL serialises access to the Python objects. The shared root may be released from any
// thread (shared_ptr).
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "arrow_reader.hpp"
#include "dora/arrow.hpp"
#include "message/metadata.hpp"

namespace dora::python {

namespace py = pybind11;

// Where an array's bytes are and what keeps them (and `info`) alive.
struct ArraySource {
    const message::ArrowTypeInfo* info = nullptr;  // owned by keep_alive (or static)
    const std::byte* data = nullptr;
    uint64_t size = 0;
    std::shared_ptr<const void> keep_alive;
};

// The exported root of an array tree: released (and the source dropped) with the last reference.
struct ArrayRoot {
    ArraySource source;
    ArrowArray array{};
    ArrowSchema schema{};
    std::shared_ptr<const Reader> reader;  // made on first use, under the GIL

    ArrayRoot() = default;
    ArrayRoot(const ArrayRoot&) = delete;
    ArrayRoot& operator=(const ArrayRoot&) = delete;
    ~ArrayRoot();
};

class Array {
  public:
    // Exports `source`; throws ValueError when its layout is not readable.
    static Array from_source(ArraySource source);
    // An empty array of the null type (timer ticks).
    static Array empty();

    [[nodiscard]] int64_t length() const { return length_; }
    [[nodiscard]] const ArrowArray& array() const { return root_->array; }
    [[nodiscard]] const ArrowSchema& schema() const { return root_->schema; }
    [[nodiscard]] int64_t start() const { return start_; }
    [[nodiscard]] Array slice(int64_t start, int64_t length) const;
    [[nodiscard]] const std::shared_ptr<ArrayRoot>& root() const { return root_; }
    // How to read this array's elements (shared with its slices).
    [[nodiscard]] const std::shared_ptr<const Reader>& reader() const;

    // Python objects made from this array on demand (with the GIL held): its pyarrow view and
    // pyarrow type.
    mutable py::object pyarrow_view;
    mutable py::object pyarrow_type;

  private:
    Array(std::shared_ptr<ArrayRoot> root, int64_t start, int64_t length)
        : root_(std::move(root)), start_(start), length_(length) {}
    std::shared_ptr<ArrayRoot> root_;
    int64_t start_ = 0;  // logical slice over the root, in elements
    int64_t length_ = 0;
};

// Registers Array, Scalar and DataType in `m`.
void bind_array(py::module_& m);

// The Python type object of Array (for fast isinstance checks in convert.cpp).
[[nodiscard]] py::handle array_type();

}  // namespace dora::python
