// How a dataflow maps onto one daemon's shared memory: which nodes run here, each node's input
// region and ring per input, each node's sender index and pool, where every output goes, which
// timers feed which rings; and from that, the NodeConfig handed to each node.
//
// Sender index 0 is the daemon itself (timers, stdout-as-output, later remote data); node i of the
// plan sends as i + 1.
//
// Thread safety: a plain value.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/descriptor.hpp"
#include "core/error.hpp"
#include "message/node_config.hpp"

namespace dora::daemon {

inline constexpr uint16_t kDaemonSender = 0;

struct RingRef {
    size_t node = 0;  // index in DataflowPlan::nodes
    uint32_t ring = 0;
    bool operator==(const RingRef&) const = default;
};

struct PlannedInput {
    std::string id;
    uint32_t queue_size = kDefaultQueueSize;
    InputSource source;
};

struct PlannedNode {
    const NodeDescriptor* descriptor = nullptr;
    uint16_t sender = 0;
    std::string region;                                   // shm name of its input region
    std::vector<PlannedInput> inputs;                     // ring i = inputs[i]
    std::map<std::string, std::vector<RingRef>> outputs;  // output id -> local receivers
};

struct DataflowPlan {
    std::string dataflow_id;
    std::string prefix;  // "/dora.<daemon pid>.<id>": every shm name of this dataflow starts so
    std::vector<PlannedNode> nodes;
    std::map<std::chrono::nanoseconds, std::vector<RingRef>> timers;  // interval -> receivers

    [[nodiscard]] std::string pool_prefix(uint16_t sender) const;
    [[nodiscard]] const PlannedNode* find(std::string_view node_id) const;
    [[nodiscard]] message::NodeConfig node_config(size_t node, const std::string& machine_id,
                                                  int64_t spin_ns) const;
};

// Plans the nodes for which `is_local` is true (all of them for `dora run`).
[[nodiscard]] Result<DataflowPlan> make_plan(
    const Descriptor& descriptor, const std::string& dataflow_id,
    const std::function<bool(const NodeDescriptor&)>& is_local);

}  // namespace dora::daemon
