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
// Our own object, or a real pyarrow.Array? Real dora gives nodes a pyarrow.Array; we give our own
// object, which does the calls dora users make itself (len, indexing and iteration to Scalars with
// .as_py(), to_pylist(), to_numpy(), .type, .null_count, to_pybytes(), the buffer protocol for
// numeric arrays, __array__ and __arrow_c_array__, so numpy.asarray(value) and
// pyarrow.array(value) work) and, where pyarrow is installed, serves every other pyarrow.Array
// attribute (.values, .field(), .cast(), ...) from a zero-copy pyarrow view of itself made on the
// first such call. Measured per event (bench/python/event_value_bench.py, 2-core VM, pyarrow
// 26.0.1): turning every received value into a pyarrow.Array through the C data interface costs
// 2.6-2.8 us, as much again as the whole receive of a small message (a Python node receives
// ~X events/s), plus importing pyarrow in every node (0.3-1 s, +47 MB RSS) whether it uses pyarrow
// or not; our object costs nothing extra, and its own calls are as fast as pyarrow's or faster.
// What a node sees differently: isinstance(value, pyarrow.Array) is False, and pyarrow functions
// that demand a pyarrow.Array (pyarrow.compute.*, pyarrow.concat_arrays) need
// pyarrow.array(value) (zero-copy) first. Without pyarrow `.type` is a dora.DataType (prints as
// pyarrow prints the type, compares equal to its name and to the pyarrow type); with pyarrow it is
// the pyarrow.DataType.
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
