// `dora stop [UUID] [--name NAME] [--grace-duration D]`: stops a running dataflow (the only one
// when neither is given) and waits for its result.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "message/cli_to_coordinator.hpp"

namespace dora::cli {
namespace {

struct StopOptions {
    ClientOptions client;
    std::string uuid;
    std::string name;
    std::string grace;
};

void run_stop(const StopOptions& options) {
    message::CliStop stop;
    stop.dataflow_id = options.uuid;
    stop.name = options.name;
    auto wait = std::chrono::milliseconds(15000);
    if (!options.grace.empty()) {
        auto grace = or_throw(parse_duration(options.grace));
        stop.grace_ms = grace.count();
        wait = grace;
    }
    auto client = connect_or_throw(options.client);
    // Nodes get the grace duration, then are killed; the daemons then report.
    auto result =
        or_throw(client.request<message::DataflowResult>(stop, wait + std::chrono::seconds(30)));
    std::cout << "dataflow " << result.dataflow_id << " stopped" << std::endl;
    report_result(result);
}

}  // namespace

void add_stop_command(CLI::App& app) {
    auto options = std::make_shared<StopOptions>();
    auto* cmd = app.add_subcommand("stop", "Stop a running dataflow");
    cmd->add_option("uuid", options->uuid, "The dataflow's UUID (default: the only running one)");
    cmd->add_option("--name", options->name, "The dataflow's name");
    cmd->add_option("--grace-duration", options->grace,
                    "How long nodes have to exit after STOP before they are killed (e.g. 5s, "
                    "500ms; default 15s)");
    add_client_options(cmd, options->client);
    cmd->callback([options] { run_stop(*options); });
}

}  // namespace dora::cli
