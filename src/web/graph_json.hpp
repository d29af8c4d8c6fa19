// A dataflow's graph as the JSON graph.js draws (see graph.js for the shape): its nodes grouped
// by the machine each runs on, their inputs (with their sources) and outputs, and one edge per
// input fed by another node's output.
//
// Thread safety: pure functions.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/descriptor.hpp"

namespace dora::web {

// `machine_of(node)` names the machine a node runs on ("" = the default daemon); without it, the
// descriptor's own `deploy.machine` is used.
[[nodiscard]] nlohmann::json graph_json(
    const Descriptor& descriptor,
    const std::function<std::string(const NodeDescriptor&)>& machine_of = {});

}  // namespace dora::web
