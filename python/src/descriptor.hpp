// The dataflow file as Python objects, for Node.dataflow_descriptor().
//
// Parsed with yaml-cpp (no PyYAML needed). Plain scalars resolve as YAML 1.2's core schema does:
// null, booleans, integers (decimal, 0x, 0o), floats (.inf, .nan) and otherwise strings; quoted
// scalars stay strings. Mappings become dicts, sequences lists.
//
// Thread safety: call with the GIL held.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

namespace dora::python {

namespace py = pybind11;

// Throws RuntimeError naming the file when it cannot be read or parsed.
[[nodiscard]] py::object load_yaml_file(const std::string& path);

// The same for YAML text (tests).
[[nodiscard]] py::object load_yaml_text(const std::string& text);

}  // namespace dora::python
