// `dora logs [DATAFLOW] NODE [--follow] [--tail N] [--grep TEXT]`: a node's log, read by the
// daemon that ran it; with --follow, further lines as they come until the dataflow ends. --tail
// keeps the last N lines of what is there now, --grep the lines that contain TEXT
// (case-insensitive, as dora 1.x), followed lines too.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "message/cli_to_coordinator.hpp"

namespace dora::cli {
namespace {

struct LogsOptions {
    ClientOptions client;
    std::vector<std::string> args;  // [DATAFLOW] NODE
    bool follow = false;
    std::optional<size_t> tail;
    std::string grep;
    std::vector<std::string> refused;  // dora 1.x options given that are not here
};

// dora 1.x's `dora logs` options that dora-cpp does not have yet: refused by name.
constexpr const char* kNotHere[] = {"--all-nodes", "--since",      "--until",     "--level",
                                    "--local",     "--log-format", "--log-filter"};

std::string lowered(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// Whether `line` passes --grep.
bool wanted(const LogsOptions& options, std::string_view line) {
    return options.grep.empty() || lowered(line).find(lowered(options.grep)) != std::string::npos;
}

// The lines of `content` that pass --grep, the last --tail of them, each ending in a newline.
std::string select_lines(const LogsOptions& options, std::string_view content) {
    std::vector<std::string_view> lines;
    while (!content.empty()) {
        const size_t end = content.find('\n');
        std::string_view line = content.substr(0, end);
        content = end == std::string_view::npos ? std::string_view{} : content.substr(end + 1);
        if (wanted(options, line)) {
            lines.push_back(line);
        }
    }
    size_t first = 0;
    if (options.tail && *options.tail < lines.size()) {
        first = lines.size() - *options.tail;
    }
    std::string out;
    for (size_t i = first; i < lines.size(); ++i) {
        out.append(lines[i]);
        out.push_back('\n');
    }
    return out;
}

void write_out(std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

void run_logs(const LogsOptions& options) {
    if (!options.refused.empty()) {
        throw Exception(Error::make(
            "`dora logs {}` is a dora 1.x option that dora-cpp does not have yet; use --tail N, "
            "--grep TEXT or --follow, one node at a time",
            options.refused.front()));
    }
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
    write_out(select_lines(options, logs.content));
    if (!options.follow) {
        return;
    }
    for (;;) {
        auto m = or_throw(client.receive(std::chrono::hours(24)));
        if (!m) continue;
        if (auto* event = std::get_if<message::LogEvent>(&*m)) {
            if (wanted(options, event->log.line)) {
                write_out(event->log.line + "\n");
            }
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
    cmd->add_option("--tail", options->tail,
                    "Only the last N lines of what the log holds now (followed lines still come)");
    cmd->add_option("--grep", options->grep,
                    "Only lines that contain TEXT (case-insensitive), followed lines too");
    for (const char* name : kNotHere) {
        // Taken (with a value when one follows) only to be refused with a reason.
        cmd->add_option_function<std::vector<std::string>>(
               name, [options, name](
                         const std::vector<std::string>&) { options->refused.emplace_back(name); })
            ->expected(0, 1)
            ->group("");  // hidden from --help
    }
    add_client_options(cmd, options->client);
    cmd->callback([options] { run_logs(*options); });
}

}  // namespace dora::cli
