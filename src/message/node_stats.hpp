// What each node of a running dataflow is doing, and how many messages each edge of its graph
// carried: the data behind `dora node list`, `dora top` and the web view's graph.
//
// Gathered on demand, so it costs nothing while nobody looks: the CLI asks the coordinator
// (CliNodeStats), the coordinator asks each daemon that runs the dataflow (ReadStats), each daemon
// answers from /proc and the shared-memory rings (DaemonStats), and the coordinator replies
// (NodeStatsReply) once every daemon answered or its deadline (about 1 s) passed; a daemon that did
// not answer in time is named, and its nodes shown as kNodeNoAnswer, not waited for.
//
// Counters are totals since the node's queues were made (they survive restarts); a client gets
// rates from two snapshots: (count2 - count1) / (sampled_ns2 - sampled_ns1), with both sample
// times of the machine that counted (each node and edge carries its own).
//
// Decoders refuse what cannot be right (an unknown status, a negative or non-finite CPU %, a
// negative pid) with an error naming the field, besides the usual wrong types.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dora::message {

// A node's state, as `dora node list` shows it.
inline constexpr const char* kNodeRunning = "running";
inline constexpr const char* kNodeRestarting = "restarting";   // exited; respawned soon
inline constexpr const char* kNodeExited = "exited";           // for good: see exit_status
inline constexpr const char* kNodeNotStarted = "not started";  // its dataflow is not spawned yet
inline constexpr const char* kNodeWaiting = "waiting";         // dynamic: its process not joined
inline constexpr const char* kNodeLost = "lost";               // its machine's daemon is gone
inline constexpr const char* kNodeNoAnswer = "no answer";      // its daemon did not answer in time
[[nodiscard]] bool is_node_status(const std::string& status);

// One input of a node: the queue between its source and the node.
struct InputStats {
    std::string input;          // the input id
    std::string source;         // as written: "node/output" or "dora/timer/millis/100"
    std::string source_node;    // "" for a timer
    std::string source_output;  // "" for a timer
    uint64_t received = 0;      // messages that entered its queue (pushed), dropped ones included
    uint64_t dropped = 0;       // lost on this machine: its queue was full, or the arrival from
                                // another machine could not be stored (ingress)
    uint64_t lost = 0;          // from another machine: lost on the link before arriving here
    uint64_t queued = 0;        // in its queue now, not yet taken by the node
    uint32_t queue_size = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(InputStats, input, source, source_node,
                                                source_output, received, dropped, lost, queued,
                                                queue_size)

// An output of a node that leaves its machine (or is published for inspection): its queue to
// Zenoh on the producer's machine.
struct OutputStats {
    std::string output;
    uint64_t sent = 0;              // messages that entered the queue (the producer side's count)
    uint64_t dropped = 0;           // its queue was full (place egress)
    bool consumed_remotely = true;  // false: published only for debug inspection
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(OutputStats, output, sent, dropped,
                                                consumed_remotely)

struct NodeStats {
    std::string node_id;
    std::string machine_id;
    std::string status;  // one of the kNode* values
    int64_t pid = 0;     // 0: no process (not started, exited, restarting, a dynamic node)
    // Restarting or exited: the last exit, "exited with status 3", "was killed by signal 9
    // (SIGKILL)", ...; exit_code is its status when it exited normally, else -1.
    std::string exit_status;
    int exit_code = -1;
    uint32_t restarts = 0;
    // From /proc, for the process and its descendants, when `measured`:
    bool measured = false;
    double cpu_percent = 0;    // of one core (above 100 on several); see proc_stats.hpp CpuMeter
    uint64_t cpu_time_ns = 0;  // user + system time so far: for a client's own rate
    uint64_t rss_bytes = 0;
    uint64_t uptime_ms = 0;  // since the process started
    uint64_t dropped = 0;    // sum of its inputs' `dropped`
    std::vector<InputStats> inputs;
    std::vector<OutputStats> outputs;  // only the outputs that leave its machine
    int64_t sampled_ns = 0;            // when its daemon sampled it (CLOCK_BOOTTIME of its machine)
};
void to_json(nlohmann::json& j, const NodeStats& m);
void from_json(const nlohmann::json& j, NodeStats& m);

// An edge of the graph, from an output to an input, with the consumer's counts (the producer's
// count `sent` too when it crosses machines). Timer inputs are not edges.
struct EdgeStats {
    std::string source_node;
    std::string source_output;
    std::string target_node;
    std::string target_input;
    std::string source_machine;
    std::string target_machine;
    bool remote = false;    // crosses machines
    uint64_t sent = 0;      // remote: what the producer's queue to the network took; else messages
    uint64_t messages = 0;  // what entered the consumer's queue
    uint64_t dropped = 0;
    uint64_t lost = 0;
    uint64_t queued = 0;
    int64_t sampled_ns = 0;  // the consumer's sample time
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(EdgeStats, source_node, source_output, target_node,
                                                target_input, source_machine, target_machine,
                                                remote, sent, messages, dropped, lost, queued,
                                                sampled_ns)

// The edges between the nodes of one dataflow, from their inputs (every input whose source is a
// node output; `nodes` may span machines).
[[nodiscard]] std::vector<EdgeStats> edges_of(const std::vector<NodeStats>& nodes);

// One daemon's part of a dataflow.
struct DataflowNodeStats {
    std::string dataflow_id;
    std::vector<NodeStats> nodes;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataflowNodeStats, dataflow_id, nodes)

// How a machine answered a stats request.
inline constexpr const char* kAnswered = "answered";
inline constexpr const char* kNoAnswer = "no answer";         // connected, silent past the deadline
inline constexpr const char* kDisconnected = "disconnected";  // not asked: no daemon connected
struct MachineAnswer {
    std::string machine_id;
    std::string state;      // kAnswered | kNoAnswer | kDisconnected
    int64_t answer_us = 0;  // answered: from the coordinator's request to the daemon's reply
    int64_t sample_us = 0;  // answered: the daemon's own time to sample its nodes
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(MachineAnswer, machine_id, state, answer_us,
                                                sample_us)

// One dataflow, all machines.
struct DataflowStats {
    std::string id;
    std::string name;
    std::string status;  // as in `dora list`: preparing | running | stopping | finished | failed
    std::vector<NodeStats> nodes;
    std::vector<EdgeStats> edges;
    std::vector<MachineAnswer> machines;  // empty when finished (answered from its results)
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataflowStats, id, name, status, nodes, edges,
                                                machines)

}  // namespace dora::message
