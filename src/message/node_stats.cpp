#include "message/node_stats.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string_view>

namespace dora::message {

namespace {

constexpr std::array<std::string_view, 7> kStatuses{kNodeRunning,    kNodeRestarting, kNodeExited,
                                                    kNodeNotStarted, kNodeWaiting,    kNodeLost,
                                                    kNodeNoAnswer};

// A field that is there but cannot be right: refused like a field of the wrong type.
[[noreturn]] void refuse(const std::string& what) {
    throw nlohmann::json::other_error::create(599, "node stats: " + what, nullptr);
}

template <typename T>
void read(const nlohmann::json& j, const char* key, T& field) {
    field = j.value(key, field);
}

}  // namespace

bool is_node_status(const std::string& status) {
    return std::find(kStatuses.begin(), kStatuses.end(), status) != kStatuses.end();
}

void to_json(nlohmann::json& j, const NodeStats& m) {
    j = {{"node_id", m.node_id},         {"machine_id", m.machine_id},
         {"status", m.status},           {"pid", m.pid},
         {"exit_status", m.exit_status}, {"exit_code", m.exit_code},
         {"restarts", m.restarts},       {"measured", m.measured},
         {"cpu_percent", m.cpu_percent}, {"cpu_time_ns", m.cpu_time_ns},
         {"rss_bytes", m.rss_bytes},     {"uptime_ms", m.uptime_ms},
         {"dropped", m.dropped},         {"inputs", m.inputs},
         {"outputs", m.outputs},         {"sampled_ns", m.sampled_ns}};
}

void from_json(const nlohmann::json& j, NodeStats& m) {
    NodeStats out;
    read(j, "node_id", out.node_id);
    read(j, "machine_id", out.machine_id);
    read(j, "status", out.status);
    read(j, "pid", out.pid);
    read(j, "exit_status", out.exit_status);
    read(j, "exit_code", out.exit_code);
    read(j, "restarts", out.restarts);
    read(j, "measured", out.measured);
    read(j, "cpu_percent", out.cpu_percent);
    read(j, "cpu_time_ns", out.cpu_time_ns);
    read(j, "rss_bytes", out.rss_bytes);
    read(j, "uptime_ms", out.uptime_ms);
    read(j, "dropped", out.dropped);
    read(j, "inputs", out.inputs);
    read(j, "outputs", out.outputs);
    read(j, "sampled_ns", out.sampled_ns);
    if (!is_node_status(out.status)) {
        refuse("node `" + out.node_id + "` has unknown status `" + out.status + "`");
    }
    if (!std::isfinite(out.cpu_percent) || out.cpu_percent < 0) {
        refuse("node `" + out.node_id + "` has cpu_percent " + std::to_string(out.cpu_percent) +
               " (must be a finite number >= 0)");
    }
    if (out.pid < 0) {
        refuse("node `" + out.node_id + "` has a negative pid");
    }
    m = std::move(out);
}

std::vector<EdgeStats> edges_of(const std::vector<NodeStats>& nodes) {
    std::map<std::string, const NodeStats*> by_id;
    for (const auto& node : nodes) {
        by_id.emplace(node.node_id, &node);
    }
    std::vector<EdgeStats> edges;
    for (const auto& node : nodes) {
        for (const auto& input : node.inputs) {
            if (input.source_node.empty()) {
                continue;  // a timer
            }
            EdgeStats edge;
            edge.source_node = input.source_node;
            edge.source_output = input.source_output;
            edge.target_node = node.node_id;
            edge.target_input = input.input;
            edge.target_machine = node.machine_id;
            edge.messages = input.received;
            edge.dropped = input.dropped;
            edge.lost = input.lost;
            edge.queued = input.queued;
            edge.sampled_ns = node.sampled_ns;
            edge.sent = input.received;
            if (auto source = by_id.find(input.source_node); source != by_id.end()) {
                const NodeStats& producer = *source->second;
                edge.source_machine = producer.machine_id;
                edge.remote = producer.machine_id != node.machine_id;
                if (edge.remote) {
                    auto out = std::find_if(
                        producer.outputs.begin(), producer.outputs.end(),
                        [&](const OutputStats& o) { return o.output == input.source_output; });
                    edge.sent = out == producer.outputs.end() ? 0 : out->sent;
                }
            }
            edges.push_back(std::move(edge));
        }
    }
    return edges;
}

}  // namespace dora::message
