// The coordinator as the web view's source (WebSource, web_view.hpp): its dataflows, newest
// first, its daemons, and the nodes' stats.
#include "coordinator/coordinator.hpp"
#include "message/node_stats.hpp"

namespace dora::coordinator {

std::vector<WebDataflow> Coordinator::web_dataflows() const {
    std::vector<WebDataflow> out;
    for (auto it = dataflows_.rbegin(); it != dataflows_.rend(); ++it) {
        out.push_back(*web_dataflow(it->first));
    }
    return out;
}

std::optional<WebDataflow> Coordinator::web_dataflow(const std::string& id) const {
    auto it = dataflows_.find(id);
    if (it == dataflows_.end()) {
        return std::nullopt;
    }
    const Dataflow& d = it->second;
    return WebDataflow{info(d), d.described ? d.yaml : std::string(), d.path};
}

std::vector<message::DaemonInfo> Coordinator::web_daemons() const {
    return registry_.list(loop_.now());
}

namespace {

std::string status_text(const message::NodeStats& node) {
    if (node.status == message::kNodeExited) {
        return node.exit_code >= 0 ? fmt::format("exited ({})", node.exit_code) : node.exit_status;
    }
    return node.status;
}

WebStats web_stats_of(const message::DataflowStats& stats) {
    WebStats out;
    for (const auto& node : stats.nodes) {
        WebNodeStats& n = out.nodes[node.node_id];
        n.status = status_text(node);
        if (node.pid > 0) n.pid = node.pid;
        if (node.measured) {
            n.cpu_percent = node.cpu_percent;
            n.rss_bytes = node.rss_bytes;
        }
        n.restarts = node.restarts;
        n.dropped = node.dropped;
    }
    for (const auto& edge : stats.edges) {
        out.edge_messages[fmt::format("{}/{}->{}/{}", edge.source_node, edge.source_output,
                                      edge.target_node, edge.target_input)] = edge.messages;
    }
    return out;
}

}  // namespace

void Coordinator::web_stats(const std::string& dataflow_id, std::function<void(WebStats)> done) {
    auto it = dataflows_.find(dataflow_id);
    if (it == dataflows_.end()) {
        done(WebStats{});
        return;
    }
    request_stats({&it->second}, 0, [done = std::move(done)](message::NodeStatsReply reply) {
        done(reply.dataflows.empty() ? WebStats{} : web_stats_of(reply.dataflows.front()));
    });
}

}  // namespace dora::coordinator
