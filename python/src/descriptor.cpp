#include "descriptor.hpp"

#include "node_api/descriptor_json.hpp"

namespace dora::python {

py::object json_to_python(const std::string& json) {
    return py::module_::import("json").attr("loads")(py::str(json));
}

py::object load_yaml_text(const std::string& text) {
    auto json = node_api::yaml_to_json(text);
    if (!json) {
        throw py::value_error(json.error().message());
    }
    return json_to_python(*json);
}

}  // namespace dora::python
