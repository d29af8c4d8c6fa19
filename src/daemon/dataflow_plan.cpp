#include "daemon/dataflow_plan.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <variant>

namespace dora::daemon {

std::string DataflowPlan::liveliness_key(std::string_view node) const {
    return fmt::format("{}/{}", liveliness_prefix, node);
}

std::string DataflowPlan::pool_prefix(uint16_t sender) const {
    return fmt::format("{}.p{}", prefix, sender);
}

const PlannedNode* DataflowPlan::find(std::string_view node_id) const {
    for (const auto& n : nodes) {
        if (n.descriptor->id == node_id) {
            return &n;
        }
    }
    return nullptr;
}

message::NodeConfig DataflowPlan::node_config(size_t index, const std::string& machine_id,
                                              int64_t spin_ns,
                                              uint64_t max_remote_message_size) const {
    const PlannedNode& node = nodes[index];
    message::NodeConfig c;
    c.dataflow_id = dataflow_id;
    c.node_id = node.descriptor->id;
    c.machine_id = machine_id;
    c.region = node.region;
    for (uint32_t i = 0; i < node.inputs.size(); ++i) {
        c.inputs.push_back({node.inputs[i].id, i});
    }
    for (const auto& output : node.descriptor->outputs) {
        message::NodeOutputConfig out{output, {}};
        if (auto it = node.outputs.find(output); it != node.outputs.end()) {
            for (const RingRef& r : it->second) {
                out.targets.push_back({nodes[r.node].region, r.ring});
            }
        }
        for (uint32_t e = 0; e < egress.size(); ++e) {
            if (egress[e].node == index && egress[e].output == output) {
                out.targets.push_back({egress_region, e});
                if (egress[e].consumed_remotely) {
                    out.remote_max_message_size = max_remote_message_size;
                    out.remote_envelope = egress[e].key.size() + kPushEnvelope;
                }
            }
        }
        c.outputs.push_back(std::move(out));
    }
    c.sender_index = node.sender;
    c.generation = 0;
    c.pool_prefix = pool_prefix(node.sender);
    // Samples reach this node's rings only from the daemon (timers, stdout-as-output), from the
    // ingress of other machines, and from the local producers of its inputs: only those pools are
    // named, so a node's configuration grows with its inputs, not with the dataflow.
    c.senders.push_back({kDaemonSender, pool_prefix(kDaemonSender)});
    std::set<uint16_t> producers;
    for (const auto& input : node.inputs) {
        if (input.local_producer) {
            producers.insert(nodes[*input.local_producer].sender);
        }
    }
    for (uint16_t sender : producers) {
        c.senders.push_back({sender, pool_prefix(sender)});
    }
    if (!ingress.empty()) {
        c.senders.push_back({kIngressSender, pool_prefix(kIngressSender)});
    }
    c.descriptor_path = "";
    c.spin_ns = spin_ns;
    c.pool_class_limit = pool_class_limit(index);
    return c;
}

uint32_t DataflowPlan::pool_class_limit(size_t node) const {
    uint64_t limit = kHeldSamplesAllowance;
    std::set<std::pair<size_t, uint32_t>> rings;  // (node, ring): an output may share them
    for (const auto& [output, receivers] : nodes[node].outputs) {
        for (const RingRef& r : receivers) {
            if (rings.insert({r.node, r.ring}).second) {
                limit += nodes[r.node].inputs[r.ring].queue_size;
            }
        }
    }
    bool egress_fed = false;
    for (const auto& stream : egress) {
        if (stream.node == node) {
            limit += stream.queue_size;
            egress_fed = true;
        }
    }
    limit += egress_fed ? kEgressMaxInFlight : 0;
    return static_cast<uint32_t>(std::min<uint64_t>(limit, shm::kMaxSegmentsPerPool));
}

namespace {

using NodeIndex = std::map<std::string, size_t, std::less<>>;

// "/dora.<pid>.<id tail>[.<machine>]": every shared-memory name of the dataflow starts so.
std::string shm_prefix(const std::string& dataflow_id, std::string_view machine_tag) {
    // The random tail of the UUIDv7 keeps names short and unique per dataflow.
    std::string id_tail =
        dataflow_id.size() >= 12 ? dataflow_id.substr(dataflow_id.size() - 12) : dataflow_id;
    std::string prefix = fmt::format("/dora.{}.{}", ::getpid(), id_tail);
    if (!machine_tag.empty()) {
        // Several daemons in one process (tests) must not share names: add the machine.
        std::string tag;
        for (char c : machine_tag) {
            if (std::isalnum(static_cast<unsigned char>(c)) && tag.size() < 16) tag.push_back(c);
        }
        prefix += "." + tag;
    }
    return prefix;
}

// Step 1: the nodes that run here, each with its sender index, input region and inputs.
Result<NodeIndex> plan_local_nodes(const Descriptor& descriptor,
                                   const std::function<bool(const NodeDescriptor&)>& is_local,
                                   DataflowPlan& plan) {
    NodeIndex index;
    for (const auto& node : descriptor.nodes) {
        if (!is_local(node)) {
            continue;
        }
        if (plan.nodes.size() >= 65000) {
            return fail("a dataflow may have at most 65000 nodes on one machine");
        }
        PlannedNode p;
        p.descriptor = &node;
        p.sender = static_cast<uint16_t>(plan.nodes.size() + 1);
        p.region = fmt::format("{}.r{}", plan.prefix, plan.nodes.size());
        for (const auto& input : node.inputs) {
            p.inputs.push_back({input.id, input.queue_size, input.source, std::nullopt});
        }
        index.emplace(node.id, plan.nodes.size());
        plan.nodes.push_back(std::move(p));
    }
    return index;
}

// Step 2: where each local input comes from: a timer, a local producer's output, or a producer on
// another machine (an ingress stream the daemon subscribes to).
void route_inputs(const NodeIndex& index, std::string_view network_id, DataflowPlan& plan) {
    for (size_t n = 0; n < plan.nodes.size(); ++n) {
        const auto& inputs = plan.nodes[n].inputs;
        for (uint32_t i = 0; i < inputs.size(); ++i) {
            RingRef ref{n, i};
            if (const auto* timer = std::get_if<TimerSource>(&inputs[i].source)) {
                plan.timers[timer->interval].push_back(ref);
                continue;
            }
            const auto& src = std::get<NodeOutputSource>(inputs[i].source);
            if (auto it = index.find(src.node); it != index.end()) {
                plan.nodes[it->second].outputs[src.output].push_back(ref);
                plan.nodes[n].inputs[i].local_producer = it->second;
                continue;
            }
            auto key = output_key(network_id, plan.dataflow_id, src.node, src.output);
            auto stream = std::find_if(plan.ingress.begin(), plan.ingress.end(),
                                       [&](const IngressStream& s) { return s.key == key; });
            if (stream == plan.ingress.end()) {
                plan.ingress.push_back({src.node, src.output, key, {}, {}});
                stream = plan.ingress.end() - 1;
            }
            stream->receivers.push_back(ref);
        }
    }
}

// Step 3: outputs of local nodes that nodes on other machines consume (egress streams); the
// egress ring of a stream is as deep as its deepest remote consumer's queue.
void route_outputs_to_other_machines(const Descriptor& descriptor,
                                     const std::function<bool(const NodeDescriptor&)>& is_local,
                                     const NodeIndex& index, std::string_view network_id,
                                     DataflowPlan& plan) {
    for (const auto& consumer : descriptor.nodes) {
        if (is_local(consumer)) {
            continue;
        }
        for (const auto& input : consumer.inputs) {
            const auto* src = std::get_if<NodeOutputSource>(&input.source);
            if (src == nullptr) {
                continue;
            }
            auto producer = index.find(src->node);
            if (producer == index.end()) {
                continue;
            }
            auto key = output_key(network_id, plan.dataflow_id, src->node, src->output);
            auto stream = std::find_if(plan.egress.begin(), plan.egress.end(),
                                       [&](const EgressStream& s) { return s.key == key; });
            if (stream == plan.egress.end()) {
                plan.egress.push_back({producer->second, src->output, key, input.queue_size, true});
                stream = plan.egress.end() - 1;
            } else {
                stream->queue_size = std::max(stream->queue_size, input.queue_size);
            }
            stream->backpressure |= input.queue_policy == QueuePolicy::kBackpressure;
        }
    }
}

// Step 4 (watchable): every output of a local node that no other machine consumes gets an
// egress stream of its own, published only for watchers.
void route_outputs_for_inspection(std::string_view network_id, DataflowPlan& plan) {
    for (size_t n = 0; n < plan.nodes.size(); ++n) {
        const NodeDescriptor& node = *plan.nodes[n].descriptor;
        for (const auto& output : node.outputs) {
            auto key = output_key(network_id, plan.dataflow_id, node.id, output);
            auto stream = std::find_if(plan.egress.begin(), plan.egress.end(),
                                       [&](const EgressStream& s) { return s.key == key; });
            if (stream == plan.egress.end()) {
                plan.egress.push_back({n, output, key, kInspectionQueueSize, false});
            }
        }
    }
}

}  // namespace

Result<DataflowPlan> make_plan(const Descriptor& descriptor, const std::string& dataflow_id,
                               const std::function<bool(const NodeDescriptor&)>& is_local,
                               std::string_view network_id, std::string_view machine_tag,
                               bool watchable) {
    DataflowPlan plan;
    plan.dataflow_id = dataflow_id;
    plan.prefix = shm_prefix(dataflow_id, machine_tag);
    plan.liveliness_prefix = fmt::format("dora/{}/{}/live", network_id, dataflow_id);
    auto index = plan_local_nodes(descriptor, is_local, plan);
    if (!index) {
        return fail(index.error());
    }
    route_inputs(*index, network_id, plan);
    route_outputs_to_other_machines(descriptor, is_local, *index, network_id, plan);
    if (watchable || descriptor.debug_inspection) {
        route_outputs_for_inspection(network_id, plan);
    }
    if (!plan.egress.empty()) {
        plan.egress_region = plan.prefix + ".egress";
    }
    return plan;
}

}  // namespace dora::daemon
