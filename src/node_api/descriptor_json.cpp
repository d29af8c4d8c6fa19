#include "node_api/descriptor_json.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <regex>

namespace dora::node_api {

namespace {

// Deeper nesting than any dataflow has; bounds the recursion on hostile input.
constexpr int kMaxDepth = 256;

std::string quoted(const std::string& text) {
    // Invalid UTF-8 is replaced rather than refused: a descriptor is shown, not re-parsed as YAML.
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Decimal digits as a JSON integer: no '+', no leading zeros (JSON forbids both).
std::string json_integer(const std::string& s) {
    size_t at = 0;
    std::string sign;
    if (s[0] == '+' || s[0] == '-') {
        sign = s[0] == '-' ? "-" : "";
        at = 1;
    }
    while (at + 1 < s.size() && s[at] == '0') {
        ++at;
    }
    return sign + s.substr(at);
}

std::string json_float(double value) {
    if (!std::isfinite(value)) {
        return "null";
    }
    std::string text = fmt::format("{}", value);
    if (text.find_first_of(".eE") == std::string::npos) {
        text += ".0";  // stays a float for JSON readers that tell the two apart (Python)
    }
    return text;
}

// 0x / 0o integers: converted, or kept as a string when beyond 64 bits.
std::string json_based(const std::string& s, int base) {
    uint64_t value = 0;
    const char* first = s.data() + 2;
    const char* last = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(first, last, value, base);
    if (ec != std::errc() || ptr != last) {
        return quoted(s);
    }
    return std::to_string(value);
}

std::string plain_scalar(const std::string& s) {
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
        return "null";
    }
    if (s == "true" || s == "True" || s == "TRUE") {
        return "true";
    }
    if (s == "false" || s == "False" || s == "FALSE") {
        return "false";
    }
    static const std::regex kInt(R"([-+]?[0-9]+)");
    static const std::regex kHex(R"(0x[0-9a-fA-F]+)");
    static const std::regex kOct(R"(0o[0-7]+)");
    static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
    static const std::regex kInf(R"([-+]?\.(inf|Inf|INF))");
    static const std::regex kNan(R"(\.(nan|NaN|NAN))");
    if (std::regex_match(s, kInt)) {
        return json_integer(s);
    }
    if (std::regex_match(s, kHex)) {
        return json_based(s, 16);
    }
    if (std::regex_match(s, kOct)) {
        return json_based(s, 8);
    }
    if (std::regex_match(s, kFloat)) {
        return json_float(std::strtod(s.c_str(), nullptr));
    }
    if (std::regex_match(s, kInf) || std::regex_match(s, kNan)) {
        return "null";
    }
    return quoted(s);
}

Result<> append(const YAML::Node& node, int depth, std::string& out) {
    if (depth > kMaxDepth) {
        return fail("nested deeper than {} levels", kMaxDepth);
    }
    switch (node.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            out += "null";
            return {};
        case YAML::NodeType::Scalar:
            // Quoted ("!") and explicitly tagged scalars are strings; plain ("?") ones resolve.
            out += node.Tag() == "?" ? plain_scalar(node.Scalar()) : quoted(node.Scalar());
            return {};
        case YAML::NodeType::Sequence: {
            out += '[';
            bool first = true;
            for (const auto& item : node) {
                out += first ? "" : ",";
                first = false;
                if (auto ok = append(item, depth + 1, out); !ok) {
                    return ok;
                }
            }
            out += ']';
            return {};
        }
        case YAML::NodeType::Map: {
            out += '{';
            bool first = true;
            for (const auto& kv : node) {
                if (!kv.first.IsScalar() && !kv.first.IsNull()) {
                    return fail("line {}: a mapping key that is not a scalar cannot become JSON",
                                kv.first.Mark().line + 1);
                }
                out += first ? "" : ",";
                first = false;
                out += quoted(kv.first.IsNull() ? std::string("null") : kv.first.Scalar());
                out += ':';
                if (auto ok = append(kv.second, depth + 1, out); !ok) {
                    return ok;
                }
            }
            out += '}';
            return {};
        }
    }
    out += "null";
    return {};
}

}  // namespace

Result<std::string> yaml_to_json(std::string_view yaml) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        return fail("not valid YAML: {}", e.what());
    }
    std::string out;
    if (auto ok = append(root, 0, out); !ok) {
        return fail(ok.error());
    }
    return out;
}

}  // namespace dora::node_api
