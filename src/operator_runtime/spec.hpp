// What the daemon tells dora-runtime about the operators of its node: DORA_OPERATORS, a JSON list
// of {id, shared_library, inputs, outputs} (src/daemon/node_command.cpp writes it).
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace dora::operator_runtime {

inline constexpr std::string_view kOperatorsEnv = "DORA_OPERATORS";

struct OperatorSpec {
    std::string id;
    std::string library;  // absolute path of the shared library, resolved by the daemon
    std::vector<std::string> inputs;
    std::vector<std::string> outputs;
};

// The operators in `json`; an error names what is missing or malformed.
[[nodiscard]] Result<std::vector<OperatorSpec>> parse_operator_specs(std::string_view json);

}  // namespace dora::operator_runtime
