// `dora logs [DATAFLOW] NODE [--follow] [--tail N] [--grep TEXT] [--since D]` and
// `dora logs [DATAFLOW] --all-nodes [...]`: a node's log, read by the daemon that ran it (or every
// node's, interleaved by the time each line was written and prefixed with the node); with
// --follow, further lines as they come until the dataflow ends, in the same format. --tail keeps
// the last N lines of what is there now, --grep the lines that contain TEXT (case-insensitive, as
// dora 1.x), followed lines too, --since the lines written in the last D ("30s", "5m", "1h").
// Line times come from the daemons (log_<node>.times beside each log; daemon/log_file.hpp).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "message/cli_to_coordinator.hpp"

namespace dora::cli {
namespace {

struct LogsOptions {
    ClientOptions client;
    std::vector<std::string> args;  // [DATAFLOW] NODE, or [DATAFLOW] with --all-nodes
    bool follow = false;
    std::optional<size_t> tail;
    std::string grep;
    bool all_nodes = false;
    std::string since;
    std::vector<std::string> refused;  // dora 1.x options given that are not here
};

// dora 1.x's `dora logs` options that dora-cpp does not have yet: refused by name.
constexpr const char* kNotHere[] = {"--until", "--level", "--local", "--log-format",
                                    "--log-filter"};

// One line of a log with where and when it was written.
struct TimedLine {
    uint64_t time_ns = 0;  // 0: unknown
    std::string node;
    std::string line;
};

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

void write_out(std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

uint64_t now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

// The lines of a LogsReply with their times.
std::vector<TimedLine> timed_lines(const message::LogsReply& logs, const std::string& node) {
    std::vector<TimedLine> out;
    std::string_view content = logs.content;
    size_t i = 0;
    while (!content.empty()) {
        const size_t end = content.find('\n');
        out.push_back(
            {i < logs.times.size() ? logs.times[i] : 0, node, std::string(content.substr(0, end))});
        content = end == std::string_view::npos ? std::string_view{} : content.substr(end + 1);
        ++i;
    }
    return out;
}

// The dataflow `wanted` names (uuid, name, "" = the only running or the last one) and its nodes,
// as the coordinator resolves `dora logs`.
std::pair<std::string, std::vector<std::string>> dataflow_nodes(CoordinatorClient& client,
                                                                const std::string& wanted) {
    auto list = or_throw(
        client.request<message::DataflowList>(message::CliList{}, std::chrono::seconds(10)));
    const message::DataflowInfo* newest_ended = nullptr;
    std::vector<const message::DataflowInfo*> running;
    for (auto it = list.dataflows.rbegin(); it != list.dataflows.rend(); ++it) {
        if (!wanted.empty() && it->id != wanted && it->name != wanted) continue;
        if (it->status == "finished" || it->status == "failed") {
            if (newest_ended == nullptr) newest_ended = &*it;
        } else {
            running.push_back(&*it);
        }
    }
    if (running.size() > 1) {
        throw Exception(
            Error::make("{} dataflows are running; say which one: `dora logs <UUID or "
                        "NAME> --all-nodes`",
                        running.size()));
    }
    const message::DataflowInfo* d = running.empty() ? newest_ended : running.front();
    if (d == nullptr) {
        throw Exception(Error::make(
            "{}", wanted.empty()
                      ? "no dataflow has run on this coordinator yet"
                      : "no dataflow with id or name `" + wanted + "` (see `dora list`)"));
    }
    std::vector<std::string> nodes;
    for (const auto& [machine, ids] : d->nodes_per_machine) {
        nodes.insert(nodes.end(), ids.begin(), ids.end());
    }
    return {d->id, nodes};
}

void print_lines(const LogsOptions& options, std::vector<TimedLine> lines) {
    if (!options.since.empty()) {
        const auto span = or_throw(parse_duration(options.since));
        const uint64_t cut =
            now_ns() - static_cast<uint64_t>(std::chrono::nanoseconds(span).count());
        std::erase_if(lines, [&](const TimedLine& l) { return l.time_ns < cut; });
    }
    std::erase_if(lines, [&](const TimedLine& l) { return !wanted(options, l.line); });
    size_t first = 0;
    if (options.tail && *options.tail < lines.size()) {
        first = lines.size() - *options.tail;
    }
    std::string out;
    for (size_t i = first; i < lines.size(); ++i) {
        if (options.all_nodes) out += lines[i].node + ": ";
        out += lines[i].line;
        out += '\n';
    }
    write_out(out);
}

void run_logs(const LogsOptions& options) {
    if (!options.refused.empty()) {
        throw Exception(Error::make(
            "`dora logs {}` is a dora 1.x option that dora-cpp does not have yet; use --tail N, "
            "--grep TEXT, --since D, --all-nodes or --follow",
            options.refused.front()));
    }
    auto client = connect_or_throw(options.client);
    std::string dataflow;
    std::vector<std::string> nodes;
    if (options.all_nodes) {
        if (options.args.size() > 1) {
            throw Exception(
                Error::make("`dora logs --all-nodes` takes a dataflow only, not the "
                            "node `{}`",
                            options.args[1]));
        }
        std::tie(dataflow, nodes) =
            dataflow_nodes(client, options.args.empty() ? "" : options.args[0]);
    } else if (options.args.size() == 2) {
        dataflow = options.args[0];
        nodes = {options.args[1]};
    } else if (options.args.size() == 1) {
        nodes = {options.args[0]};
    } else {
        throw Exception(
            Error::make("say which node: `dora logs [DATAFLOW] NODE`, or every node "
                        "with --all-nodes"));
    }
    const bool timed = options.all_nodes || !options.since.empty();
    std::vector<TimedLine> lines;
    for (const auto& node : nodes) {
        message::CliLogs request{dataflow, node, options.follow, timed};
        auto logs = or_throw(client.request<message::LogsReply>(request, std::chrono::seconds(30)));
        auto more = timed_lines(logs, node);
        if (timed && !more.empty() && logs.times.empty()) {
            std::cerr << "note: the log of " << node << " has no line times (written by an older "
                      << "dora-cpp): its lines come first and --since keeps none of them\n";
        }
        lines.insert(lines.end(), std::make_move_iterator(more.begin()),
                     std::make_move_iterator(more.end()));
    }
    // Interleaved by the time each line was written; one node's lines keep their order.
    std::stable_sort(lines.begin(), lines.end(),
                     [](const TimedLine& a, const TimedLine& b) { return a.time_ns < b.time_ns; });
    print_lines(options, std::move(lines));
    if (!options.follow) {
        return;
    }
    size_t results = 0;  // one DataflowResult per followed node
    for (;;) {
        auto m = or_throw(client.receive(std::chrono::hours(24)));
        if (!m) continue;
        if (auto* event = std::get_if<message::LogEvent>(&*m)) {
            if (wanted(options, event->log.line)) {
                write_out((options.all_nodes ? event->log.node_id + ": " : std::string()) +
                          event->log.line + "\n");
            }
        } else if (std::holds_alternative<message::DataflowResult>(*m)) {
            if (++results >= nodes.size()) return;
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
                    "the last one) and the node id; [DATAFLOW] with --all-nodes")
        ->expected(0, 2);
    cmd->add_flag("--all-nodes", options->all_nodes,
                  "Every node's log, interleaved by the time each line was written, each line "
                  "prefixed with its node");
    cmd->add_option("--since", options->since,
                    "Only lines written in the last D (\"30s\", \"5m\", \"1h\"; a bare number "
                    "is seconds)");
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
