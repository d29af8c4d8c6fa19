// Where a dataflow's nodes run, as the coordinator sees it: descriptors arrive as text from a CLI
// and are parsed and validated without checking paths (each daemon checks them on its machine).
//
// Thread safety: pure functions.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/descriptor.hpp"

namespace dora::coordinator {

// Parses and validates a dataflow sent by a CLI (paths unchecked).
[[nodiscard]] Result<Descriptor> parse_for_cluster(const std::string& yaml,
                                                   const std::string& path);

// Nodes placed by `deploy.labels` (node id -> machine) read as the node's machine.
void apply_placement(Descriptor& descriptor, const std::map<std::string, std::string>& placement);

// machine id ("" = the default daemon) -> the ids of the nodes that run there, in file order.
[[nodiscard]] std::map<std::string, std::vector<std::string>> nodes_by_machine(
    const Descriptor& descriptor);

// The machines of `placement`.
[[nodiscard]] std::set<std::string> machines_of(
    const std::map<std::string, std::vector<std::string>>& placement);

}  // namespace dora::coordinator
