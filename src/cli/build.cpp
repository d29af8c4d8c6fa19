// `dora build DATAFLOW`: runs the nodes' `build` commands on the machines they are deployed to
// (through the daemons there) and prints their output.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "message/cli_to_coordinator.hpp"

namespace dora::cli {
namespace {

struct BuildOptions {
    ClientOptions client;
    std::string dataflow;
};

void run_build(const BuildOptions& options) {
    auto path = std::filesystem::absolute(options.dataflow).lexically_normal();
    std::ifstream in(path);
    if (!in) {
        throw Exception(Error::make("cannot read the dataflow file {}", path.string()));
    }
    std::stringstream text;
    text << in.rdbuf();
    message::CliBuild build{text.str(), path.string(), sys::machine_identity()};
    auto client = connect_or_throw(options.client);
    or_throw(client.send(build));
    for (;;) {
        auto m = or_throw(client.receive(std::chrono::hours(24)));
        if (!m) continue;
        if (auto* line = std::get_if<message::BuildOutput>(&*m)) {
            std::string out = format_log_line(line->node_id, line->machine_id, "build", line->line);
            std::fwrite(out.data(), 1, out.size(), stdout);
            std::fflush(stdout);
        } else if (auto* result = std::get_if<message::BuildResult>(&*m)) {
            if (!result->success) {
                throw Exception(Error(result->message));
            }
            std::cout << result->message << std::endl;
            return;
        } else if (auto* error = std::get_if<message::ErrorMessage>(&*m)) {
            throw Exception(Error(error->message));
        }
    }
}

}  // namespace

void add_build_command(CLI::App& app) {
    auto options = std::make_shared<BuildOptions>();
    auto* cmd = app.add_subcommand(
        "build", "Run the nodes' build commands on the machines they are deployed to");
    cmd->add_option("dataflow", options->dataflow, "The dataflow file (YAML)")->required();
    add_client_options(cmd, options->client);
    cmd->callback([options] { run_build(*options); });
}

}  // namespace dora::cli
