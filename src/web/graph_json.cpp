#include "web/graph_json.hpp"

#include <map>

namespace dora::web {

nlohmann::json graph_json(const Descriptor& descriptor,
                          const std::function<std::string(const NodeDescriptor&)>& machine_of) {
    std::map<std::string, nlohmann::json> machines;  // by id, in order of first appearance below
    std::vector<std::string> order;
    nlohmann::json edges = nlohmann::json::array();
    for (const auto& node : descriptor.nodes) {
        const std::string machine =
            machine_of ? machine_of(node) : node.deploy.machine.value_or("");
        if (!machines.contains(machine)) {
            machines[machine] = {{"id", machine}, {"nodes", nlohmann::json::array()}};
            order.push_back(machine);
        }
        nlohmann::json inputs = nlohmann::json::array();
        for (const auto& input : node.inputs) {
            const std::string source = format_input_source(input.source);
            inputs.push_back({{"id", input.id}, {"source", source}});
            if (const auto* from = std::get_if<NodeOutputSource>(&input.source)) {
                edges.push_back(
                    {{"from", from->node + "/" + from->output}, {"to", node.id + "/" + input.id}});
            }
        }
        machines[machine]["nodes"].push_back(
            {{"id", node.id}, {"inputs", std::move(inputs)}, {"outputs", node.outputs}});
    }
    nlohmann::json out = {{"machines", nlohmann::json::array()}, {"edges", std::move(edges)}};
    for (const auto& id : order) {
        out["machines"].push_back(std::move(machines[id]));
    }
    return out;
}

}  // namespace dora::web
