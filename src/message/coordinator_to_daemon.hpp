// coordinator -> daemon.
//
// Thread safety: plain values.
#pragma once

#include "message/common.hpp"

namespace dora::message {

// Reply to DaemonRegister, and sent again whenever the set of daemons changes: the Zenoh
// endpoints of every other daemon, so daemons connect to each other without multicast.
struct Peers {
    std::vector<DaemonInfo> peers;
    static constexpr const char* kType = "coordinator.peers";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Peers, peers)

// Phase one of a start: set up this machine's part of the dataflow, spawn nothing.
struct PrepareDataflow {
    std::string dataflow_id;
    std::string name;
    std::string descriptor_yaml;
    std::string descriptor_path;
    std::string cli_machine;  // machine_identity() of the CLI that started it
    // Nodes placed by `deploy.labels` (node id -> machine): every daemon reads them as the
    // node's `machine`.
    std::map<std::string, std::string> placement;
    // Machine -> the public key its daemon signs the ends of output streams with
    // (DaemonRegister::stream_end_key, message/data_keys.hpp), for every machine of the dataflow.
    // A daemon refuses a dataflow that lacks the key of a machine it receives from.
    std::map<std::string, std::string> stream_end_keys;
    // The files that travel with the dataflow (CliStart::files); null: none. A daemon on another
    // machine than the CLI answers FilesNeeded with what its store lacks, receives those
    // (FileChunk), then copies the files into its work directory and prepares there; one on the
    // CLI's machine answers FilesNeeded{local} and runs the nodes in the dataflow's directory.
    nlohmann::json files;
    static constexpr const char* kType = "coordinator.prepare";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PrepareDataflow, dataflow_id, name, descriptor_yaml,
                                                descriptor_path, cli_machine, placement,
                                                stream_end_keys, files)

// Phase two: every daemon is prepared; spawn.
struct SpawnDataflow {
    std::string dataflow_id;
    static constexpr const char* kType = "coordinator.spawn";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SpawnDataflow, dataflow_id)

struct StopDataflow {
    std::string dataflow_id;
    int64_t grace_ms = 15000;
    static constexpr const char* kType = "coordinator.stop";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StopDataflow, dataflow_id, grace_ms)

// Read `out/<dataflow>/log_<node>.txt` where the node ran; reply DaemonLogsReply.
struct ReadLogs {
    uint64_t request_id = 0;
    std::string dataflow_id;
    std::string node_id;
    bool with_times = false;  // also when each line was written (DaemonLogsReply::times)
    static constexpr const char* kType = "coordinator.read_logs";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ReadLogs, request_id, dataflow_id, node_id,
                                                with_times)

// Run the `build` commands of this machine's nodes; reply DaemonBuildOutput*, DaemonBuildResult.
struct BuildNodes {
    uint64_t request_id = 0;
    std::string descriptor_yaml;
    std::string descriptor_path;
    std::string cli_machine;
    std::vector<std::string> nodes;  // the nodes this daemon builds (the coordinator placed them)
    // The files that travel with the build (CliBuild::files) and their transfer's id: a daemon
    // on another machine than the CLI's answers FilesNeeded, receives them as for a start and
    // builds in its copy of them (daemon_build.cpp).
    nlohmann::json files;
    std::string transfer;
    static constexpr const char* kType = "coordinator.build";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(BuildNodes, request_id, descriptor_yaml,
                                                descriptor_path, cli_machine, nodes, files,
                                                transfer)

// The daemon of `machine_id` is gone (its process ended: its connection closed, which a
// partition does not do), so its nodes of the dataflow are gone for good: the receiving daemon
// closes its nodes' inputs from them (INPUT_CLOSED).
struct RemoteNodesLost {
    std::string dataflow_id;
    std::string machine_id;
    std::vector<std::string> nodes;
    std::string reason;
    static constexpr const char* kType = "coordinator.remote_nodes_lost";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RemoteNodesLost, dataflow_id, machine_id, nodes,
                                                reason)

// Stop everything and exit (dora destroy).
struct DestroyDaemon {
    static constexpr const char* kType = "coordinator.destroy";
};
inline void to_json(nlohmann::json& j, const DestroyDaemon&) { j = nlohmann::json::object(); }
inline void from_json(const nlohmann::json&, DestroyDaemon&) {}

struct CoordinatorHeartbeat {
    static constexpr const char* kType = "coordinator.heartbeat";
};
inline void to_json(nlohmann::json& j, const CoordinatorHeartbeat&) {
    j = nlohmann::json::object();
}
inline void from_json(const nlohmann::json&, CoordinatorHeartbeat&) {}

// Sample this machine's nodes of these dataflows now; reply DaemonStats (node_stats.hpp).
struct ReadStats {
    uint64_t request_id = 0;
    std::vector<std::string> dataflow_ids;
    static constexpr const char* kType = "coordinator.read_stats";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ReadStats, request_id, dataflow_ids)

// Reply to CertificateRequest: the certificate, or `error` saying why none was issued.
struct CertificateReply {
    uint64_t request_id = 0;
    std::string error;
    IssuedCertificate certificate;
    static constexpr const char* kType = "coordinator.certificate_reply";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CertificateReply, request_id, error, certificate)

// A chunk of a file this daemon said it needs (FilesNeeded), relayed from the CLI's CliFileChunk;
// answered with FileChunkStored.
struct FileChunk {
    std::string transfer;
    std::string sha256;
    uint64_t offset = 0;
    std::string data;  // base64
    static constexpr const char* kType = "coordinator.file_chunk";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FileChunk, transfer, sha256, offset, data)

// Everything a coordinator sends a daemon after the hello.
using CoordinatorToDaemon =
    std::variant<Peers, PrepareDataflow, SpawnDataflow, StopDataflow, ReadLogs, BuildNodes,
                 DestroyDaemon, CoordinatorHeartbeat, RemoteNodesLost, ErrorMessage, ReadStats,
                 CertificateReply, FileChunk>;

}  // namespace dora::message
