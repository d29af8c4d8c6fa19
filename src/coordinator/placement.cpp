#include "coordinator/placement.hpp"

namespace dora::coordinator {

Result<Descriptor> parse_for_cluster(const std::string& yaml, const std::string& path) {
    auto descriptor = parse_descriptor(yaml, path.empty() ? "dataflow.yml" : path);
    if (!descriptor) {
        return fail(descriptor.error());
    }
    if (auto ok = validate(*descriptor, ValidationOptions{.check_paths = false}); !ok) {
        return fail(ok.error());
    }
    return descriptor;
}

void apply_placement(Descriptor& descriptor, const std::map<std::string, std::string>& placement) {
    for (auto& node : descriptor.nodes) {
        if (auto it = placement.find(node.id); it != placement.end()) {
            node.deploy.machine = it->second;
        }
    }
}

std::map<std::string, std::vector<std::string>> nodes_by_machine(const Descriptor& descriptor) {
    std::map<std::string, std::vector<std::string>> machines;
    for (const auto& node : descriptor.nodes) {
        machines[descriptor.effective_deploy(node).machine.value_or("")].push_back(node.id);
    }
    return machines;
}

std::set<std::string> machines_of(
    const std::map<std::string, std::vector<std::string>>& placement) {
    std::set<std::string> out;
    for (const auto& [machine, nodes] : placement) {
        out.insert(machine);
    }
    return out;
}

}  // namespace dora::coordinator
