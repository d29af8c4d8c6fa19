// Types shared by the control-plane messages (see control.hpp for the framing and the hello).
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "message/control.hpp"
#include "message/drops.hpp"
#include "message/node_stats.hpp"

namespace dora::message {

// The final state of one node of a dataflow, as a daemon reports it.
struct NodeResultInfo {
    std::string node_id;
    std::string machine_id;
    bool success = false;
    std::string status;  // "exited with status 0", "was killed by signal 9 (SIGKILL)"
    bool killed_after_grace = false;
    std::vector<std::string> stderr_tail;
    int exit_code = -1;  // its exit status when it exited normally, else -1
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NodeResultInfo, node_id, machine_id, success,
                                                status, killed_after_grace, stderr_tail, exit_code)

// One line a node (or the runtime, stream "dora") wrote.
struct LogLine {
    std::string dataflow_id;
    std::string node_id;
    std::string machine_id;
    std::string stream;  // stdout | stderr | dora
    std::string line;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LogLine, dataflow_id, node_id, machine_id, stream,
                                                line)

// A certificate of the cluster CA (src/pki), as the coordinator issues it to a CLI
// (CliIssueCertificate) or a daemon (CertificateRequest): PEM texts, the serial in hex and the end
// of its validity in seconds since the Unix epoch. The private key never travels.
struct IssuedCertificate {
    std::string certificate_pem;
    std::string ca_pem;
    std::string serial;
    int64_t not_after = 0;
    static constexpr const char* kType = "coordinator.certificate";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(IssuedCertificate, certificate_pem, ca_pem, serial,
                                                not_after)

// A daemon as the coordinator knows it.
struct DaemonInfo {
    std::string machine_id;                    // "" = the default daemon
    std::vector<std::string> zenoh_endpoints;  // where its Zenoh session listens, "tcp/ip:port"
    bool connected = true;
    int64_t last_heartbeat_ms_ago = 0;
    std::map<std::string, std::string> labels;
    bool unreachable = false;  // connected, but not heard from for a while
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DaemonInfo, machine_id, zenoh_endpoints, connected,
                                                last_heartbeat_ms_ago, labels, unreachable)

// A dataflow as `dora list` shows it.
struct DataflowInfo {
    std::string id;
    std::string name;
    std::string status;  // preparing | running | stopping | finished | failed
    // machine id -> node ids
    std::vector<std::pair<std::string, std::vector<std::string>>> nodes_per_machine;
    std::vector<NodeResultInfo> results;  // once finished
    std::vector<std::string> waiting;     // dynamic nodes whose process has not joined yet
    std::vector<DropCount> drops;         // so far (live), or in all once finished
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataflowInfo, id, name, status, nodes_per_machine,
                                                results, waiting, drops)

}  // namespace dora::message
