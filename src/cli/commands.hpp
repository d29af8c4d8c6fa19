// The `dora` command line: one function per verb that adds its subcommand to the CLI11 app.
//
// Each verb lives in its own file (check.cpp, graph.cpp, ...) and registers itself with
// `add_<verb>_command`; main.cpp only dispatches. A verb reports failure by throwing
// dora::Exception with a message that says what went wrong and what to do; main prints it to
// stderr and exits with status 1. Normal output goes to stdout.
//
// Thread safety: called once from main's thread during start-up.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace dora::cli {

void add_check_command(CLI::App& app);
void add_graph_command(CLI::App& app);
void add_new_command(CLI::App& app);
void add_version_command(CLI::App& app);
// Defined in run.cpp (added later): `dora run DATAFLOW`.
void add_run_command(CLI::App& app);
// daemon.cpp: `dora daemon`.
void add_daemon_command(CLI::App& app);
// The coordinator and the verbs that talk to it (coordinator_client.hpp).
void add_coordinator_command(CLI::App& app);
void add_up_command(CLI::App& app);
void add_destroy_command(CLI::App& app);
void add_start_command(CLI::App& app);
void add_stop_command(CLI::App& app);
void add_list_command(CLI::App& app);
void add_logs_command(CLI::App& app);
void add_build_command(CLI::App& app);
// node.cpp: `dora node list`; top.cpp: `dora top` and `dora inspect top`.
void add_node_command(CLI::App& app);
void add_top_command(CLI::App& app);
// cert.cpp: `dora cert issue|ca` (certificates of the coordinator's cluster CA).
void add_cert_command(CLI::App& app);

// topic.cpp: `dora topic list|echo|hz|info` (through cli/watch.hpp).
void add_topic_command(CLI::App& app);
// record.cpp: `dora record` (through cli/watch.hpp, into mcap/recording.hpp's layout).
void add_record_command(CLI::App& app);

// replay.cpp: `dora replay FILE --dataflow FLOW`; replay_node.cpp: the hidden node it spawns.
void add_replay_command(CLI::App& app);
void add_replay_node_command(CLI::App& app);
// router.cpp: `dora router`.
void add_router_command(CLI::App& app);
// zenoh_tools.cpp: `dora zenoh sub|pub|ping|pong|scout`.
void add_zenoh_command(CLI::App& app);
// cluster.cpp: `dora cluster up|status|down FILE` (daemons on other machines over ssh).
void add_cluster_command(CLI::App& app);
// dora's verbs that dora-cpp lacks, each refused with what to use instead (hidden from --help).
void add_not_here_commands(CLI::App& app);

// "dora-cpp <version>", the project version from CMake.
[[nodiscard]] std::string version_text();

}  // namespace dora::cli
