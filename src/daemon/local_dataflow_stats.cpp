// LocalDataflow::stats: a snapshot of this machine's nodes for `dora node list` and `dora top`
// (message/node_stats.hpp). Reads the nodes' rings (counts only, nothing is taken) and /proc;
// changes nothing but the CPU meter's windows.
#include <sys/wait.h>

#include <algorithm>

#include "daemon/local_dataflow.hpp"
#include "daemon/spawner.hpp"

namespace dora::daemon {

namespace {

const char* status_of(LocalDataflow::NodePhase phase) {
    using P = LocalDataflow::NodePhase;
    switch (phase) {
        case P::kPending:
            return message::kNodeNotStarted;
        case P::kWaiting:
            return message::kNodeWaiting;
        case P::kRunning:
            return message::kNodeRunning;
        case P::kRestarting:
            return message::kNodeRestarting;
        case P::kExited:
            return message::kNodeExited;
    }
    return message::kNodeExited;
}

void measure(message::NodeStats& stats, pid_t pid, const std::string& key, CpuMeter& cpu,
             uint64_t now_ns) {
    auto usage = read_process_usage(pid);
    if (!usage) {
        return;  // exited this instant: its exit is reported next
    }
    stats.measured = true;
    stats.cpu_percent = cpu.sample(key, pid, *usage, now_ns);
    stats.cpu_time_ns = usage->cpu_ns;
    stats.rss_bytes = usage->rss_bytes;
    stats.uptime_ms = now_ns > usage->start_ns ? (now_ns - usage->start_ns) / 1'000'000 : 0;
}

}  // namespace

std::vector<message::NodeStats> LocalDataflow::stats(CpuMeter& cpu, uint64_t now_ns) const {
    std::vector<message::NodeStats> out;
    out.reserve(nodes_.size());
    for (const auto& node : nodes_) {
        out.push_back(stats_of(node, cpu, now_ns));
    }
    cpu.forget_unsampled();
    return out;
}

message::NodeStats LocalDataflow::stats_of(const NodeState& node, CpuMeter& cpu,
                                           uint64_t now_ns) const {
    message::NodeStats stats;
    stats.node_id = node.id;
    stats.machine_id = options_.machine_id;
    stats.status = status_of(node.phase);
    stats.restarts = node.restarts;
    stats.sampled_ns = static_cast<int64_t>(now_ns);
    if (node.phase == NodePhase::kRunning && node.process) {
        stats.pid = node.process->pid();
        measure(stats, node.process->pid(), node.id, cpu, now_ns);
    }
    if (node.phase == NodePhase::kRestarting) {
        stats.exit_status = describe_wait_status(node.last_status);
        stats.exit_code = WIFEXITED(node.last_status) ? WEXITSTATUS(node.last_status) : -1;
    } else if (node.phase == NodePhase::kExited) {
        auto result = std::find_if(results_.begin(), results_.end(),
                                   [&](const NodeResult& r) { return r.node_id == node.id; });
        if (result != results_.end()) {
            stats.exit_status = result->status;
            stats.exit_code = result->exit_code;
        }
    }
    const PlannedNode& planned = plan_.nodes[node.index];
    for (uint32_t i = 0; i < planned.inputs.size(); ++i) {
        const PlannedInput& input = planned.inputs[i];
        const shm::Ring ring = regions_[node.index].ring(i);
        message::InputStats in;
        in.input = input.id;
        in.source = format_input_source(input.source);
        if (const auto* from = std::get_if<NodeOutputSource>(&input.source)) {
            in.source_node = from->node;
            in.source_output = from->output;
        }
        in.received = ring.pushed();
        in.dropped = ring.dropped();
        in.queued = ring.queued();
        in.queue_size = input.queue_size;
        stats.dropped += in.dropped;
        stats.inputs.push_back(std::move(in));
    }
    for (uint32_t e = 0; egress_.valid() && e < plan_.egress.size(); ++e) {
        const EgressStream& stream = plan_.egress[e];
        if (stream.node == node.index) {
            const shm::Ring ring = egress_.ring(e);
            stats.outputs.push_back(
                {stream.output, ring.pushed(), ring.dropped(), stream.consumed_remotely});
        }
    }
    return stats;
}

}  // namespace dora::daemon
