#include "operator_runtime/spec.hpp"

#include <nlohmann/json.hpp>

namespace dora::operator_runtime {

namespace {

Result<std::vector<std::string>> string_list(const nlohmann::json& entry, const char* key) {
    std::vector<std::string> out;
    const auto found = entry.find(key);
    if (found == entry.end()) {
        return out;
    }
    if (!found->is_array()) {
        return fail("`{}` is not a list", key);
    }
    for (const auto& item : *found) {
        if (!item.is_string()) {
            return fail("`{}` holds {}, not a string", key, item.dump());
        }
        out.push_back(item.get<std::string>());
    }
    return out;
}

Result<OperatorSpec> operator_spec(const nlohmann::json& entry) {
    if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_string() ||
        !entry.contains("shared_library") || !entry["shared_library"].is_string()) {
        return fail("{} is not an operator (it needs `id` and `shared_library` strings)",
                    entry.dump());
    }
    OperatorSpec spec{
        entry["id"].get<std::string>(), entry["shared_library"].get<std::string>(), {}, {}};
    auto inputs = string_list(entry, "inputs");
    auto outputs = string_list(entry, "outputs");
    if (!inputs || !outputs) {
        return fail((inputs ? outputs.error() : inputs.error()).context("operator " + spec.id));
    }
    spec.inputs = std::move(*inputs);
    spec.outputs = std::move(*outputs);
    return spec;
}

}  // namespace

Result<std::vector<OperatorSpec>> parse_operator_specs(std::string_view json) {
    const auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_array() || parsed.empty()) {
        return fail(
            "{} is not a JSON list of operators (dora-runtime is started by the dora "
            "daemon for a node with `shared-library:` operators, not by hand)",
            kOperatorsEnv);
    }
    std::vector<OperatorSpec> specs;
    for (const auto& entry : parsed) {
        auto spec = operator_spec(entry);
        if (!spec) {
            return fail(spec.error().context(std::string(kOperatorsEnv)));
        }
        specs.push_back(std::move(*spec));
    }
    return specs;
}

}  // namespace dora::operator_runtime
