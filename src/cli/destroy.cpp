// `dora destroy` (dora 1.x: `dora down`): stops every dataflow and daemon, then the coordinator.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "message/cli_to_coordinator.hpp"

namespace dora::cli {
namespace {

void run_destroy(const ClientOptions& options) {
    auto client = connect_or_throw(options);
    auto reply =
        or_throw(client.request<message::Done>(message::CliDestroy{}, std::chrono::seconds(60)));
    std::cout << reply.message << std::endl;
}

}  // namespace

void add_destroy_command(CLI::App& app) {
    auto options = std::make_shared<ClientOptions>();
    auto* cmd = app.add_subcommand(
        "destroy", "Stop every dataflow, every daemon and the coordinator (alias: down)");
    cmd->alias("down");
    add_client_options(cmd, *options);
    cmd->callback([options] { run_destroy(*options); });
}

}  // namespace dora::cli
