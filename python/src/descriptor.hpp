// The dataflow file as Python objects, for Node.dataflow_descriptor().
//
// node_api converts the YAML file to JSON text (node_api/descriptor_json.hpp: YAML 1.2 core-schema
// scalars, mappings as objects, sequences as arrays); the standard library's json module turns
// that into dicts, lists, str, int, float, bool and None. No YAML package is needed.
//
// Thread safety: call with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

namespace dora::python {

namespace py = pybind11;

// JSON text as Python objects (json.loads).
[[nodiscard]] py::object json_to_python(const std::string& json);

// YAML text as dataflow_descriptor() converts it (test hook); ValueError when it is not YAML.
[[nodiscard]] py::object load_yaml_text(const std::string& text);

}  // namespace dora::python
