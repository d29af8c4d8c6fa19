// `dora stop [NAME_OR_UUID] [-n NAME] [--all] [--grace-duration D | -f]`: stops a running dataflow
// (the only one when none is named), or every one with --all, and waits for the results.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "core/uuid.hpp"
#include "message/cli_to_coordinator.hpp"

namespace dora::cli {
namespace {

struct StopOptions {
    ClientOptions client;
    std::string identifier;  // a UUID or a name
    std::string name;
    std::string grace;
    bool all = false;
    bool force = false;
};

// Stops one dataflow (by UUID, or by name when `uuid` is empty; the only one when both are) and
// reports its result; throws when it failed.
void stop_one(CoordinatorClient& client, const StopOptions& options, const std::string& uuid,
              const std::string& name) {
    message::CliStop stop;
    stop.dataflow_id = uuid;
    stop.name = name;
    auto wait = std::chrono::milliseconds(15000);
    if (options.force) {
        stop.grace_ms = 0;  // STOP, then the nodes are killed at once
        wait = std::chrono::milliseconds(0);
    } else if (!options.grace.empty()) {
        auto grace = or_throw(parse_duration(options.grace));
        stop.grace_ms = grace.count();
        wait = grace;
    }
    // Nodes get the grace duration, then are killed; the daemons then report.
    auto result =
        or_throw(client.request<message::DataflowResult>(stop, wait + std::chrono::seconds(30)));
    std::cout << "dataflow " << result.dataflow_id << " stopped" << std::endl;
    report_result(result);
}

void run_stop(const StopOptions& options) {
    auto client = connect_or_throw(options.client);
    if (!options.all) {
        if (!options.identifier.empty() && Uuid::parse(options.identifier)) {
            stop_one(client, options, options.identifier, "");
        } else {
            stop_one(client, options, "",
                     options.identifier.empty() ? options.name : options.identifier);
        }
        return;
    }
    auto list = or_throw(
        client.request<message::DataflowList>(message::CliList{}, std::chrono::seconds(10)));
    size_t stopped = 0;
    std::vector<std::string> failed;
    for (const auto& d : list.dataflows) {
        if (d.status != "running" && d.status != "preparing" && d.status != "stopping") {
            continue;
        }
        ++stopped;
        try {
            stop_one(client, options, d.id, "");
        } catch (const Exception& e) {
            std::cerr << "error: " << e.what() << "\n";
            failed.push_back(d.id);
        }
    }
    if (stopped == 0) {
        std::cout << "no running dataflows" << std::endl;
    }
    if (!failed.empty()) {
        throw Exception(Error::make("{} of {} dataflow(s) did not finish successfully",
                                    failed.size(), stopped));
    }
}

}  // namespace

void add_stop_command(CLI::App& app) {
    auto options = std::make_shared<StopOptions>();
    auto* cmd = app.add_subcommand("stop", "Stop a running dataflow (or every one with --all)");
    auto* identifier =
        cmd->add_option("identifier", options->identifier,
                        "The dataflow's name or UUID (default: the only running one)");
    auto* name = cmd->add_option("-n,--name", options->name, "The dataflow's name");
    auto* all = cmd->add_flag("--all", options->all, "Stop every running dataflow");
    auto* grace = cmd->add_option(
        "--grace-duration", options->grace,
        "How long nodes have to exit after STOP before they are killed (e.g. 5s, 500ms; default "
        "15s)");
    auto* force =
        cmd->add_flag("-f,--force", options->force, "Kill the nodes at once (no grace duration)");
    all->excludes(identifier)->excludes(name);
    identifier->excludes(name);
    force->excludes(grace);
    add_client_options(cmd, options->client);
    cmd->callback([options] { run_stop(*options); });
}

}  // namespace dora::cli
