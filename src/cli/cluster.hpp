// `dora cluster up|status|down FILE` (cluster.cpp registers them; cluster_up.cpp is `up`): daemons
// on the machines of a cluster file (cluster_file.hpp), brought up over ssh (cluster_ssh.hpp)
// with the scripts of cluster_remote.hpp, and the coordinator on this machine.
//
// What `up` started here is remembered in a state file under the runtime dir (sys::runtime_dir):
// the coordinator's pid and whether `up` made the cluster token, so `down` stops and removes
// exactly that.
//
// Thread safety: CLI verbs, run on the main thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "cli/cluster_file.hpp"
#include "cli/coordinator_client.hpp"
#include "message/coordinator_to_cli.hpp"

namespace dora::cli {

struct ClusterOptions {
    std::string file = "cluster.yml";
    std::string token_file;  // "" = DORA_TOKEN or the config dir's token (made by `up` if none)
    double timeout_s = 30;   // `up`: how long to wait for the daemons to register
};

// What `up` started on this machine.
struct ClusterState {
    pid_t coordinator_pid = 0;  // 0 = a coordinator that was already running
    std::string token_created;  // the token file `up` made, "" if none
};

[[nodiscard]] std::filesystem::path cluster_state_path(const ClusterFile& file);
[[nodiscard]] std::optional<ClusterState> read_cluster_state(const ClusterFile& file);
void write_cluster_state(const ClusterFile& file, const ClusterState& state);

// The coordinator's control port on this machine, with the cluster's token.
[[nodiscard]] ClientOptions cluster_client(const ClusterFile& file, const ClusterOptions& options);
// The coordinator's daemons and dataflows, or nullopt when it does not answer.
[[nodiscard]] std::optional<message::DataflowList> cluster_list(const ClientOptions& client);
[[nodiscard]] bool registered(const message::DataflowList& list, const std::string& machine);

// Prints rows under a header, each column as wide as its widest cell.
void print_table(const std::vector<std::vector<std::string>>& rows);

void run_cluster_up(const ClusterOptions& options);

}  // namespace dora::cli
