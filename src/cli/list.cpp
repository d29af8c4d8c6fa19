// `dora list`: the coordinator's dataflows (running and recently finished) and daemons.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "message/cli_to_coordinator.hpp"

namespace dora::cli {
namespace {

std::string nodes_text(const message::DataflowInfo& dataflow) {
    std::string text;
    for (const auto& [machine, nodes] : dataflow.nodes_per_machine) {
        std::string ids;
        for (const auto& n : nodes) ids += (ids.empty() ? "" : ", ") + n;
        text += fmt::format("{}{}: {}", text.empty() ? "" : "; ",
                            machine.empty() ? "(default)" : machine, ids.empty() ? "?" : ids);
    }
    return text;
}

void run_list(const ClientOptions& options) {
    auto client = connect_or_throw(options);
    auto list = or_throw(
        client.request<message::DataflowList>(message::CliList{}, std::chrono::seconds(10)));
    size_t name_width = 4;
    for (const auto& d : list.dataflows) name_width = std::max(name_width, d.name.size());
    std::string out =
        fmt::format("{:<36}  {:<{}}  {:<9}  {}\n", "UUID", "NAME", name_width, "STATUS", "NODES");
    for (const auto& d : list.dataflows) {
        out += fmt::format("{:<36}  {:<{}}  {:<9}  {}\n", d.id, d.name, name_width, d.status,
                           nodes_text(d));
    }
    if (list.dataflows.empty()) {
        out += "(no dataflows)\n";
    }
    out += fmt::format("\n{:<20}  {:<12}  {}\n", "DAEMON", "STATE", "LAST HEARTBEAT");
    for (const auto& d : list.daemons) {
        out += fmt::format("{:<20}  {:<12}  {:.1f} s ago\n",
                           d.machine_id.empty() ? "(default)" : d.machine_id,
                           d.connected ? "connected" : "disconnected",
                           static_cast<double>(d.last_heartbeat_ms_ago) / 1000.0);
    }
    if (list.daemons.empty()) {
        out += "(no daemons: start one with `dora daemon` or `dora up`)\n";
    }
    std::cout << out;
}

}  // namespace

void add_list_command(CLI::App& app) {
    auto options = std::make_shared<ClientOptions>();
    auto* cmd = app.add_subcommand("list", "List dataflows and daemons of the running coordinator");
    add_client_options(cmd, *options);
    cmd->callback([options] { run_list(*options); });
}

}  // namespace dora::cli
