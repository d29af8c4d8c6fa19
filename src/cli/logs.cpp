// `dora logs [DATAFLOW] NODE [--follow]`: a node's log, read by the daemon that ran it; with
// --follow, further lines as they come until the dataflow ends.
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "message/cli_to_coordinator.hpp"

namespace dora::cli {
namespace {

struct LogsOptions {
    ClientOptions client;
    std::vector<std::string> args;  // [DATAFLOW] NODE
    bool follow = false;
};

void write_out(std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

void run_logs(const LogsOptions& options) {
    message::CliLogs request;
    if (options.args.size() == 2) {
        request.dataflow = options.args[0];
        request.node_id = options.args[1];
    } else {
        request.node_id = options.args.at(0);
    }
    request.follow = options.follow;
    auto client = connect_or_throw(options.client);
    auto logs = or_throw(client.request<message::LogsReply>(request, std::chrono::seconds(30)));
    write_out(logs.content);
    if (!options.follow) {
        return;
    }
    for (;;) {
        auto m = or_throw(client.receive(std::chrono::hours(24)));
        if (!m) continue;
        if (auto* event = std::get_if<message::LogEvent>(&*m)) {
            write_out(event->log.line + "\n");
        } else if (std::holds_alternative<message::DataflowResult>(*m)) {
            return;
        } else if (auto* error = std::get_if<message::ErrorMessage>(&*m)) {
            throw Exception(Error(error->message));
        }
    }
}

}  // namespace

void add_logs_command(CLI::App& app) {
    auto options = std::make_shared<LogsOptions>();
    auto* cmd = app.add_subcommand("logs", "Show the log of a node of a dataflow");
    cmd->add_option("args", options->args,
                    "[DATAFLOW] NODE: the dataflow's UUID or name (default: the only running or "
                    "the last one) and the node id")
        ->required()
        ->expected(1, 2);
    cmd->add_flag("--follow,-f", options->follow,
                  "Keep printing new lines until the dataflow ends");
    add_client_options(cmd, options->client);
    cmd->callback([options] { run_logs(*options); });
}

}  // namespace dora::cli
