// `dora build DATAFLOW [--local]`: fetches the nodes' git sources and URL files and runs their
// `build` commands (daemon/node_source.hpp), printing their output. As in dora 0.3.12, a dataflow
// that deploys nothing to other machines (no `machine:`, no `labels:`), or `--local`, is built
// right here without a coordinator; otherwise each node is built on the machine it is deployed to
// (a node placed by labels: on every daemon with them), through the daemons there. The dataflow
// directory's files travel with the build as with `dora start` (cli/ship.hpp): a machine other
// than this one builds in its copy of them, and a later start there runs with what it built.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "cli/ship.hpp"
#include "core/descriptor.hpp"
#include "core/event_loop.hpp"
#include "core/uuid.hpp"
#include "daemon/build_runner.hpp"
#include "daemon/node_command.hpp"
#include "daemon/node_source.hpp"
#include "daemon/spawner.hpp"
#include "message/cli_to_coordinator.hpp"

namespace dora::cli {
namespace {

struct BuildOptions {
    ClientOptions client;
    std::string dataflow;
    bool local = false;
    ShipOptions ship;
};

// Every node's build here, one after the other, output streamed as it comes.
void build_locally(const Descriptor& descriptor) {
    auto steps = daemon::plan_build(
        descriptor, [](const NodeDescriptor&) { return true; },
        daemon::source_places(descriptor.base_dir));
    if (steps.empty()) {
        std::cout << "no node has a build command, a git source or a download to fetch"
                  << std::endl;
        return;
    }
    auto loop = or_throw(EventLoop::create());
    daemon::BuildRunner runner(*loop, daemon::current_environment());
    std::optional<std::pair<bool, std::string>> outcome;
    runner.run(
        std::move(steps),
        [](const std::string& node, std::string_view line) {
            print_log_line(node, "", "build", line);
        },
        [&](bool success, const std::string& message) {
            outcome.emplace(success, message);
            loop->stop();
        });
    loop->on_signal(SIGINT, [&] {
        runner.cancel_all();  // its done handler reports the cancelled step and stops the loop
    });
    if (!outcome) {
        loop->run();
    }
    if (!outcome || !outcome->first) {
        throw Exception(Error::make("build failed:\n  {}",
                                    outcome ? outcome->second : std::string("interrupted")));
    }
    std::cout << "build finished" << std::endl;
}

void run_build(const BuildOptions& options) {
    auto path = std::filesystem::absolute(options.dataflow).lexically_normal();
    std::ifstream in(path);
    if (!in) {
        throw Exception(Error::make("cannot read the dataflow file {}", path.string()));
    }
    std::stringstream text;
    text << in.rdbuf();
    auto descriptor = or_throw(parse_descriptor(text.str(), path));
    const bool deploys =
        std::any_of(descriptor.nodes.begin(), descriptor.nodes.end(), [&](const NodeDescriptor& n) {
            const Deploy deploy = descriptor.effective_deploy(n);
            return deploy.machine.has_value() || !deploy.labels.empty();
        });
    if (options.local || !deploys) {
        build_locally(descriptor);
        return;
    }
    // The directory's files travel as with `dora start`: a machine other than this one builds
    // in its copy of them.
    auto manifest = or_throw(dataflow_manifest(path, options.ship));
    message::CliBuild build{text.str(), path.string(), sys::machine_identity(), nullptr, ""};
    if (manifest) {
        build.files = deploy::to_json(*manifest);
        build.transfer = Uuid::new_v7().to_string();
    }
    auto client = connect_or_throw(options.client);
    or_throw(client.send(build));
    // True once the build's (successful) result came; a failed one throws.
    auto handle = [](const message::CoordinatorToCli& m) {
        if (const auto* line = std::get_if<message::BuildOutput>(&m)) {
            print_log_line(line->node_id, line->machine_id, "build", line->line);
        } else if (const auto* result = std::get_if<message::BuildResult>(&m)) {
            if (!result->success) {
                throw Exception(Error(result->message));
            }
            std::cout << result->message << std::endl;
            return true;
        } else if (const auto* error = std::get_if<message::ErrorMessage>(&m)) {
            throw Exception(Error(error->message));
        }
        return false;
    };
    if (manifest) {
        // The result may come instead of SendFiles (no node to build: nothing is sent).
        struct Ended {};
        try {
            ship_dataflow_files(client, build.transfer, path.parent_path(), *manifest,
                                [&](const message::CoordinatorToCli& m) {
                                    if (handle(m)) throw Ended{};
                                });
        } catch (const Ended&) {
            return;
        }
    }
    for (;;) {
        auto m = or_throw(client.receive(std::chrono::hours(24)));
        if (m && handle(*m)) {
            return;
        }
    }
}

}  // namespace

void add_build_command(CLI::App& app) {
    auto options = std::make_shared<BuildOptions>();
    auto* cmd = app.add_subcommand(
        "build",
        "Run the nodes' build commands: here when nothing is deployed to a machine or by labels "
        "(or --local), else on the machines they are deployed to");
    cmd->add_option("dataflow", options->dataflow, "The dataflow file (YAML)")->required();
    cmd->add_flag("--local", options->local,
                  "Build every node here, without a coordinator, whatever its `machine:`");
    add_client_options(cmd, options->client);
    add_ship_options(cmd, options->ship);
    cmd->callback([options] { run_build(*options); });
}

}  // namespace dora::cli
