#include "descriptor.hpp"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <regex>

namespace dora::python {

namespace {

py::object plain_scalar(const std::string& s) {
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
        return py::none();
    }
    if (s == "true" || s == "True" || s == "TRUE") {
        return py::bool_(true);
    }
    if (s == "false" || s == "False" || s == "FALSE") {
        return py::bool_(false);
    }
    static const std::regex kInt(R"([-+]?[0-9]+)");
    static const std::regex kHex(R"(0x[0-9a-fA-F]+)");
    static const std::regex kOct(R"(0o[0-7]+)");
    static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
    if (std::regex_match(s, kInt) || std::regex_match(s, kHex) || std::regex_match(s, kOct)) {
        // Arbitrary precision, as Python would read it; base 0 understands 0x and 0o.
        const bool decimal = std::regex_match(s, kInt);
        PyObject* value = PyLong_FromString(s.c_str(), nullptr, decimal ? 10 : 0);
        if (value == nullptr) {
            throw py::error_already_set();
        }
        return py::reinterpret_steal<py::object>(value);
    }
    if (std::regex_match(s, kFloat)) {
        return py::float_(std::strtod(s.c_str(), nullptr));
    }
    if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf" || s == "+.INF") {
        return py::float_(HUGE_VAL);
    }
    if (s == "-.inf" || s == "-.Inf" || s == "-.INF") {
        return py::float_(-HUGE_VAL);
    }
    if (s == ".nan" || s == ".NaN" || s == ".NAN") {
        return py::float_(NAN);
    }
    return py::str(s);
}

py::object convert(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return py::none();
        case YAML::NodeType::Scalar:
            // A non-plain (quoted or tagged "!") scalar is always a string.
            return node.Tag() == "!" ? py::str(node.Scalar()) : plain_scalar(node.Scalar());
        case YAML::NodeType::Sequence: {
            py::list list;
            for (const auto& item : node) {
                list.append(convert(item));
            }
            return list;
        }
        case YAML::NodeType::Map: {
            py::dict dict;
            for (const auto& kv : node) {
                dict[convert(kv.first)] = convert(kv.second);
            }
            return dict;
        }
    }
    return py::none();
}

}  // namespace

py::object load_yaml_file(const std::string& path) {
    try {
        return convert(YAML::LoadFile(path));
    } catch (const YAML::Exception& e) {
        throw std::runtime_error("dataflow_descriptor(): cannot read the dataflow file " + path +
                                 ": " + e.what());
    }
}

py::object load_yaml_text(const std::string& text) {
    try {
        return convert(YAML::Load(text));
    } catch (const YAML::Exception& e) {
        throw py::value_error(std::string("invalid YAML: ") + e.what());
    }
}

}  // namespace dora::python
