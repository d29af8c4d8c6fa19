// The dataflow file as JSON text, for Node::dataflow_descriptor() (C++) and
// Node.dataflow_descriptor() (Python, which parses the JSON with its standard library and so needs
// no YAML package).
//
// YAML is read with yaml-cpp. Plain scalars resolve as YAML 1.2's core schema does: null (`~`,
// `null`, empty), booleans, integers (decimal of any length, 0x hex, 0o octal), floats; every
// other scalar, and every quoted one, is a string. Mappings become objects (keys as their text),
// sequences arrays. JSON has no infinities or NaN: `.inf` and `.nan` become null.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace dora::node_api {

// Fails with yaml-cpp's message (line and column) when the text is not YAML.
[[nodiscard]] Result<std::string> yaml_to_json(std::string_view yaml);

}  // namespace dora::node_api
