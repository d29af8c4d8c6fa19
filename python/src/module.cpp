// The `dora._dora` extension module: Node, Array, Scalar, DataType, plus test hooks (underscored)
// that exercise the conversions without a running dataflow.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstdlib>
#include <memory>

#include "array.hpp"
#include "convert.hpp"
#include "descriptor.hpp"
#include "node.hpp"

namespace py = pybind11;
using namespace dora::python;

namespace {

// What send_output would write, packed into a heap buffer and read back as an Array.
py::tuple roundtrip(py::handle data, py::handle metadata) {
    auto params = to_parameters(metadata);
    Prepared prepared;
    prepare(data, prepared);
    const size_t capacity = (prepared.size + 63) / 64 * 64 + 64;
    std::shared_ptr<std::byte> buffer(static_cast<std::byte*>(std::aligned_alloc(64, capacity)),
                                      [](std::byte* p) { std::free(p); });
    if (!buffer) {
        throw std::bad_alloc();
    }
    prepared.fill(buffer.get());
    ArraySource source{prepared.info, buffer.get(), prepared.size, buffer};
    const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
    return py::make_tuple(Array::from_source(std::move(source)), to_metadata_dict(params, now));
}

}  // namespace

PYBIND11_MODULE(_dora, m) {
    m.doc() = "dora node API (C++ extension); import it through the `dora` package.";
    m.attr("__version__") = DORA_VERSION;
    bind_array(m);
    bind_node(m);
    m.def("_roundtrip", &roundtrip, py::arg("data"), py::arg("metadata") = py::none(),
          "Test hook: (Array, metadata) as a receiver would see send_output(data, metadata).");
    m.def("_load_yaml", &load_yaml_text, py::arg("text"),
          "Test hook: YAML text as dataflow_descriptor() converts it.");
}
