// cli -> coordinator requests. Each gets one reply (coordinator_to_cli.hpp) except an attached
// start and a followed log, which stream until the dataflow ends.
//
// Thread safety: plain values.
#pragma once

#include "message/common.hpp"

namespace dora::message {

// `dora start`: the dataflow file's text and absolute path travel, so daemons on other machines
// get the same descriptor. `cli_machine` identifies the CLI's machine (machine_identity()) so a
// daemon on the same machine can run nodes in the dataflow file's directory.
struct CliStart {
    std::string descriptor_yaml;
    std::string descriptor_path;
    std::string name;
    bool attach = true;
    std::string cli_machine;
    // The manifest of the files that travel with the dataflow (deploy/manifest.hpp's JSON); null:
    // none travel (`--no-ship`, or an older CLI), daemons elsewhere run nodes in an empty
    // directory.
    nlohmann::json files;
    // The CLI can send them: when `files` is null and a node runs on a machine other than the
    // CLI's (a daemon whose DaemonRegister::machine_identity differs), the coordinator answers
    // ManifestNeeded instead of starting, and the CLI sends the start again with `files`. So a
    // dataflow that runs only on the CLI's machine costs no look at its directory.
    bool ship = false;
    static constexpr const char* kType = "cli.start";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CliStart, descriptor_yaml, descriptor_path, name,
                                                attach, cli_machine, files, ship)

// `dora stop [UUID | --name NAME] [--grace-duration S]`; neither id nor name: the only running one.
struct CliStop {
    std::string dataflow_id;
    std::string name;
    std::optional<int64_t> grace_ms;
    static constexpr const char* kType = "cli.stop";
};
inline void to_json(nlohmann::json& j, const CliStop& m) {
    j = {{"dataflow_id", m.dataflow_id}, {"name", m.name}};
    if (m.grace_ms) j["grace_ms"] = *m.grace_ms;
}
inline void from_json(const nlohmann::json& j, CliStop& m) {
    m.dataflow_id = j.value("dataflow_id", "");
    m.name = j.value("name", "");
    if (j.contains("grace_ms") && !j["grace_ms"].is_null())
        m.grace_ms = j["grace_ms"].get<int64_t>();
}

struct CliList {
    static constexpr const char* kType = "cli.list";
};
inline void to_json(nlohmann::json& j, const CliList&) { j = nlohmann::json::object(); }
inline void from_json(const nlohmann::json&, CliList&) {}

// `dora logs [DATAFLOW] NODE [--follow]`: DATAFLOW is a uuid or a name ("" = the only/last one).
struct CliLogs {
    std::string dataflow;
    std::string node_id;
    bool follow = false;
    bool with_times = false;  // LogsReply::times too (`--all-nodes`, `--since`)
    static constexpr const char* kType = "cli.logs";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CliLogs, dataflow, node_id, follow, with_times)

// `dora check` without a dataflow, and `dora check --dataflow F` (machines must have daemons).
struct CliCheck {
    std::string descriptor_yaml;  // "" = only report daemons
    std::string descriptor_path;
    static constexpr const char* kType = "cli.check";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CliCheck, descriptor_yaml, descriptor_path)

struct CliBuild {
    std::string descriptor_yaml;
    std::string descriptor_path;
    std::string cli_machine;
    // The dataflow directory's files, as CliStart::files (null: none travel, `--no-ship` or an
    // older CLI), and the id their transfer goes by (a UUID the CLI makes: SendFiles, chunks).
    nlohmann::json files;
    std::string transfer;
    static constexpr const char* kType = "cli.build";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CliBuild, descriptor_yaml, descriptor_path,
                                                cli_machine, files, transfer)

// `dora destroy`: stop every dataflow, then every daemon, then the coordinator.
struct CliDestroy {
    static constexpr const char* kType = "cli.destroy";
};
inline void to_json(nlohmann::json& j, const CliDestroy&) { j = nlohmann::json::object(); }
inline void from_json(const nlohmann::json&, CliDestroy&) {}

// An attached `dora start` that lost its coordinator, connected again: stream dataflow
// `dataflow_id` to it again. Answered with Attached once the coordinator knows the dataflow (after
// a coordinator restart, once a daemon has reported it), then as an attached start; a dataflow
// that has ended meanwhile gets its DataflowResult at once.
struct CliAttach {
    std::string dataflow_id;
    static constexpr const char* kType = "cli.attach";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CliAttach, dataflow_id)

// `dora topic`, `dora record`: what a watcher needs to know of a running dataflow (uuid or name;
// "" = the only running one). Answered with DataflowDescription.
struct CliDescribe {
    std::string dataflow;
    static constexpr const char* kType = "cli.describe";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CliDescribe, dataflow)

// `dora node list [DATAFLOW]`, `dora top`: what every node of the dataflow is doing
// (node_stats.hpp); `dataflow` is a uuid or a name, "" = every running dataflow. Answered with
// NodeStatsReply.
struct CliNodeStats {
    std::string dataflow;
    static constexpr const char* kType = "cli.node_stats";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CliNodeStats, dataflow)

// `dora cert issue NAME`: a certificate of the cluster CA for `name` (subject CN and first
// subjectAltName) and `alt_names` (more DNS names or IP addresses), for the key whose signing
// request is `csr_pem` (the key stays with the CLI); `days` 0 = the coordinator's default.
// Answered with IssuedCertificate; refused by a coordinator without a cluster token.
struct CliIssueCertificate {
    std::string name;
    std::vector<std::string> alt_names;
    std::string csr_pem;
    int days = 0;
    static constexpr const char* kType = "cli.issue_certificate";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CliIssueCertificate, name, alt_names, csr_pem, days)

// `dora cert ca`: the cluster CA's certificate. Answered with CaCertificate.
struct CliCaCertificate {
    static constexpr const char* kType = "cli.ca_certificate";
};
inline void to_json(nlohmann::json& j, const CliCaCertificate&) { j = nlohmann::json::object(); }
inline void from_json(const nlohmann::json&, CliCaCertificate&) {}

// One chunk of a file SendFiles asked for (`transfer`: the dataflow id): the bytes from `offset`
// on, base64 (deploy/manifest.hpp), at most kFileChunkBytes of them. The CLI sends a file's chunks
// in order, one file after the other, and keeps at most kFileChunkWindow chunks unacknowledged
// (FileChunkAck), so the coordinator holds a few chunks per daemon, never a whole dataflow.
struct CliFileChunk {
    std::string transfer;
    std::string sha256;
    uint64_t offset = 0;
    std::string data;
    static constexpr const char* kType = "cli.file_chunk";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CliFileChunk, transfer, sha256, offset, data)

// Chunking of file transfers (CliFileChunk): bytes per chunk (base64 makes a frame of ~1.4 MiB,
// well under kMaxFrameSize) and chunks in flight per transfer.
inline constexpr size_t kFileChunkBytes = size_t{1} << 20;
inline constexpr size_t kFileChunkWindow = 4;

// Everything a CLI may send after the hello.
using CliRequest =
    std::variant<CliStart, CliStop, CliList, CliLogs, CliCheck, CliBuild, CliDestroy, CliAttach,
                 CliDescribe, CliNodeStats, CliIssueCertificate, CliCaCertificate, CliFileChunk>;

}  // namespace dora::message
