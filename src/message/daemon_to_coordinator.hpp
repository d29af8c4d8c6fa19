// daemon -> coordinator.
//
// Thread safety: plain values.
#pragma once

#include "message/common.hpp"
#include "message/coordinator_to_daemon.hpp"

namespace dora::message {

// First message after the hello, and again after every reconnect: who the daemon is and what it
// still runs (dataflows survive a coordinator restart). Right after it come one DataflowRunning
// per id in `running_dataflows`, then the DataflowFinishedOnMachine of each id in
// `finished_dataflows` again (a restarted coordinator learns from them what it lost).
struct DaemonRegister {
    std::string machine_id;  // "" = default daemon
    std::vector<std::string> zenoh_endpoints;
    std::vector<std::string> running_dataflows;
    std::map<std::string, std::string> labels;  // `dora daemon --labels k=v,...`
    // Dataflows that ended here recently, whose results this daemon already sent once.
    std::vector<std::string> finished_dataflows;
    // sys::machine_identity(): a CLI with the same one shares this daemon's files (file shipping
    // is not needed for nodes here).
    std::string machine_identity;
    // The public half of the key this daemon signs the ends of its nodes' output streams with
    // (message::StreamEndSigner, made when the daemon starts): the coordinator hands it to the
    // other daemons of each dataflow, which accept an end only when it verifies.
    std::string stream_end_key;
    static constexpr const char* kType = "daemon.register";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DaemonRegister, machine_id, zenoh_endpoints,
                                                running_dataflows, labels, finished_dataflows,
                                                machine_identity, stream_end_key)

// After a (re-)registration, for each dataflow this daemon runs: how it was started, so that a
// coordinator that restarted knows its name, descriptor, machines and nodes again.
struct DataflowRunning {
    PrepareDataflow started;           // as this daemon received it
    bool spawned = false;              // false: prepared only, the start was never released
    std::vector<std::string> waiting;  // dynamic nodes of this machine not joined yet
    static constexpr const char* kType = "daemon.running";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataflowRunning, started, spawned, waiting)

struct DaemonHeartbeat {
    static constexpr const char* kType = "daemon.heartbeat";
};
inline void to_json(nlohmann::json& j, const DaemonHeartbeat&) { j = nlohmann::json::object(); }
inline void from_json(const nlohmann::json&, DaemonHeartbeat&) {}

// Phase one of a start done: shared memory set up, nothing spawned yet; or why not.
struct DataflowPrepared {
    std::string dataflow_id;
    bool success = false;
    std::string error;
    static constexpr const char* kType = "daemon.prepared";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataflowPrepared, dataflow_id, success, error)

// Phase two done: every node of this machine spawned (or why not).
struct DataflowSpawned {
    std::string dataflow_id;
    bool success = false;
    std::string error;
    static constexpr const char* kType = "daemon.spawned";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataflowSpawned, dataflow_id, success, error)

struct DaemonLog {
    LogLine log;
    static constexpr const char* kType = "daemon.log";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DaemonLog, log)

// A dynamic node's state on this machine: "waiting" (started, its process has not joined),
// "joined", "left" (its process disconnected). `dora list` shows the ones still waiting.
struct DynamicNodeStatus {
    std::string dataflow_id;
    std::string node_id;
    std::string status;
    static constexpr const char* kType = "daemon.dynamic_node";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DynamicNodeStatus, dataflow_id, node_id, status)

// Every node of the dataflow on this machine has exited; `drops` are this machine's final counts.
struct DataflowFinishedOnMachine {
    std::string dataflow_id;
    std::vector<NodeResultInfo> results;
    std::vector<DropCount> drops;
    static constexpr const char* kType = "daemon.finished";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataflowFinishedOnMachine, dataflow_id, results,
                                                drops)

// What this machine dropped of a running dataflow so far (every count, not a difference); sent
// at most once a second, when a count grew.
struct DataflowDrops {
    std::string dataflow_id;
    std::vector<DropCount> drops;
    static constexpr const char* kType = "daemon.drops";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataflowDrops, dataflow_id, drops)

// Reply to ReadLogs.
struct DaemonLogsReply {
    uint64_t request_id = 0;
    std::string content;
    std::string error;
    // With ReadLogs::with_times: per line of `content`, when the daemon wrote it (ns since the
    // Unix epoch; 0 where unknown, e.g. a log written by an older daemon).
    std::vector<uint64_t> times;
    static constexpr const char* kType = "daemon.logs";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DaemonLogsReply, request_id, content, error, times)

struct DaemonBuildOutput {
    uint64_t request_id = 0;
    std::string node_id;
    std::string line;
    static constexpr const char* kType = "daemon.build_output";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DaemonBuildOutput, request_id, node_id, line)

struct DaemonBuildResult {
    uint64_t request_id = 0;
    bool success = false;
    std::string message;  // names the failed node and its exit status
    static constexpr const char* kType = "daemon.build_result";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DaemonBuildResult, request_id, success, message)

// Reply to ReadStats: this machine's nodes of each asked dataflow it still runs (a dataflow it
// does not know is left out); `sample_us`: how long sampling took.
struct DaemonStats {
    uint64_t request_id = 0;
    std::vector<DataflowNodeStats> dataflows;
    int64_t sample_us = 0;
    static constexpr const char* kType = "daemon.stats";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DaemonStats, request_id, dataflows, sample_us)

// After its registration, with a cluster token: a certificate of the cluster CA for this daemon,
// named by its machine id (`default` for the default daemon; the coordinator takes the name from
// the registration, not from the daemon) plus `alt_names` (DNS names or IP addresses where it can
// be reached), for the key whose signing request is `csr_pem` (the key stays with the daemon).
// `days` 0 = the coordinator's default. Answered with CertificateReply.
struct CertificateRequest {
    uint64_t request_id = 0;
    std::string csr_pem;
    std::vector<std::string> alt_names;
    int days = 0;
    static constexpr const char* kType = "daemon.certificate_request";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CertificateRequest, request_id, csr_pem, alt_names,
                                                days)

// The name in a daemon's certificate: its machine id, `default` for the default daemon.
inline std::string daemon_certificate_name(const std::string& machine_id) {
    return machine_id.empty() ? std::string("default") : machine_id;
}

// Reply to a PrepareDataflow or BuildNodes with files: the SHA-256 of each file its store lacks
// (each once); `local`: this daemon is on the CLI's machine and uses the dataflow's own directory.
struct FilesNeeded {
    std::string transfer;
    std::vector<std::string> missing;
    bool local = false;
    static constexpr const char* kType = "daemon.files_needed";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FilesNeeded, transfer, missing, local)

// Reply to FileChunk: stored (error ""), or why not (the transfer is then given up here and the
// daemon answers the PrepareDataflow with that error).
struct FileChunkStored {
    std::string transfer;
    std::string sha256;
    uint64_t offset = 0;
    std::string error;
    static constexpr const char* kType = "daemon.file_chunk_stored";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FileChunkStored, transfer, sha256, offset, error)

// Everything a daemon sends its coordinator after the hello.
using DaemonToCoordinator =
    std::variant<DaemonRegister, DataflowRunning, DaemonHeartbeat, DataflowPrepared,
                 DataflowSpawned, DaemonLog, DynamicNodeStatus, DataflowFinishedOnMachine,
                 DataflowDrops, DaemonLogsReply, DaemonBuildOutput, DaemonBuildResult, ErrorMessage,
                 DaemonStats, CertificateRequest, FilesNeeded, FileChunkStored>;

}  // namespace dora::message
