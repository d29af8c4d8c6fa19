// daemon -> node: everything a spawned node needs to join its dataflow, as JSON. A spawned node
// finds it in a file named by the handle in its DORA_NODE_CONFIG environment variable
// (node_config_file.hpp); a dynamic node gets it from the daemon's local listen port.
//
// Thread safety: values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace dora::message {

inline constexpr const char* kNodeConfigEnv = "DORA_NODE_CONFIG";
inline constexpr int kNodeConfigVersion = 1;

// Dynamic nodes (`path: dynamic`) are started by hand and join through the daemon's local listen
// port on 127.0.0.1 (kDaemonPortEnv overrides the default): they send
// {"type": "dynamic_node", "node_id": ID[, "dataflow": NAME_OR_UUID]} and get
// {"type": "dynamic_node_config", "config": <this config as JSON text>} or
// {"type": "refused", "reason": ...}; the connection then stays open for the node's lifetime.
inline constexpr uint16_t kDefaultDaemonLocalPort = 53291;
inline constexpr const char* kDaemonPortEnv = "DORA_DAEMON_PORT";
inline constexpr const char* kDynamicDataflowEnv = "DORA_DATAFLOW";  // which dataflow to join

struct NodeInputConfig {
    std::string id;
    uint32_t ring = 0;  // index of the ring in the node's region
};

// Where one output goes locally: a ring in a receiver's region.
struct NodeTargetConfig {
    std::string region;
    uint32_t ring = 0;
};

struct NodeOutputConfig {
    std::string id;
    std::vector<NodeTargetConfig> targets;
    // When a node on another machine consumes this output: the largest Zenoh message that may
    // cross (the daemon's transport.link.rx.max_message_size) and the bytes of it the envelope
    // (key, headers, lengths) may take. A send whose data and metadata do not fit fails at send
    // time instead of being dropped on arrival. 0: only local receivers.
    uint64_t remote_max_message_size = 0;
    uint64_t remote_envelope = 0;
};

struct SenderConfig {
    uint16_t index = 0;
    std::string prefix;  // segment name prefix of that sender's pool
};

struct NodeConfig {
    int version = kNodeConfigVersion;
    std::string dataflow_id;
    std::string node_id;
    std::string machine_id;
    std::string region;  // this node's input region
    std::vector<NodeInputConfig> inputs;
    std::vector<NodeOutputConfig> outputs;
    uint16_t sender_index = 0;
    uint16_t generation = 0;
    std::string pool_prefix;
    std::vector<SenderConfig> senders;  // every pool this node may receive samples from
    std::string descriptor_path;        // the dataflow file, for dataflow_descriptor()
    int64_t spin_ns = 50'000;           // how long next() spins before it sleeps
    // The most segments the node's pool may have per size class (shm::Pool::set_class_limit), as
    // the daemon computed it (DataflowPlan::pool_class_limit); 0: the pool's own ceiling.
    uint32_t pool_class_limit = 0;
};

[[nodiscard]] std::string to_json(const NodeConfig& config);
// Parses and checks the JSON; the error says what is missing or wrong.
[[nodiscard]] Result<NodeConfig> parse_node_config(std::string_view json);

}  // namespace dora::message
