// `dora replay FILE.mcap --dataflow flow.yml [--rate X] [NODE/OUTPUT...]`: runs the dataflow on
// this machine (as `dora run` does) with every node whose outputs are replayed replaced by a
// replay node, which sends the recorded messages (mcap/recording.hpp) on the same output ids with
// the same Arrow type info, parameters and data, at the recorded pace (intervals of log_time)
// divided by --rate.
//
// Why locally: a recording holds everything the replaced nodes sent, so nothing of the cluster is
// needed, and a replay must not disturb dataflows that run there; `dora run`'s process tree also
// ends with the replay (no coordinator state to clean up). The rewritten dataflow lives only in
// memory: the other nodes run from the original file's directory, so their relative paths work,
// and there is no file to remove afterwards.
//
// The replay node is the hidden verb `dora replay-node` (replay_node.cpp), spawned as the
// replaced node's process; each replay node reads the recording itself and keeps its own node's
// messages, timed from the recording's first message, so the nodes keep their relative timing.
//
// A recording that ends early (a recorder that died, a copy cut short) or has a corrupt record is
// replayed up to its last complete message before the fault; replay says so, and where, before
// and after the run. One with no complete message is refused.
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/run_local.hpp"
#include "core/descriptor.hpp"
#include "core/error.hpp"
#include "mcap/recording.hpp"

namespace dora::cli {
namespace {

struct ReplayOptions {
    std::string recording;
    std::string dataflow;
    double rate = 1.0;
    std::vector<std::string> outputs;  // NODE/OUTPUT; empty: every recorded output
    LocalRunOptions run;
};

using OutputKey = std::pair<std::string, std::string>;  // node, output

std::string spell(const OutputKey& key) { return key.first + "/" + key.second; }

// What a recording holds, read once before the run.
struct RecordingScan {
    std::map<OutputKey, uint64_t> counts;  // messages per recorded output
    uint64_t messages = 0;
    uint64_t first_log_time = 0;
    std::optional<Error> stopped;  // the fault after the last complete message
};

RecordingScan scan_recording(const std::string& path) {
    auto reader = mcap::RecordingReader::open(path);
    if (!reader) {
        throw Exception(reader.error().context("cannot replay"));
    }
    RecordingScan scan;
    for (;;) {
        auto m = (*reader)->next();
        if (!m) {
            scan.stopped = m.error();
            break;
        }
        if (!*m) {
            break;
        }
        if (scan.messages == 0 || (*m)->log_time_ns < scan.first_log_time) {
            scan.first_log_time = (*m)->log_time_ns;
        }
        ++scan.messages;
        ++scan.counts[{(*m)->node, (*m)->output}];
    }
    if (scan.messages == 0) {
        if (scan.stopped) {
            throw Exception(scan.stopped->context("nothing to replay"));
        }
        throw Exception(Error::make("the recording {} holds no messages: nothing to replay", path));
    }
    return scan;
}

std::string list(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        out += (out.empty() ? "" : ", ") + item;
    }
    return out.empty() ? "none" : out;
}

// The outputs to replay: the ones named on the command line (each must be in the recording), or
// every recorded one.
std::set<OutputKey> select_outputs(const ReplayOptions& options, const RecordingScan& scan) {
    std::set<OutputKey> selected;
    std::vector<std::string> recorded;
    for (const auto& [key, count] : scan.counts) {
        recorded.push_back(spell(key));
    }
    if (options.outputs.empty()) {
        for (const auto& [key, count] : scan.counts) {
            selected.insert(key);
        }
        return selected;
    }
    for (const auto& spelled : options.outputs) {
        const auto slash = spelled.find('/');
        OutputKey key{spelled.substr(0, slash),
                      slash == std::string::npos ? "" : spelled.substr(slash + 1)};
        if (slash == std::string::npos || !scan.counts.contains(key)) {
            throw Exception(Error::make("{} is not an output in the recording {}; it holds: {}",
                                        spelled, options.recording, list(recorded)));
        }
        selected.insert(key);
    }
    return selected;
}

// Every selected output must be declared by a node of the dataflow.
void check_declared(const Descriptor& descriptor, const std::set<OutputKey>& selected,
                    const ReplayOptions& options) {
    std::vector<std::string> missing;
    for (const auto& key : selected) {
        const NodeDescriptor* node = descriptor.find_node(key.first);
        if (node == nullptr || std::find(node->outputs.begin(), node->outputs.end(), key.second) ==
                                   node->outputs.end()) {
            missing.push_back(spell(key));
        }
    }
    if (missing.empty()) {
        return;
    }
    std::vector<std::string> declared;
    for (const auto& node : descriptor.nodes) {
        for (const auto& output : node.outputs) {
            declared.push_back(node.id + "/" + output);
        }
    }
    throw Exception(Error::make(
        "the recording {} has output(s) {} that no node of {} declares; the dataflow's outputs "
        "are: {}. Give the dataflow the recording was made with, or name the outputs to replay "
        "(dora replay FILE --dataflow FLOW NODE/OUTPUT...)",
        options.recording, list(missing), options.dataflow, list(declared)));
}

std::string quote(const std::string& word) {
    std::string out = "'";
    for (char c : word) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

// Turns `node` into a replay node that sends `outputs` from the recording.
void make_replay_node(NodeDescriptor& node, const std::vector<std::string>& outputs,
                      const ReplayOptions& options, const RecordingScan& scan) {
    if (!node.inputs.empty()) {
        std::vector<std::string> inputs;
        for (const auto& input : node.inputs) {
            inputs.push_back(input.id);
        }
        std::cerr << "replay: node " << node.id << " is replayed from the recording: its inputs ("
                  << list(inputs) << ") are not connected\n";
    }
    std::vector<std::string> silent;
    for (const auto& output : node.outputs) {
        if (std::find(outputs.begin(), outputs.end(), output) == outputs.end()) {
            silent.push_back(output);
        }
    }
    if (!silent.empty()) {
        std::cerr << "replay: node " << node.id << "'s output(s) " << list(silent)
                  << " are not replayed: they send nothing\n";
    }
    std::string args = fmt::format("replay-node --recording {} --rate {} --start-ns {}",
                                   quote(std::filesystem::absolute(options.recording).string()),
                                   options.rate, scan.first_log_time);
    for (const auto& output : outputs) {
        args += " --output " + quote(output);
    }
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
        throw Exception(
            Error::make("cannot find the dora executable (/proc/self/exe): {}", ec.message()));
    }
    node.path = self.string();
    node.kind = NodeKind::kExecutable;
    node.args = std::move(args);
    node.inputs.clear();
    node.operators.clear();
    node.build.reset();
    node.git.reset();
    node.checkout_dir.clear();
    node.send_stdout_as.reset();
    node.send_logs_as.reset();
    node.restart_policy = RestartPolicy::kNever;
}

void replay(const ReplayOptions& options) {
    if (options.rate < 0) {
        throw Exception(Error::make("--rate {}: give a speed factor >= 0 (0: as fast as possible)",
                                    options.rate));
    }
    const RecordingScan scan = scan_recording(options.recording);
    const auto selected = select_outputs(options, scan);
    auto descriptor = read_descriptor(options.dataflow);
    if (!descriptor) {
        throw Exception(descriptor.error());
    }
    check_declared(*descriptor, selected, options);
    std::map<std::string, std::vector<std::string>> by_node;
    uint64_t messages = 0;
    for (const auto& key : selected) {
        by_node[key.first].push_back(key.second);
        messages += scan.counts.at(key);
    }
    for (auto& [id, outputs] : by_node) {
        for (auto& node : descriptor->nodes) {
            if (node.id == id) {
                make_replay_node(node, outputs, options, scan);
            }
        }
    }
    if (auto ok = validate(*descriptor); !ok) {
        throw Exception(ok.error());
    }
    if (scan.stopped) {
        std::cerr << "replay: warning: the recording cannot be read past message " << scan.messages
                  << "; the " << scan.messages
                  << " complete message(s) before that are replayed: " << scan.stopped->message()
                  << "\n";
    }
    std::vector<std::string> names;
    for (const auto& key : selected) {
        names.push_back(spell(key));
    }
    std::cerr << "replay: " << messages << " message(s) of " << list(names) << " from "
              << options.recording
              << (options.rate == 0 ? std::string(" as fast as possible")
                                    : fmt::format(" at {}x the recorded pace", options.rate))
              << "\n";
    run_local(std::move(*descriptor), options.run);
    if (scan.stopped) {
        std::cerr << "replay: stopped where the recording cannot be read further: "
                  << scan.stopped->message() << "\n";
    }
}

}  // namespace

void add_replay_command(CLI::App& app) {
    auto options = std::make_shared<ReplayOptions>();
    auto* cmd = app.add_subcommand(
        "replay",
        "Run a dataflow on this machine (as `dora run` does: no coordinator needed, nothing of a "
        "cluster disturbed) with the nodes whose outputs are in a recording (dora record's MCAP "
        "file) replaced by replay nodes, which send the recorded messages (same output ids, Arrow "
        "types, parameters and data) at the recorded pace. A replaced node's inputs are left "
        "unconnected. A recording that ends early is replayed up to its last complete message.");
    cmd->add_option("recording", options->recording, "The recording (MCAP file)")->required();
    cmd->add_option("--dataflow,-d", options->dataflow, "The dataflow file (YAML) to run")
        ->required();
    cmd->add_option("--rate", options->rate,
                    "Speed factor: 2 replays twice as fast, 0.5 at half speed, 0 as fast as "
                    "possible (consumers' queues may then drop, which is counted)")
        ->capture_default_str();
    cmd->add_option("outputs", options->outputs,
                    "NODE/OUTPUT to replay (default: every output in the recording)");
    add_local_run_options(*cmd, options->run);
    cmd->callback([options] { replay(*options); });
}

}  // namespace dora::cli
