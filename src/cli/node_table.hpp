// What `dora node list` and `dora top` show of the coordinator's NodeStatsReply
// (message/node_stats.hpp): one row per node, sorted by a key, as a text table or as one JSON
// object per node, the input rates between two snapshots, and the notes about machines that did
// not answer.
//
// JSON objects carry dora 1.x's `dora node list --format json` fields, as dora formats them
// (strings: node, status, pid, cpu, memory, restarts, and dataflow unless one was named), plus
// typed ones: machine, dataflow_id, state (the raw status), process_id, cpu_percent, rss_bytes,
// restart_count, dropped, exit_code and exit_status (once it exited), uptime_ms, inputs and
// outputs (per-queue counts).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "message/coordinator_to_cli.hpp"

namespace dora::cli {

struct NodeRow {
    std::string dataflow_id;
    std::string dataflow_name;
    message::NodeStats node;
};

[[nodiscard]] std::vector<NodeRow> rows_of(const message::NodeStatsReply& reply);

enum class SortKey { kName, kCpu, kMemory, kDrops };
// `descending` for CPU, memory and drops puts the largest first; for names it reverses the
// alphabet. Ties keep dataflow, then node order.
void sort_rows(std::vector<NodeRow>& rows, SortKey key, bool descending);
[[nodiscard]] const char* sort_key_name(SortKey key);  // "CPU%", "RSS", "NODE", "DROPPED"

// "running", "exited (code 3)", "exited: was killed by signal 9 (SIGKILL)", "restarting (code 1)"
[[nodiscard]] std::string status_text(const message::NodeStats& node);
// "812 KiB", "12.3 MiB", "1.2 GiB"
[[nodiscard]] std::string memory_text(uint64_t bytes);

// Messages per second that entered each node's input queues between two snapshots, by
// rate_key(): the growth of the sum of its inputs' `received` over the growth of its
// `sampled_ns` (both counted by its own machine). Nodes not in both snapshots, sampled at the
// same instant, or whose counts went back (queues made anew) have none.
using Rates = std::map<std::string, double>;
[[nodiscard]] Rates input_rates(const std::vector<NodeRow>& before,
                                const std::vector<NodeRow>& now);
[[nodiscard]] std::string rate_key(const NodeRow& row);  // "<dataflow id>/<node id>"

// The table with a header line (NODE MACHINE PID STATUS RESTARTS CPU% RSS DROPPED, then MSG/S
// when `rates` are given, DATAFLOW when `with_dataflow`), one line per row, each ending in '\n'.
[[nodiscard]] std::vector<std::string> table_lines(const std::vector<NodeRow>& rows,
                                                   bool with_dataflow,
                                                   const Rates* rates = nullptr);

[[nodiscard]] nlohmann::json json_of(const NodeRow& row, bool with_dataflow);

// One line per machine that did not answer ("the daemon of machine `edge` did not answer within
// the coordinator's deadline: its nodes show `no answer`"); empty when all did.
[[nodiscard]] std::vector<std::string> answer_notes(const message::NodeStatsReply& reply);

}  // namespace dora::cli
