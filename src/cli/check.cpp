// `dora check [--dataflow FILE | FILE]`: parse and validate a dataflow without running it; when
// a coordinator answers, also check that every machine the dataflow names has a daemon. Without
// a dataflow: check the coordinator and its daemons.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "core/descriptor.hpp"
#include "message/cli_to_coordinator.hpp"

namespace dora::cli {
namespace {

struct CheckOptions {
    std::string dataflow_flag;
    std::string dataflow_positional;
    ClientOptions client;
};

size_t count_lines(const std::string& text) {
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

// `dora check` without a dataflow: is the coordinator there, and which daemons are connected.
void check_cluster(const CheckOptions& options) {
    auto connected = CoordinatorClient::connect(options.client);
    if (!connected) {
        throw Exception(Error::make(
            "{}\n(to check a dataflow file without a coordinator: `dora check --dataflow "
            "<file.yml>`)",
            connected.error().message()));
    }
    auto& client = *connected;
    std::cout << "coordinator at " << client.where() << ": ok" << std::endl;
    auto reply =
        or_throw(client.request<message::Done>(message::CliCheck{}, std::chrono::seconds(10)));
    std::cout << reply.message << std::endl;
}

// With a reachable coordinator, every machine of the dataflow must have a daemon.
void check_machines(const CheckOptions& options, const std::string& file) {
    ClientOptions quick = options.client;
    quick.connect_timeout = std::chrono::milliseconds(1000);
    auto client = CoordinatorClient::connect(quick);
    if (!client) {
        return;  // no coordinator: the machines are checked when the dataflow starts
    }
    message::CliCheck check{read_dataflow_file(file), std::filesystem::absolute(file).string()};
    auto reply = client->request<message::Done>(check, std::chrono::seconds(10));
    if (!reply) {
        throw Exception(reply.error().context(fmt::format("dataflow {}", file)));
    }
    std::cout << file << ": " << reply->message << "\n";
}

void run_check(const CheckOptions& options) {
    if (!options.dataflow_flag.empty() && !options.dataflow_positional.empty() &&
        options.dataflow_flag != options.dataflow_positional) {
        throw Exception(
            Error("two different dataflows given (--dataflow and a positional "
                  "file); give one"));
    }
    std::string file =
        options.dataflow_flag.empty() ? options.dataflow_positional : options.dataflow_flag;
    if (file.empty()) {
        check_cluster(options);
        return;
    }
    auto descriptor = read_descriptor(file);
    if (descriptor) {
        auto valid = validate(*descriptor);
        if (valid) {
            std::cout << file << ": dataflow is valid (" << descriptor->nodes.size()
                      << (descriptor->nodes.size() == 1 ? " node" : " nodes") << ")\n";
            check_machines(options, file);
            return;
        }
        descriptor = tl::unexpected(valid.error());
    }
    const std::string& problems = descriptor.error().message();
    size_t count = count_lines(problems);
    throw Exception(Error::make("dataflow {} is not valid ({} problem{}):\n{}", file, count,
                                count == 1 ? "" : "s", problems));
}

}  // namespace

void add_check_command(CLI::App& app) {
    auto options = std::make_shared<CheckOptions>();
    auto* command = app.add_subcommand(
        "check", "Check that a dataflow file is valid: schema, node ids, inputs and paths");
    command->add_option("--dataflow", options->dataflow_flag, "Path to the dataflow file")
        ->option_text("PATH");
    command->add_option("dataflow", options->dataflow_positional,
                        "Path to the dataflow file (same as --dataflow)");
    add_client_options(command, options->client);
    command->callback([options] { run_check(*options); });
}

}  // namespace dora::cli
