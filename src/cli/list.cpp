// `dora list [--format table|json] [-q] [--status S] [--name PATTERN]`: the coordinator's
// dataflows (running and recently finished) and daemons. JSON is one object per dataflow per
// line, as dora 1.x prints it (uuid, name, status, nodes), plus the machines of its nodes and the
// dynamic nodes still waiting to join, and the messages it dropped (`dropped`: the total;
// `drops`: by place, see message/drops.hpp); dora's per-dataflow cpu and memory fields are left
// out (each node's are in `dora node list`, node.cpp).
#include <fnmatch.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "message/cli_to_coordinator.hpp"

namespace dora::cli {
namespace {

struct ListOptions {
    ClientOptions client;
    std::string format = "table";
    bool quiet = false;
    std::string status;
    std::string name;
};

// " (unreachable)" / " (disconnected)" after a machine whose daemon is in that state.
std::string machine_state(const message::DataflowList& list, const std::string& machine) {
    for (const auto& d : list.daemons) {
        if (d.machine_id == machine) {
            return !d.connected ? " (disconnected)" : d.unreachable ? " (unreachable)" : "";
        }
    }
    return "";
}

std::string nodes_text(const message::DataflowList& list, const message::DataflowInfo& dataflow) {
    const bool active = dataflow.status != "finished" && dataflow.status != "failed";
    std::string text;
    for (const auto& [machine, nodes] : dataflow.nodes_per_machine) {
        std::string ids;
        for (const auto& n : nodes) {
            const bool waiting = std::find(dataflow.waiting.begin(), dataflow.waiting.end(), n) !=
                                 dataflow.waiting.end();
            ids += (ids.empty() ? "" : ", ") + n + (waiting ? " (waiting)" : "");
        }
        text += fmt::format("{}{}{}: {}", text.empty() ? "" : "; ",
                            machine.empty() ? "(default)" : machine,
                            active ? machine_state(list, machine) : "", ids.empty() ? "?" : ids);
    }
    return text;
}

// dora's spelling of a status in JSON ("Running", "Finished", "Failed").
std::string json_status(std::string status) {
    if (!status.empty()) {
        status[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(status[0])));
    }
    return status;
}

bool selected(const ListOptions& options, const message::DataflowInfo& d) {
    if (!options.status.empty() && d.status != options.status) {
        return false;
    }
    return options.name.empty() || fnmatch(options.name.c_str(), d.name.c_str(), 0) == 0 ||
           d.name.find(options.name) != std::string::npos;
}

void print_table(const message::DataflowList& list,
                 const std::vector<message::DataflowInfo>& flows) {
    size_t name_width = 4;
    for (const auto& d : flows) name_width = std::max(name_width, d.name.size());
    std::string out = fmt::format("{:<36}  {:<{}}  {:<9}  {:>7}  {}\n", "UUID", "NAME", name_width,
                                  "STATUS", "DROPPED", "NODES");
    for (const auto& d : flows) {
        out += fmt::format("{:<36}  {:<{}}  {:<9}  {:>7}  {}\n", d.id, d.name, name_width, d.status,
                           message::total_dropped(d.drops), nodes_text(list, d));
    }
    if (flows.empty()) {
        out += "(no dataflows)\n";
    }
    out += fmt::format("\n{:<20}  {:<12}  {:<14}  {}\n", "DAEMON", "STATE", "LAST HEARTBEAT",
                       "LABELS");
    for (const auto& d : list.daemons) {
        std::string labels;
        for (const auto& [k, v] : d.labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
        out += fmt::format(
            "{:<20}  {:<12}  {:<14}  {}\n", d.machine_id.empty() ? "(default)" : d.machine_id,
            !d.connected    ? "disconnected"
            : d.unreachable ? "unreachable"
                            : "connected",
            fmt::format("{:.1f} s ago", static_cast<double>(d.last_heartbeat_ms_ago) / 1000.0),
            labels);
    }
    if (list.daemons.empty()) {
        out += "(no daemons: start one with `dora daemon` or `dora up`)\n";
    }
    std::cout << out;
}

void run_list(const ListOptions& options) {
    if (options.format != "table" && options.format != "json") {
        throw Exception(
            Error::make("--format {}: use `table` (the default) or `json`", options.format));
    }
    static const std::vector<std::string> kStatuses = {"preparing", "running", "stopping",
                                                       "finished", "failed"};
    if (!options.status.empty() &&
        std::find(kStatuses.begin(), kStatuses.end(), options.status) == kStatuses.end()) {
        throw Exception(Error::make(
            "--status {}: use preparing, running, stopping, finished or failed", options.status));
    }
    auto client = connect_or_throw(options.client);
    auto list = or_throw(
        client.request<message::DataflowList>(message::CliList{}, std::chrono::seconds(10)));
    std::vector<message::DataflowInfo> flows;
    for (const auto& d : list.dataflows) {
        if (selected(options, d)) {
            flows.push_back(d);
        }
    }
    if (options.quiet) {
        for (const auto& d : flows) std::cout << d.id << "\n";
        return;
    }
    if (options.format == "table") {
        print_table(list, flows);
        return;
    }
    for (const auto& d : flows) {
        size_t nodes = 0;
        nlohmann::json machines = nlohmann::json::object();
        for (const auto& [machine, ids] : d.nodes_per_machine) {
            nodes += ids.size();
            machines[machine] = ids;
        }
        nlohmann::json line = {{"uuid", d.id},
                               {"name", d.name},
                               {"status", json_status(d.status)},
                               {"nodes", nodes},
                               {"machines", machines},
                               {"waiting", d.waiting},
                               {"dropped", message::total_dropped(d.drops)},
                               {"drops", d.drops}};
        std::cout << line.dump() << "\n";
    }
}

}  // namespace

void add_list_command(CLI::App& app) {
    auto options = std::make_shared<ListOptions>();
    auto* cmd = app.add_subcommand("list", "List dataflows and daemons of the running coordinator");
    auto* format = cmd->add_option("-f,--format", options->format,
                                   "table, or json: one object per dataflow per line (uuid, name, "
                                   "status, nodes, machines)")
                       ->capture_default_str();
    cmd->add_flag("-q,--quiet", options->quiet, "Only print the dataflows' UUIDs, one per line")
        ->excludes(format);
    cmd->add_option("--status", options->status,
                    "Only dataflows with this status (preparing, running, stopping, finished, "
                    "failed)");
    cmd->add_option("--name", options->name, "Only dataflows whose name matches (glob or part)");
    add_client_options(cmd, options->client);
    cmd->callback([options] { run_list(*options); });
}

}  // namespace dora::cli
