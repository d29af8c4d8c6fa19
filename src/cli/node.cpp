// `dora node list [DATAFLOW] [-d NAME_OR_UUID] [-f table|json] [-q]`: every node of the running
// dataflows (or of the one named; a finished one is shown from its results) with its machine,
// pid, status, restarts, CPU %, resident memory and dropped inputs, gathered from the daemons
// when asked (message/node_stats.hpp). JSON: one object per node per line (cli/node_table.hpp).
// dora 1.x's other `dora node` verbs (info, add, remove, ...) are refused by name.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "cli/node_table.hpp"

namespace dora::cli {
namespace {

struct NodeListOptions {
    ClientOptions client;
    std::string dataflow;         // positional
    std::string dataflow_option;  // -d/--dataflow, dora 1.x's spelling
    std::string format = "table";
    bool quiet = false;
};

void run_node_list(const NodeListOptions& options) {
    if (options.format != "table" && options.format != "json") {
        throw Exception(
            Error::make("--format {}: use `table` (the default) or `json`", options.format));
    }
    if (!options.dataflow.empty() && !options.dataflow_option.empty() &&
        options.dataflow != options.dataflow_option) {
        throw Exception(Error::make("two dataflows named (`{}` and --dataflow `{}`): name one",
                                    options.dataflow, options.dataflow_option));
    }
    const std::string& named =
        options.dataflow.empty() ? options.dataflow_option : options.dataflow;
    auto client = connect_or_throw(options.client);
    auto reply = or_throw(client.request<message::NodeStatsReply>(message::CliNodeStats{named},
                                                                  std::chrono::seconds(10)));
    auto rows = rows_of(reply);
    for (const auto& note : answer_notes(reply)) {
        std::cerr << "note: " << note << "\n";
    }
    if (options.quiet) {
        for (const auto& row : rows) std::cout << row.node.node_id << "\n";
        return;
    }
    const bool with_dataflow = named.empty() && reply.dataflows.size() > 1;
    if (options.format == "json") {
        // As dora 1.x: `dataflow` is left out when one was named.
        for (const auto& row : rows) std::cout << json_of(row, named.empty()).dump() << "\n";
        return;
    }
    if (rows.empty()) {
        std::cout << (named.empty() ? "(no running dataflows)\n" : "(no nodes)\n");
        return;
    }
    std::string out;
    for (const auto& line : table_lines(rows, with_dataflow)) out += line;
    std::cout << out;
}

void add_list(CLI::App* node) {
    auto options = std::make_shared<NodeListOptions>();
    auto* cmd = node->add_subcommand(
        "list", "List the nodes of the running dataflows: machine, pid, status, CPU, memory");
    cmd->add_option("dataflow", options->dataflow,
                    "Only this dataflow (UUID or name; a finished one shows its final states)");
    cmd->add_option("-d,--dataflow", options->dataflow_option, "The same, as dora 1.x spells it");
    auto* format = cmd->add_option("-f,--format", options->format,
                                   "table, or json: one object per node per line")
                       ->capture_default_str();
    cmd->add_flag("-q,--quiet", options->quiet, "Only print the node ids, one per line")
        ->excludes(format);
    add_client_options(cmd, options->client);
    cmd->callback([options] { run_node_list(*options); });
}

}  // namespace

void add_node_command(CLI::App& app) {
    auto* node = app.add_subcommand("node", "Inspect the nodes of running dataflows");
    node->require_subcommand(1);
    add_list(node);
    static const char* kNotHere[] = {"info",    "add",        "remove",  "replace",
                                     "connect", "disconnect", "restart", "stop"};
    for (const char* verb : kNotHere) {
        auto* cmd = node->add_subcommand(verb, "");
        cmd->group("");
        cmd->prefix_command();
        cmd->callback([verb = std::string(verb)] {
            throw Exception(Error::make(
                "`dora node {}` is a dora command that dora-cpp does not have; `dora node list "
                "[DATAFLOW]` shows each node's state, and a dataflow changes by `dora stop` and "
                "`dora start` again",
                verb));
        });
    }
}

}  // namespace dora::cli
