// coordinator -> cli replies and streamed events. Any request may instead get ErrorMessage.
//
// Thread safety: plain values.
#pragma once

#include "message/common.hpp"

namespace dora::message {

struct StartTriggered {
    std::string dataflow_id;
    static constexpr const char* kType = "coordinator.start_triggered";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StartTriggered, dataflow_id)

// Streamed to an attached `dora start` and a following `dora logs`.
struct LogEvent {
    LogLine log;
    static constexpr const char* kType = "coordinator.log";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LogEvent, log)

// Ends an attached start: the dataflow's result.
struct DataflowResult {
    std::string dataflow_id;
    bool success = false;
    std::vector<NodeResultInfo> results;
    std::string error;             // set when it never ran (e.g. a daemon refused to prepare it)
    std::vector<DropCount> drops;  // every machine's, in all
    static constexpr const char* kType = "coordinator.dataflow_result";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataflowResult, dataflow_id, success, results,
                                                error, drops)

struct DataflowList {
    std::vector<DataflowInfo> dataflows;
    std::vector<DaemonInfo> daemons;
    static constexpr const char* kType = "coordinator.list";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataflowList, dataflows, daemons)

// Log file content (`dora logs`); with follow, further LogEvents come after it.
struct LogsReply {
    std::string dataflow_id;
    std::string node_id;
    std::string machine_id;
    std::string content;
    std::vector<uint64_t> times;  // with CliLogs::with_times: see DaemonLogsReply::times
    static constexpr const char* kType = "coordinator.logs";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LogsReply, dataflow_id, node_id, machine_id,
                                                content, times)

// `dora build`: one line of a build command's output, then BuildResult.
struct BuildOutput {
    std::string node_id;
    std::string machine_id;
    std::string line;
    static constexpr const char* kType = "coordinator.build_output";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(BuildOutput, node_id, machine_id, line)

struct BuildResult {
    bool success = false;
    std::string message;
    static constexpr const char* kType = "coordinator.build_result";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(BuildResult, success, message)

// A request done (stop, destroy, check); `message` says what happened.
struct Done {
    std::string message;
    static constexpr const char* kType = "coordinator.done";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Done, message)

// Reply to CliAttach: the dataflow's output streams to this CLI again.
struct Attached {
    std::string dataflow_id;
    std::string name;
    static constexpr const char* kType = "coordinator.attached";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Attached, dataflow_id, name)

// Reply to CliDescribe: a running dataflow's descriptor (the YAML it was started with and its
// path, which the CLI parses), where its nodes run, the Zenoh network its keys live under
// (`dora/{network}/{dataflow}/output/{node}/{output}`) and the daemons (their Zenoh endpoints).
struct DataflowDescription {
    std::string dataflow_id;
    std::string name;
    std::string status;
    std::string descriptor_yaml;
    std::string descriptor_path;
    std::string network_id;
    std::vector<std::pair<std::string, std::vector<std::string>>> nodes_per_machine;
    std::vector<DaemonInfo> daemons;
    static constexpr const char* kType = "coordinator.dataflow_description";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataflowDescription, dataflow_id, name, status,
                                                descriptor_yaml, descriptor_path, network_id,
                                                nodes_per_machine, daemons)

// Reply to CliNodeStats: each selected dataflow's nodes and edges (node_stats.hpp), oldest first.
struct NodeStatsReply {
    std::vector<DataflowStats> dataflows;
    static constexpr const char* kType = "coordinator.node_stats";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NodeStatsReply, dataflows)

// Reply to CliCaCertificate: the cluster CA's certificate (PEM) and the end of its validity (Unix
// seconds). A CliIssueCertificate is answered with IssuedCertificate (common.hpp).
struct CaCertificate {
    std::string ca_pem;
    int64_t not_after = 0;
    static constexpr const char* kType = "coordinator.ca_certificate";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CaCertificate, ca_pem, not_after)

// Reply to a CliStart with `ship` and no files: `machines` are not the CLI's machine, so the
// start must bring the dataflow directory's manifest (nothing was started).
struct ManifestNeeded {
    std::vector<std::string> machines;
    static constexpr const char* kType = "coordinator.manifest_needed";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ManifestNeeded, machines)

// After StartTriggered of a start with files (or a build with files), once every daemon said what
// it lacks: the files to send (their SHA-256, each once; empty: every machine has them all), the
// machines that get them (each what it lacks), and those on the CLI's machine that use the
// dataflow's own directory.
struct SendFiles {
    std::string transfer;
    std::vector<std::string> sha256;
    std::vector<std::string> machines;
    std::vector<std::string> local_machines;
    static constexpr const char* kType = "coordinator.send_files";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SendFiles, transfer, sha256, machines,
                                                local_machines)

// A CliFileChunk reached every machine that needed it (error ""), or why not: `error` names the
// machine and what to do, and the start has failed.
struct FileChunkAck {
    std::string transfer;
    std::string sha256;
    uint64_t offset = 0;
    std::string error;
    static constexpr const char* kType = "coordinator.file_chunk_ack";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FileChunkAck, transfer, sha256, offset, error)

// Everything a coordinator sends a CLI after the hello.
using CoordinatorToCli =
    std::variant<StartTriggered, LogEvent, DataflowResult, DataflowList, LogsReply, BuildOutput,
                 BuildResult, Done, ErrorMessage, Attached, DataflowDescription, NodeStatsReply,
                 IssuedCertificate, CaCertificate, SendFiles, FileChunkAck, ManifestNeeded>;

}  // namespace dora::message
