// dora.Array: the zero-copy array object behind `event["value"]`, plus dora.Scalar and
// dora.DataType, its pyarrow-like companions.
//
// An Array is a view over an Arrow-layout region (a received shared-memory sample, or a heap
// buffer in tests) described by a message::ArrowTypeInfo. It is exported once with
// message::export_array (which checks layout and offsets) and read through the exported
// ArrowArray/ArrowSchema, so every read is bounded by what those checks accepted. The region stays
// mapped while any Array, Scalar-free buffer view (memoryview, numpy array) or exported Arrow
// struct references it: they all hold the `keep_alive` shared pointer.
//
// It behaves like a pyarrow array for the common calls: len, indexing (-> Scalar with .as_py()),
// slicing (-> Array), iteration, to_pylist(), to_numpy(), to_pybytes(), .type, the buffer protocol
// for fixed-width primitive arrays without nulls (and the value bytes of binary/string arrays), and
// __arrow_c_array__ (the Arrow PyCapsule interface).
//
// Thread safety: an Array is immutable after construction; Python's GIL serialises access to the
// Python objects. The shared root may be released from any thread (shared_ptr).
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

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
