// The daemon's part of `dora node list` and `dora top` (message/node_stats.hpp): on ReadStats it
// samples its nodes of the asked dataflows (LocalDataflow::stats: /proc and the rings), adds what
// its Zenoh bridge counted per input (ingress drops, link losses), and answers at once. Nothing
// runs between requests.
#include <chrono>

#include "daemon/daemon.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"

namespace dora::daemon {

namespace {

// Adds the bridge's per-input counts: ingress drops (by receiving node and input) and link losses
// (by remote producer and output, for every local input it feeds).
void add_routing_drops(std::vector<message::NodeStats>& nodes,
                       const std::vector<message::DropCount>& drops) {
    for (const auto& drop : drops) {
        const bool ingress = drop.place == message::kDropIngress;
        const bool link = drop.place == message::kDropLink;
        for (auto& node : nodes) {
            for (auto& input : node.inputs) {
                if (ingress && node.node_id == drop.node_id && input.input == drop.port) {
                    input.dropped += drop.count;
                    node.dropped += drop.count;
                } else if (link && input.source_node == drop.node_id &&
                           input.source_output == drop.port) {
                    input.lost += drop.count;
                }
            }
        }
    }
}

}  // namespace

std::vector<message::NodeStats> Daemon::stats_of(Dataflow& flow, uint64_t now_ns) const {
    if (flow.local) {
        auto nodes = flow.local->stats(flow.cpu, now_ns);
        add_routing_drops(nodes, bridge_->drops(flow.id));
        return nodes;
    }
    // Still preparing (downloads, routing): nothing has started here yet.
    std::vector<message::NodeStats> nodes;
    for (const auto& node : flow.descriptor.nodes) {
        if (is_local(flow.descriptor, node)) {
            message::NodeStats stats;
            stats.node_id = node.id;
            stats.machine_id = options_.machine_id;
            stats.status = message::kNodeNotStarted;
            stats.sampled_ns = static_cast<int64_t>(now_ns);
            nodes.push_back(std::move(stats));
        }
    }
    return nodes;
}

void Daemon::handle(const message::ReadStats& request) {
    const auto began = std::chrono::steady_clock::now();
    const uint64_t now_ns = boottime_ns();
    message::DaemonStats reply;
    reply.request_id = request.request_id;
    for (const auto& id : request.dataflow_ids) {
        auto running = dataflows_.find(id);
        if (running != dataflows_.end()) {
            reply.dataflows.push_back({id, stats_of(*running->second, now_ns)});
            continue;
        }
        // Finished here, not yet reported: its nodes' final states.
        auto archived = archived_.find(id);
        if (archived != archived_.end() && archived->second->local) {
            reply.dataflows.push_back({id, stats_of(*archived->second, now_ns)});
        }
    }
    reply.sample_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - began)
                          .count();
    // Never queued: an answer that waited for a reconnection would come after its deadline.
    link_->send_now(message::make(reply));
}

}  // namespace dora::daemon
