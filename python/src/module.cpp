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
#include "message/metadata.hpp"
#include "node.hpp"

namespace py = pybind11;
using namespace dora::python;
namespace message = dora::message;

namespace {

// What send_output would write, packed into a heap buffer and read back as an Array.
py::tuple roundtrip(py::handle data, py::handle metadata) {
    auto params = to_parameters(metadata);
    Prepared prepared;
    prepare(data, prepared);
    // The packed bytes and their layout, kept alive together by the Array.
    struct Packed {
        message::ArrowTypeInfo info;
        std::byte* data = nullptr;
        ~Packed() { std::free(data); }
    };
    auto packed = std::make_shared<Packed>();
    packed->info = prepared.info;
    packed->data =
        static_cast<std::byte*>(std::aligned_alloc(64, (prepared.size + 63) / 64 * 64 + 64));
    if (packed->data == nullptr) {
        throw std::bad_alloc();
    }
    prepared.fill(packed->data);
    ArraySource source{&packed->info, packed->data, prepared.size, packed};
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
