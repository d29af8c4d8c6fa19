// Python values -> what the node API sends, and metadata both ways.
//
// prepare() turns `data` of send_output into an Arrow layout (message::ArrowTypeInfo), its size
// and a fill step that writes the bytes straight into the destination (a shared-memory sample):
// one copy from the Python object, none in between. Accepted, in this order:
//   bytes, bytearray, memoryview       -> UInt8 ("C")
//   str                                -> one-element Utf8 ("u")
//   list/tuple of bool, int, float, str -> Boolean, Int64, Float64 (ints and floats mixed), Utf8
//   object with __arrow_c_array__      -> that Arrow array (pyarrow, polars, nanoarrow, dora.Array)
//   object with the buffer protocol    -> a primitive array of its element type (numpy, array),
//                                         flat in C order; strided buffers (numpy slices,
//                                         transposes) are copied element by element, still once
// Anything else raises TypeError naming the type and what is accepted; element types without an
// Arrow equivalent here (complex, str, object, datetime64, foreign byte order) and streams of
// arrays (pyarrow.ChunkedArray) raise TypeError saying what to send instead.
//
// Thread safety: call with the GIL held. A Prepared holds Python references and buffer views; it
// may run fill() without the GIL (the views stay valid) but must be destroyed with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dora/arrow.hpp"
#include "dora/node.hpp"
#include "message/arrow_layout.hpp"

namespace dora::python {

namespace py = pybind11;

class Prepared {
  public:
    Prepared() = default;
    Prepared(const Prepared&) = delete;
    Prepared& operator=(const Prepared&) = delete;
    Prepared(Prepared&&) = delete;
    Prepared& operator=(Prepared&&) = delete;
    ~Prepared();

    message::ArrowTypeInfo info;
    size_t size = 0;
    // Writes `size` bytes at dest (64-byte aligned).
    std::function<void(std::byte*)> fill;

    // Owned inputs of fill.
    Py_buffer view{};
    bool has_view = false;
    std::vector<std::byte> scratch;
    std::vector<std::string_view> strings;
    ArrowArray array{};
    ArrowSchema schema{};
    message::PackedLayout plan;
    py::object keep;  // the Python object whose memory fill reads
};

// Fills `out` for `data`; throws py::type_error (unsupported type) or py::value_error.
void prepare(py::handle data, Prepared& out);

// Metadata dict (or None) -> parameters (numpy scalars count as the bool, int or float they
// hold). A "timestamp" key holding a datetime (as received metadata has) is skipped: a sent
// message is stamped by the sender's clock.
[[nodiscard]] Parameters to_parameters(py::handle metadata);

// Received parameters + the HLC timestamp (as a UTC datetime under "timestamp") -> dict.
[[nodiscard]] py::dict to_metadata_dict(const Parameters& parameters, uint64_t timestamp_ns);

}  // namespace dora::python
